"""unregister() succeeds only on the registrar's 2xx; anything else is an
UnregisterError saying what happened, and is_registered() what is known."""

from __future__ import annotations

import asyncio

import pytest

import webvoice
from tests.driver.conftest import drop_connection, make_instance, run, serving, transport_of


def unregistering(status):
    """A registrar that grants the binding and answers an unregister with ``status``."""
    return lambda request: 200 if request.header("Expires") != 0 else status


def test_a_confirmed_unregister_returns():
    async def main():
        sip = make_instance()
        server, task = await serving(sip)
        await sip.register()
        heard = []
        sip.on_connection_event({"unregistered": heard.append})
        await sip.unregister()
        assert not sip.is_registered() and len(heard) == 1
        assert sip.is_connected()  # the socket stays open
        task.cancel()

    run(main())


def test_a_refused_unregister_raises_and_the_binding_stands_until_it_expires():
    async def main():
        sip = make_instance()
        server, task = await serving(sip, register=unregistering(500), expires=1)
        await sip.register()
        with pytest.raises(webvoice.UnregisterError) as info:
            await sip.unregister()
        assert info.value.status_code == 500 and info.value.still_registered
        assert sip.is_registered()  # the registrar did not remove it
        refreshes = len(server.requests("REGISTER"))
        lost = asyncio.Event()
        sip.on_connection_event({"unregistered": lambda e: lost.set()})
        await lost.wait()  # ... until its expiry, with no refresh in between
        assert not sip.is_registered() and len(server.requests("REGISTER")) == refreshes
        task.cancel()

    run(main())


def test_an_unanswered_unregister_raises_request_timeout():
    async def main():
        sip = make_instance(ua_config={"t1": 0.01})  # Timer F: 64*T1 = 0.64 s
        server, task = await serving(sip, register=unregistering(None))
        await sip.register()
        with pytest.raises(webvoice.UnregisterError) as info:
            await sip.unregister()
        assert info.value.status_code is None and info.value.cause == "Request Timeout"
        assert sip.is_registered() and info.value.still_registered  # nothing says it is gone
        task.cancel()

    run(main())


def test_a_connection_dropped_during_unregister_raises_connection_error():
    async def main():
        sip = make_instance(ua_config={"connection_recovery_min_interval": 60.0,
                                       "connection_recovery_max_interval": 60.0})
        server, task = await serving(sip, register=unregistering(None))
        await sip.register()
        pending = asyncio.ensure_future(sip.unregister())
        while not any(r.header("Expires") == 0 for r in server.requests("REGISTER")):
            await asyncio.sleep(0.005)
        drop_connection(sip)
        with pytest.raises(webvoice.UnregisterError) as info:
            await pending
        assert info.value.cause == "Connection Error" and not info.value.still_registered
        assert not sip.is_registered()
        task.cancel()
        await sip.close()

    run(main())


def test_unregister_while_disconnected_raises_and_is_not_undone_by_the_reconnect():
    async def main():
        sip = make_instance(ua_config={"connection_recovery_min_interval": 0.05,
                                       "connection_recovery_max_interval": 0.05})
        server, task = await serving(sip)
        await sip.register()
        drop_connection(sip)
        assert not sip.is_registered()
        with pytest.raises(webvoice.UnregisterError) as info:
            await sip.unregister()
        assert info.value.cause == "Connection Error"
        while not sip.is_connected():  # reconnects ...
            await asyncio.sleep(0.005)
        # on_open sends a REGISTER at once if it wants one: none went
        assert not sip.is_registered()  # ... and does not register again: unregister was asked
        assert not [f for f in transport_of(sip).sent if f.startswith(b"REGISTER ")]
        task.cancel()
        await sip.close()

    run(main())
