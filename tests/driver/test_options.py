"""Every option create_sip_instance accepts is honoured or refused by name."""

from __future__ import annotations

import asyncio

import pytest

import webvoice
from devtools.fake_media import FakeMediaBackend
from devtools.fake_transport import FakeTransport
from tests.driver.conftest import drop_connection, make_instance, run, serving, transport_of, until
from webvoice._config import CALL_OPTION_KEYS, UA_CONFIG_KEYS


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"call_options": {"bogus": 1}}, "'bogus'"),
        ({"call_options": {"rtcConstraints": {}}}, "'rtcConstraints'"),
        ({"call_options": {"pcConfig": "relay"}}, "call_options['pcConfig']"),
        ({"call_options": {"pc_config": {"iceTransportPolicy": "relay", "bogusMember": 1}}}, "'bogusMember'"),
        ({"call_options": {"pc_config": {"iceServers": [object()]}}}, "plain data"),
        ({"call_options": {"pcConfig": {}, "pc_config": {}}}, "twice"),
        ({"call_options": {"rtcOfferConstraints": {"iceRestart": True, "nope": 1}}}, "'nope'"),
        ({"call_options": {"rtc_offer_constraints": []}}, "rtc_offer_constraints"),
        ({"call_options": {"sessionTimersExpires": 30}}, "sessionTimersExpires"),
        ({"call_options": {"session_timers_expires": "120"}}, "session_timers_expires"),
        ({"call_options": {"session_timers_expires": True}}, "session_timers_expires"),
        ({"call_options": {"session_timers_expires": 120}, "ua_config": {"session_timers": False}},
         "ua_config['session_timers']"),
        ({"call_options": {"media_constraints": {"audio": True, "video": True}}}, "video"),
        ({"call_options": {"mediaConstraints": {"audio": False}}}, "audio"),
        ({"call_options": {"media_constraints": {"audio": True, "screen": True}}}, "'screen'"),
        ({"call_options": {"extra_headers": ["Via: x"]}}, "Via"),
        ({"call_options": "pc_config"}, "call_options"),
        ({"ua_config": {"register": "yes"}}, "register"),
        ({"ua_config": {"use_preloaded_route": True}}, "use_preloaded_route"),
        ({"ua_config": {"registrar_server": "x"}}, "'registrar_server'"),
        ({"line_events": [print]}, "line_events is a dict of event name to handler, not list"),
        ({"line_events": {"on_line_gone": print}}, "unknown line event 'on_line_gone'"),
        ({"line_events": {"on_line_added": "render"}}, "the handler for 'on_line_added' must be callable"),
    ],
)
def test_unknown_or_bad_options_are_refused_by_name(kwargs, words):
    before = len(FakeTransport.instances)
    with pytest.raises((ValueError, TypeError)) as info:
        webvoice.create_sip_instance(sip_login="a", sip_password="p", realm="a.test",
                                     transport_factory=FakeTransport, **kwargs)
    assert words in str(info.value)
    assert len(FakeTransport.instances) == before


@pytest.mark.parametrize("handlers, error, words", [
    ([print], TypeError, "on_connection_event takes a dict of event name to handler, not list"),
    ({"registred": print}, ValueError, "unknown connection event 'registred'"),
    ({"registered": print, "connected": 1}, TypeError, "the handler for 'connected' must be callable"),
])
def test_bad_connection_handlers_are_refused_by_name_and_none_is_added(handlers, error, words):
    sip = make_instance()
    with pytest.raises(error, match=words):
        sip.on_connection_event(handlers)
    assert not any(sip._handlers.values())  # all or nothing


def test_js_and_python_spellings_are_stored_under_one_name():
    """Options given in the JS SDK's spellings act as the Python ones do: each reaches
    the media backend or the INVITE (read there, not in the instance's settings)."""
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, call_options={
            "pcConfig": {"iceTransportPolicy": "relay", "bundle_policy": "max-bundle"},
            "rtcOfferConstraints": {"offerToReceiveAudio": True},
            "sessionTimersExpires": 120, "mediaConstraints": {"audio": {"echoCancellation": False}},
            "extraHeaders": ["X-Tag: 1"]})
        server, task = await serving(sip)
        await sip.call("bob")
        await until(lambda: server.requests("INVITE"), "the INVITE")
        [opened] = media.opened
        assert opened["pc_config"] == {"iceTransportPolicy": "relay", "bundlePolicy": "max-bundle"}
        assert opened["offer_constraints"] == {"offerToReceiveAudio": True}
        assert opened["constraints"] == {"echoCancellation": False}
        [invite] = server.requests("INVITE")
        assert invite.header("Session-Expires") == "120" and invite.header("X-Tag") == "1"
        task.cancel()

    run(main())


def test_pc_config_and_offer_constraints_reach_the_media_backend():
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media, stun_servers=["stun:stun.a.test:3478"],
                            call_options={"pc_config": {"iceTransportPolicy": "relay"},
                                          "rtc_offer_constraints": {"iceRestart": False},
                                          "media_constraints": {"audio": {"echoCancellation": False}}})
        server, task = await serving(sip)
        await sip.call("bob")
        [opened] = media.opened
        assert opened["pc_config"] == {"iceTransportPolicy": "relay"}
        assert opened["offer_constraints"] == {"iceRestart": False}
        assert opened["constraints"] == {"echoCancellation": False}
        assert opened["ice_servers"] == ["stun:stun.a.test:3478"]
        task.cancel()

    run(main())


def test_without_those_options_the_backend_is_called_as_before():
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip)
        await sip.call("bob")
        assert media.opened[0]["pc_config"] is None and media.opened[0]["offer_constraints"] is None
        task.cancel()

    run(main())


def test_session_timers_expires_is_asked_in_the_invite_and_runs_the_timer():
    async def main():
        sip = make_instance(call_options={"session_timers_expires": 120})
        server, task = await serving(sip)
        call = await sip.call("bob")
        await until(lambda: server.requests("INVITE"), "the INVITE")
        [invite] = server.requests("INVITE")
        assert invite.header("Session-Expires") == "120" and "timer" in invite.header_all("Supported")
        await until(call.is_established, "answer")
        # The peer's 200 named none: ours stands, and goes in our next offer of the dialog.
        await call.hold()
        reinvite = server.requests("INVITE")[-1]
        assert reinvite.to.params.get("tag") and reinvite.header("Session-Expires").startswith("120;")
        task.cancel()

    run(main())


def test_register_true_registers_on_every_connection_until_unregister():
    async def main():
        sip = make_instance(ua_config={"register": True, "connection_recovery_min_interval": 0.05,
                                       "connection_recovery_max_interval": 0.05})
        registered = asyncio.Event()
        sip.on_connection_event({"registered": lambda e: registered.set()})
        server, task = await serving(sip)
        await registered.wait()
        assert sip.is_registered()
        await sip.unregister()
        drop_connection(sip)
        while not sip.is_connected():
            await asyncio.sleep(0.005)
        assert not sip.is_registered() and not [f for f in transport_of(sip).sent if f.startswith(b"REGISTER ")]
        task.cancel()
        await sip.close()

    run(main())


def test_register_false_by_default_connects_without_registering():
    async def main():
        sip = make_instance()
        server, task = await serving(sip)
        assert server.requests("REGISTER") == [] and not [f for f in transport_of(sip).sent if f.startswith(b"REGISTER")]
        task.cancel()

    run(main())


def test_every_documented_key_is_read_somewhere():
    """A key in the tables that no code reads would be an option silently ignored."""
    import pathlib

    source = "".join(p.read_text() for p in pathlib.Path(webvoice.__file__).parent.glob("*.py")
                     if p.name != "_config.py")
    config = (pathlib.Path(webvoice.__file__).parent / "_config.py").read_text()
    for key in UA_CONFIG_KEYS:
        assert f'"{key}"' in source or f'out.get("{key}")' in config or f'ua.get("{key}"' in config, (
            f"ua_config[{key!r}] is never read")
    for key in CALL_OPTION_KEYS:
        assert f'"{key}"' in source, f"call_options[{key!r}] is never read"
