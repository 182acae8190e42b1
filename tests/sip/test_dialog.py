"""Dialogs (RFC 3261 12-15, RFC 6026): creation, in-dialog requests, CSeq, forking.

The messages follow RFC 3665 3.2 (session establishment through two proxies,
both record-routing): Alice calls Bob via ss1.atlanta and ss2.biloxi.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from webvoice.sip import (
    NameAddr,
    Params,
    Request,
    Response,
    SipUri,
    Via,
    parse_message,
    parse_uri,
)
from webvoice.sip.dialog._dialog import Dialog
from webvoice.sip.dialog._forking import (
    DialogConfirmed,
    ForkDiscarded,
    InviteDialogs,
    InviteFailed,
    InviteState,
    ProvisionalReceived,
    ResponseIgnored,
    Retransmitted2xx,
)
from webvoice.sip.dialog._state import DialogId, DialogState, RequestRejected
from webvoice.sip.dialog._store import DialogStore

CALL_ID = "3848276298220188511@atlanta.example.com"
ALICE_CONTACT = "<sip:alice@client.atlanta.example.com;transport=tcp>"
BOB_CONTACT = "<sip:bob@client.biloxi.example.com;transport=tcp>"
PROXY_AUTH = (
    'Digest username="alice", realm="atlanta.example.com", nonce="wf84f1ceczx41ae6cbe5aea9c8e88d359", '
    'opaque="", uri="sip:bob@biloxi.example.com", response="42ce3cef44b22f50c6a6071bc8"'
)
RECORD_ROUTE = "<sip:ss2.biloxi.example.com;lr>, <sip:ss1.atlanta.example.com;lr>"
ROUTE_AT_ALICE = ["sip:ss1.atlanta.example.com;lr", "sip:ss2.biloxi.example.com;lr"]
ROUTE_AT_BOB = ["sip:ss2.biloxi.example.com;lr", "sip:ss1.atlanta.example.com;lr"]
SDP = b"v=0\r\no=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\ns=-\r\n"


def msg(text: str, body: bytes = b"") -> Request | Response:
    head = text.strip("\n").replace("\n", "\r\n")
    return parse_message(head.encode() + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)


def req(text: str, body: bytes = b"") -> Request:
    message = msg(text, body)
    assert isinstance(message, Request)
    return message


def resp(text: str, body: bytes = b"") -> Response:
    message = msg(text, body)
    assert isinstance(message, Response)
    return message


def wire(request: Request) -> Request:
    """Every request the dialog layer builds must survive the wire unchanged."""
    assert parse_message(bytes(request)) == request
    return request


def vias(host: str) -> Callable[[], Via]:
    counter = itertools.count(1)
    return lambda: Via("TCP", host, 5060, Params([("branch", f"z9hG4bK{host[:6]}{next(counter)}")]))


alice_via = vias("client.atlanta.example.com")
bob_via = vias("client.biloxi.example.com")

# F4: the INVITE Alice sends after the 407, with her credentials.
INVITE = req(f"""
INVITE sip:bob@biloxi.example.com SIP/2.0
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9
Max-Forwards: 70
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: {CALL_ID}
CSeq: 2 INVITE
Contact: {ALICE_CONTACT}
Proxy-Authorization: {PROXY_AUTH}
Content-Type: application/sdp
""", SDP)

# F6/F7: the same INVITE as Bob receives it, through both proxies.
INVITE_AT_BOB = req(f"""
INVITE sip:bob@client.biloxi.example.com;transport=tcp SIP/2.0
Via: SIP/2.0/TCP ss2.biloxi.example.com:5060;branch=z9hG4bK721e4.1
Via: SIP/2.0/TCP ss1.atlanta.example.com:5060;branch=z9hG4bK2d4790.1;received=192.0.2.111
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101
Max-Forwards: 68
Record-Route: {RECORD_ROUTE}
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>
Call-ID: {CALL_ID}
CSeq: 2 INVITE
Contact: {ALICE_CONTACT}
Content-Type: application/sdp
""", SDP)


def response_at_alice(
    status: str,
    tag: str = "314159",
    contact: str = BOB_CONTACT,
    body: bytes = b"",
    record_route: str = RECORD_ROUTE,
) -> Response:
    lines = [
        f"SIP/2.0 {status}",
        "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101",
    ]
    if record_route:
        lines.append(f"Record-Route: {record_route}")
    lines += [
        "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl",
        f"To: Bob <sip:bob@biloxi.example.com>{';tag=' + tag if tag else ''}",
        f"Call-ID: {CALL_ID}",
        "CSeq: 2 INVITE",
    ]
    if contact:
        lines.append(f"Contact: {contact}")
    return resp("\n".join(lines), body)


def alice_dialog() -> Dialog:
    return Dialog.uac(INVITE, response_at_alice("200 OK"))


def bob_dialog(status: int = 200) -> Dialog:
    answer = INVITE_AT_BOB.response(status, to_tag="314159", headers=[("Contact", BOB_CONTACT)])
    return Dialog.uas(INVITE_AT_BOB, answer)


# --- creation (12.1) ----------------------------------------------------------------------


def test_uac_dialog_from_2xx_reverses_record_route():
    d = alice_dialog()
    assert d.state is DialogState.CONFIRMED and d.is_uac
    assert d.id == DialogId(CALL_ID, "9fxced76sl", "314159")
    assert [str(u) for u in d.route_set] == ROUTE_AT_ALICE
    assert d.remote_target == parse_uri("sip:bob@client.biloxi.example.com;transport=tcp")
    assert d.local_target == NameAddr("sip:alice@client.atlanta.example.com;transport=tcp")
    assert d.local_uri == NameAddr(parse_uri("sip:alice@atlanta.example.com"), "Alice")
    assert d.remote_uri == NameAddr(parse_uri("sip:bob@biloxi.example.com"), "Bob")
    assert (d.local_cseq, d.remote_cseq, d.next_cseq) == (2, None, 3)
    assert d.secure is False


def test_uac_early_dialog_needs_a_to_tag():
    assert Dialog.uac(INVITE, response_at_alice("180 Ringing")).state is DialogState.EARLY
    with pytest.raises(ValueError, match="To tag"):
        Dialog.uac(INVITE, response_at_alice("180 Ringing", tag=""))
    with pytest.raises(ValueError, match="does not create a dialog"):
        Dialog.uac(INVITE, response_at_alice("100 Trying"))
    with pytest.raises(ValueError, match="does not answer"):
        Dialog.uac(INVITE, response_at_alice("200 OK").with_header_set("Call-ID", "other@x"))


def test_uac_2xx_without_contact_falls_back_to_request_uri():
    d = Dialog.uac(INVITE, response_at_alice("200 OK", contact=""))
    assert d.remote_target == INVITE.uri


def test_uas_dialog_keeps_record_route_order():
    d = bob_dialog(180)
    assert d.state is DialogState.EARLY and not d.is_uac
    assert d.id == DialogId(CALL_ID, "314159", "9fxced76sl")
    assert [str(u) for u in d.route_set] == ROUTE_AT_BOB
    assert d.remote_target == parse_uri("sip:alice@client.atlanta.example.com;transport=tcp")
    assert d.local_target == NameAddr("sip:bob@client.biloxi.example.com;transport=tcp")
    assert (d.local_cseq, d.remote_cseq, d.next_cseq) == (None, 2, 1)
    assert bob_dialog(200).state is DialogState.CONFIRMED


def test_uas_dialog_creation_refuses_local_mistakes():
    with pytest.raises(ValueError, match="tag"):
        Dialog.uas(INVITE_AT_BOB, INVITE_AT_BOB.response(180, headers=[("Contact", BOB_CONTACT)]))
    with pytest.raises(ValueError, match="Contact"):
        Dialog.uas(INVITE_AT_BOB, INVITE_AT_BOB.response(180, to_tag="x"))
    with pytest.raises(ValueError, match="does not create"):
        Dialog.uas(INVITE_AT_BOB, INVITE_AT_BOB.response(486, to_tag="x", headers=[("Contact", BOB_CONTACT)]))


def test_uas_send_response_adds_tag_and_moves_state():
    d = bob_dialog(180)
    ok = d.send_response(INVITE_AT_BOB, INVITE_AT_BOB.response(200, headers=[("Contact", BOB_CONTACT)]))
    assert ok.to.tag == "314159" and d.state is DialogState.CONFIRMED
    with pytest.raises(ValueError, match="local tag"):
        d.send_response(INVITE_AT_BOB, INVITE_AT_BOB.response(200, to_tag="other"))
    rejected = bob_dialog(180)
    rejected.send_response(INVITE_AT_BOB, INVITE_AT_BOB.response(486))
    assert rejected.state is DialogState.TERMINATED


def test_secure_needs_sips_and_tls():
    sips_invite = INVITE.replace(uri=parse_uri("sips:bob@biloxi.example.com"))
    ok = response_at_alice("200 OK")
    assert Dialog.uac(sips_invite, ok).secure is True
    assert Dialog.uac(sips_invite, ok, tls=False).secure is False
    assert Dialog.uac(INVITE, ok).secure is False


# --- requests within the dialog (12.2.1.1, 13.2.2.4) ------------------------------------------


def test_ack_and_bye_match_rfc3665():
    alice, bob = alice_dialog(), bob_dialog()
    via = Via("TCP", "client.atlanta.example.com", 5060, Params([("branch", "z9hG4bK74b76")]))
    ack = wire(alice.create_ack(INVITE, via=via))
    assert ack == msg(f"""
ACK sip:bob@client.biloxi.example.com;transport=tcp SIP/2.0
Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74b76
Max-Forwards: 70
Route: <sip:ss1.atlanta.example.com;lr>, <sip:ss2.biloxi.example.com;lr>
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
To: Bob <sip:bob@biloxi.example.com>;tag=314159
Call-ID: {CALL_ID}
CSeq: 2 ACK
Proxy-Authorization: {PROXY_AUTH}
""")
    assert alice.local_cseq == 2  # an ACK takes no new number
    via = Via("TCP", "client.biloxi.example.com", 5060, Params([("branch", "z9hG4bKnashds7")]))
    bye = wire(bob.create_request("BYE", via=via))
    assert bye == msg(f"""
BYE sip:alice@client.atlanta.example.com;transport=tcp SIP/2.0
Via: SIP/2.0/TCP client.biloxi.example.com:5060;branch=z9hG4bKnashds7
Max-Forwards: 70
Route: <sip:ss2.biloxi.example.com;lr>, <sip:ss1.atlanta.example.com;lr>
From: Bob <sip:bob@biloxi.example.com>;tag=314159
To: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
Call-ID: {CALL_ID}
CSeq: 1 BYE
""")
    # Alice takes Bob's BYE: it matches her dialog and sets her remote CSeq.
    store = DialogStore()
    store.add(alice)
    assert store.receive_request(bye) is alice and alice.remote_cseq == 1


def test_ack_with_answer_body_and_cseq_number():
    d = alice_dialog()
    ack = wire(d.create_ack(2, via=alice_via(), body=b"v=0\r\n", content_type="application/sdp"))
    assert ack.cseq.seq == 2 and ack.cseq.method == "ACK" and ack.body == b"v=0\r\n"
    assert ack.header("Proxy-Authorization") is None  # only copied when the INVITE is given
    with pytest.raises(ValueError, match="CSeq 7"):
        d.create_ack(7, via=alice_via())
    with pytest.raises(ValueError, match="INVITE"):
        d.create_ack(d.create_request("INFO", via=alice_via()), via=alice_via())


def test_cseq_increments_and_contact_on_target_refresh():
    d = alice_dialog()
    info = wire(d.create_request("INFO", via=alice_via(), headers=[("Info-Package", "dtmf")],
                                 body=b"Signal=1\r\n", content_type="application/dtmf-relay"))
    reinvite = wire(d.create_request("INVITE", via=alice_via(), body=SDP, content_type="application/sdp"))
    bye = wire(d.create_request("BYE", via=alice_via()))
    assert [r.cseq.seq for r in (info, reinvite, bye)] == [3, 4, 5]
    assert [r.cseq.method for r in (info, reinvite, bye)] == ["INFO", "INVITE", "BYE"]
    assert info.contact is None and bye.contact is None
    assert reinvite.contact == NameAddr("sip:alice@client.atlanta.example.com;transport=tcp")
    assert info.header("Info-Package") == "dtmf"
    ack = wire(d.create_ack(reinvite, via=alice_via()))
    assert ack.cseq.seq == 4 and d.local_cseq == 5


def test_uas_first_request_uses_cseq_1():
    d = bob_dialog()
    assert [wire(d.create_request(m, via=bob_via())).cseq.seq for m in ("UPDATE", "BYE")] == [1, 2]


def test_loose_routing():
    d = alice_dialog()
    r = wire(d.create_request("OPTIONS", via=alice_via()))
    assert r.uri == parse_uri("sip:bob@client.biloxi.example.com;transport=tcp")
    assert [str(x.uri) for x in r.route] == ROUTE_AT_ALICE


def test_no_route_set():
    d = Dialog.uac(INVITE, response_at_alice("200 OK", record_route=""))
    r = wire(d.create_request("BYE", via=alice_via()))
    assert r.uri == d.remote_target and r.route == []


def test_strict_routing_rfc3261_12_2_1_1_example():
    # Route set <sip:proxy1>, <sip:proxy2>, <sip:proxy3;lr>, <sip:proxy4>, remote target
    # sip:user@remoteua: the Request-URI is sip:proxy1, the target goes last in Route.
    ok = response_at_alice(
        "200 OK", contact="<sip:user@remoteua>",
        record_route="<sip:proxy4>, <sip:proxy3;lr>, <sip:proxy2>, "
        "<sip:proxy1;maddr=192.0.2.9;method=INVITE>",
    )
    d = Dialog.uac(INVITE, ok)
    r = wire(d.create_request("BYE", via=alice_via()))
    assert str(r.uri) == "sip:proxy1;maddr=192.0.2.9"  # its parameters kept, but method= is not allowed here
    assert [str(x.uri) for x in r.route] == ["sip:proxy2", "sip:proxy3;lr", "sip:proxy4", "sip:user@remoteua"]


def test_remote_target_uri_headers_are_not_put_in_the_request_uri():
    d = Dialog.uac(INVITE, response_at_alice("200 OK", contact="<sip:bob@192.0.2.4?Subject=hi>"))
    assert str(wire(d.create_request("BYE", via=alice_via())).uri) == "sip:bob@192.0.2.4"


def test_create_request_refuses_misuse():
    d = alice_dialog()
    with pytest.raises(ValueError, match="create_ack"):
        d.create_request("ACK", via=alice_via())
    with pytest.raises(ValueError, match="9.1"):
        d.create_request("CANCEL", via=alice_via())
    with pytest.raises(ValueError, match="writes To itself"):
        d.create_request("INFO", via=alice_via(), headers=[("t", "<sip:x@y>")])
    assert d.local_cseq == 2


# --- target refresh (12.2.1.2, 12.2.2) ---------------------------------------------------


def test_target_refresh_by_2xx_to_our_reinvite():
    d = alice_dialog()
    new_contact = NameAddr(parse_uri("sip:alice@198.51.100.7;transport=ws"))
    reinvite = d.create_request("INVITE", via=alice_via(), contact=new_contact)
    moved = [("Contact", "<sip:bob@203.0.113.5>")]
    d.receive_response(reinvite, reinvite.response(491, headers=moved))
    assert d.remote_target == parse_uri("sip:bob@client.biloxi.example.com;transport=tcp")
    stranger = reinvite.replace(headers=reinvite.headers.set("Call-ID", "x@y"))
    d.receive_response(stranger, stranger.response(200, headers=moved))  # not this dialog's: ignored
    assert d.remote_target == parse_uri("sip:bob@client.biloxi.example.com;transport=tcp")
    d.receive_response(reinvite, reinvite.response(200, headers=moved))
    assert d.remote_target == parse_uri("sip:bob@203.0.113.5")
    assert d.local_target == new_contact
    assert [str(u) for u in d.route_set] == ROUTE_AT_ALICE


def test_target_refresh_by_received_update_and_reinvite():
    alice, bob = alice_dialog(), bob_dialog()
    update = bob.create_request("UPDATE", via=bob_via(), contact=NameAddr("sip:bob@203.0.113.9;transport=ws"))
    assert alice.receive_request(update) is None
    assert alice.remote_target == parse_uri("sip:bob@203.0.113.9;transport=ws") and alice.remote_cseq == 1
    reinvite = alice.create_request("INVITE", via=alice_via(), contact=NameAddr("sip:alice@198.51.100.7"))
    assert bob.receive_request(reinvite) is None
    assert bob.remote_target == parse_uri("sip:alice@198.51.100.7") and bob.remote_cseq == 3


# --- received requests (12.2.2) ---------------------------------------------------------------


def test_lower_remote_cseq_gets_500():
    alice, bob = alice_dialog(), bob_dialog()
    first = bob.create_request("INFO", via=bob_via())
    second = bob.create_request("INFO", via=bob_via())
    assert alice.receive_request(second) is None
    rejected = alice.receive_request(first)
    assert isinstance(rejected, RequestRejected) and rejected.response.status_code == 500
    assert "lower" in rejected.reason and alice.remote_cseq == 2
    assert rejected.response.to == first.to and rejected.response.cseq == first.cseq


def test_ack_is_neither_checked_nor_answered():
    bob = bob_dialog()
    bob.receive_request(alice_dialog().create_request("INFO", via=alice_via()))  # remote CSeq 3
    ack = alice_dialog().create_ack(INVITE, via=alice_via())  # CSeq 2 ACK
    assert bob.receive_request(ack) is None and bob.remote_cseq == 3


def test_store_routes_requests_and_answers_481():
    store = DialogStore()
    bob = bob_dialog()
    store.add(bob)
    alice = alice_dialog()
    assert store.receive_request(alice.create_request("INFO", via=alice_via())) is bob
    assert store.match_request(alice.create_request("INFO", via=alice_via())) is bob
    assert store.receive_request(INVITE_AT_BOB) is None  # no To tag: not in a dialog

    stranger = Dialog.uac(INVITE, response_at_alice("200 OK", tag="999"))  # Bob never gave out tag 999
    lost = store.receive_request(stranger.create_request("BYE", via=alice_via()))
    assert isinstance(lost, RequestRejected) and lost.response.status_code == 481
    lost_ack = store.receive_request(stranger.create_ack(INVITE, via=alice_via()))
    assert isinstance(lost_ack, RequestRejected) and lost_ack.response is None

    bob.terminate()
    late = store.receive_request(alice.create_request("BYE", via=alice_via()))
    assert isinstance(late, RequestRejected) and late.response.status_code == 481
    assert store.prune() == [bob] and len(store) == 0


def test_store_matches_responses_and_refuses_duplicates():
    store = DialogStore()
    alice = alice_dialog()
    store.add(alice)
    assert store.match_response(response_at_alice("200 OK")) is alice
    assert store.match_response(response_at_alice("200 OK", tag="other")) is None
    with pytest.raises(ValueError, match="already registered"):
        store.add(alice_dialog())
    assert alice in store and list(store) == [alice]


# --- termination (15) --------------------------------------------------------------------------


def test_terminated_dialog_refuses_requests():
    d = alice_dialog()
    d.terminate()
    d.terminate()  # idempotent
    assert d.state is DialogState.TERMINATED
    with pytest.raises(ValueError, match="terminated"):
        d.create_request("BYE", via=alice_via())
    with pytest.raises(ValueError, match="terminated"):
        d.create_ack(INVITE, via=alice_via())
    rejected = d.receive_request(bob_dialog().create_request("BYE", via=bob_via()))
    assert rejected.response.status_code == 481


def test_non_2xx_final_terminates_a_lone_early_dialog():
    d = Dialog.uac(INVITE, response_at_alice("180 Ringing"))
    d.receive_response(INVITE, response_at_alice("183 Session Progress", contact="<sip:bob@192.0.2.44>"))
    assert d.state is DialogState.EARLY and d.remote_target == parse_uri("sip:bob@192.0.2.44")
    d.receive_response(INVITE, response_at_alice("486 Busy Here"))
    assert d.state is DialogState.TERMINATED
    d.receive_response(INVITE, response_at_alice("200 OK"))  # nothing revives it
    assert d.state is DialogState.TERMINATED


# --- forking (13.2.2.4, RFC 6026) ---------------------------------------------------------------


def test_early_dialog_confirmed_by_its_2xx():
    store = DialogStore()
    invite = InviteDialogs(INVITE, via=alice_via, store=store)
    trying = invite.receive_response(response_at_alice("100 Trying", tag="", record_route=""))
    assert trying == ProvisionalReceived(trying.response, None)
    ringing = invite.receive_response(
        response_at_alice("180 Ringing", record_route="<sip:ss1.atlanta.example.com;lr>")
    )
    assert isinstance(ringing, ProvisionalReceived) and ringing.created
    early = ringing.dialog
    assert early.state is DialogState.EARLY and store.get(early.id) is early
    assert [str(u) for u in early.route_set] == ["sip:ss1.atlanta.example.com;lr"]
    ok = invite.receive_response(response_at_alice("200 OK", body=SDP))
    assert isinstance(ok, DialogConfirmed) and ok.dialog is early and ok.terminated == ()
    assert early.state is DialogState.CONFIRMED and invite.state is InviteState.ACCEPTED
    assert [str(u) for u in early.route_set] == ROUTE_AT_ALICE


DESK, MOBILE = "<sip:bob@desk.biloxi.example.com>", "<sip:bob@mobile.biloxi.example.com>"


def test_forking_two_early_dialogs_two_2xx():
    invite = InviteDialogs(INVITE, via=alice_via)
    a = invite.receive_response(response_at_alice("180 Ringing", tag="fork-a", contact=DESK))
    b = invite.receive_response(response_at_alice("183 Session Progress", tag="fork-b", contact=MOBILE))
    again = invite.receive_response(response_at_alice("180 Ringing", tag="fork-a", contact=DESK))
    assert a.created and b.created and not again.created and again.dialog is a.dialog
    assert invite.early == (a.dialog, b.dialog)

    won = invite.receive_response(response_at_alice("200 OK", tag="fork-a", contact=DESK))
    assert isinstance(won, DialogConfirmed) and won.dialog is a.dialog
    assert won.terminated == (b.dialog,) and b.dialog.state is DialogState.TERMINATED
    assert invite.confirmed is a.dialog and invite.early == ()

    # The 2xx is retransmitted before the UA has its answer ready: nothing to re-send yet.
    early_retry = invite.receive_response(won.response)
    assert isinstance(early_retry, Retransmitted2xx) and early_retry.ack is None
    ack = wire(invite.create_ack())
    assert str(ack.uri) == "sip:bob@desk.biloxi.example.com" and ack.cseq.seq == 2 and ack.to.tag == "fork-a"
    assert ack.header("Proxy-Authorization") == PROXY_AUTH and invite.ack is ack
    retry = invite.receive_response(won.response)
    assert isinstance(retry, Retransmitted2xx) and retry.ack is ack
    with pytest.raises(ValueError, match="already created"):
        invite.create_ack()

    # The other fork answers too: ACK it, then BYE it.
    late = invite.receive_response(response_at_alice("200 OK", tag="fork-b", contact=MOBILE))
    assert isinstance(late, ForkDiscarded) and late.dialog.state is DialogState.CONFIRMED
    for request, method, seq in ((late.ack, "ACK", 2), (late.bye, "BYE", 3)):
        wire(request)
        assert (request.method, request.cseq.seq, request.cseq.method) == (method, seq, method)
        assert str(request.uri) == "sip:bob@mobile.biloxi.example.com" and request.to.tag == "fork-b"
        assert [str(r.uri) for r in request.route] == ROUTE_AT_ALICE
    assert late.ack.top_via.branch != late.bye.top_via.branch != ack.top_via.branch
    late_retry = invite.receive_response(late.response)
    assert isinstance(late_retry, Retransmitted2xx) and late_retry.ack is late.ack
    # Bob's proxy challenges the BYE: it is sent again with a new CSeq, then the fork ends.
    credentials = [("Proxy-Authorization", PROXY_AUTH)]
    retry_bye = wire(late.dialog.create_request("BYE", via=alice_via(), headers=credentials))
    assert retry_bye.cseq.seq == 4
    late.dialog.terminate()
    assert invite.receive_response(late.response).ack is late.ack
    assert a.dialog.state is DialogState.CONFIRMED and a.dialog.local_cseq == 2


def test_non_2xx_final_terminates_all_early_dialogs():
    invite = InviteDialogs(INVITE, via=alice_via)
    a = invite.receive_response(response_at_alice("180 Ringing", tag="fork-a"))
    b = invite.receive_response(response_at_alice("180 Ringing", tag="fork-b"))
    failed = invite.receive_response(response_at_alice("486 Busy Here", tag="fork-b", contact=""))
    assert isinstance(failed, InviteFailed) and failed.terminated == (a.dialog, b.dialog)
    assert invite.state is InviteState.FAILED and invite.early == ()
    late_ringing = invite.receive_response(response_at_alice("180 Ringing", tag="fork-c"))
    assert isinstance(late_ringing, ResponseIgnored) and "failed" in late_ringing.reason
    assert invite.receive_timeout() is None
    with pytest.raises(ValueError, match="no 2xx"):
        invite.create_ack()
    # A 2xx breaking the proxy rules after the failure is still hung up.
    stray = invite.receive_response(response_at_alice("200 OK", tag="fork-a"))
    assert isinstance(stray, ForkDiscarded) and wire(stray.bye).method == "BYE"


def test_timeout_terminates_early_dialogs():
    invite = InviteDialogs(INVITE, via=alice_via)
    a = invite.receive_response(response_at_alice("180 Ringing"))
    failed = invite.receive_timeout()
    assert failed == InviteFailed(None, (a.dialog,)) and invite.state is InviteState.FAILED


def test_responses_of_another_transaction_are_ignored():
    invite = InviteDialogs(INVITE, via=alice_via)
    other = response_at_alice("200 OK").with_header_set("Call-ID", "someone-else@x")
    ignored = invite.receive_response(other)
    assert isinstance(ignored, ResponseIgnored) and "not an answer" in ignored.reason
    assert invite.state is InviteState.CALLING and invite.dialogs == ()
    with pytest.raises(TypeError):
        invite.receive_response(INVITE)
    with pytest.raises(ValueError):
        InviteDialogs(Request("BYE", SipUri(host="x"), INVITE.headers), via=alice_via)


# --- a whole call, both sides ---------------------------------------------------------------


def through_proxies(response: Response) -> Response:
    """What the proxies do to Bob's response on its way to Alice: pop their Vias."""
    others = [(n, v) for n, v in response.headers if n != "Via"]
    return response.replace(headers=[*[("Via", v) for v in response.via[2:]], *others])


def test_call_between_two_dialogs():
    alice_store, bob_store = DialogStore(), DialogStore()
    invite = InviteDialogs(INVITE, via=alice_via, store=alice_store)

    ringing = INVITE_AT_BOB.response(180, to_tag="b0b", headers=[("Contact", BOB_CONTACT)])
    bob = Dialog.uas(INVITE_AT_BOB, ringing)
    bob_store.add(bob)
    early = invite.receive_response(through_proxies(ringing))
    assert isinstance(early, ProvisionalReceived) and early.created
    contact = [("Contact", BOB_CONTACT)]
    ok = bob.send_response(INVITE_AT_BOB, INVITE_AT_BOB.response(200, headers=contact, body=SDP))
    assert bob.state is DialogState.CONFIRMED
    confirmed = invite.receive_response(through_proxies(ok))
    assert isinstance(confirmed, DialogConfirmed) and confirmed.dialog is early.dialog
    alice = confirmed.dialog
    assert alice.id == DialogId(CALL_ID, "9fxced76sl", "b0b")
    assert bob.id == DialogId(CALL_ID, "b0b", "9fxced76sl")

    ack = wire(invite.create_ack())
    assert bob_store.receive_request(ack) is bob

    reinvite = wire(alice.create_request("INVITE", via=alice_via(), body=SDP, content_type="application/sdp"))
    assert bob_store.receive_request(reinvite) is bob and bob.remote_cseq == 3
    ok2 = bob.send_response(reinvite, reinvite.response(200, headers=contact, body=SDP))
    alice.receive_response(reinvite, ok2)
    assert bob_store.receive_request(wire(alice.create_ack(reinvite, via=alice_via()))) is bob

    bye = wire(bob.create_request("BYE", via=bob_via()))
    assert alice_store.receive_request(bye) is alice
    alice.send_response(bye, bye.response(200))
    alice.terminate()
    bob.terminate()
    assert alice_store.match_request(bye) is None and alice_store.prune() == [alice]
