"""Unregister outcomes in the core: only a 2xx is ``Unregistered``; a refusal,
a timeout or a lost connection is ``UnregisterFailed`` saying whether the
binding still stands (until its expiry, no longer refreshed)."""

from __future__ import annotations

import pytest

from tests.sip.test_registration import Registrar, make, run
from webvoice.sip.syntax._causes import Cause
from webvoice.sip.ua._registration import Unregistered, UnregisterFailed


def registered(expires=300):
    reg = make(expires=expires)
    reg.register(0.0)
    run(reg, Registrar(), 0.0)
    assert reg.is_registered
    reg.unregister(10.0)
    [request] = reg.requests_to_send()
    assert request is reg.pending_request and request.expires == 0
    return reg, request


def test_a_2xx_is_unregistered():
    reg, request = registered()
    reg.receive_response(request, request.response(200, to_tag="srv"), 10.5)
    assert reg.events() == [Unregistered(None)] and not reg.is_registered


@pytest.mark.parametrize("outcome, status, cause, stands", [
    ("refused", 500, "SIP Failure Code", True),
    ("forbidden", 403, Cause.REJECTED, True),
    ("timeout", None, Cause.REQUEST_TIMEOUT, True),
    ("transport", None, Cause.CONNECTION_ERROR, False),
    ("connection_lost", None, Cause.CONNECTION_ERROR, False),
])
def test_anything_else_is_unregister_failed(outcome, status, cause, stands):
    reg, request = registered()
    if status is not None:
        reg.receive_response(request, request.response(status, to_tag="srv"), 10.5)
    elif outcome == "connection_lost":
        reg.connection_lost(10.5)
    else:
        reg.request_failed(request, 10.5, timeout=outcome == "timeout")
    [event] = reg.events()
    assert isinstance(event, UnregisterFailed)
    assert (event.status_code, event.still_registered) == (status, stands)
    assert event.cause == cause or status is not None
    assert reg.is_registered is stands
    if stands:  # no refresh any more; the binding lapses at its expiry
        assert reg.get_timer() == 300.0
        reg.handle_timer(299.0)
        assert reg.requests_to_send() == [] and reg.is_registered
        reg.handle_timer(300.0)
        assert reg.events() == [Unregistered(Cause.EXPIRES)] and not reg.is_registered
    assert reg.requests_to_send() == []
