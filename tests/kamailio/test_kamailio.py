"""The repo's Kamailio config does everything a browser softphone needs.

Runs a real Kamailio 5.6 (devtools/kamailio/kamailio.cfg) on loopback and
talks raw SIP over WebSocket to it with devtools/sipws.py, the way a
browser does (Contact/Via host ``<random>.invalid``, transport=ws).

Users are chosen per test so tests sharing the session server do not meet;
the ``ua`` factory unregisters and closes its clients after each test.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time

import pytest
from websockets.exceptions import ConnectionClosed

from devtools.kamailio_server import (
    CONFIG_PATH,
    DOMAIN,
    TEST_USERS,
    KamailioServer,
    _group_alive,
    find_binary,
    require_kamailio,
)
from devtools.sipws import (
    Dialog,
    SipUdpClient,
    SipWsClient,
    parse_challenge,
    uri_of,
)

SDP_OFFER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
)
SDP_ANSWER = SDP_OFFER.replace("40000", "40002").replace("o=- 1 1", "o=- 2 2")


@pytest.fixture
def ua(kamailio):
    """Factory: ua("alice") -> connected SipWsClient with the right password.

    ``register=True`` also registers it (asserting 200).  Everything is
    unregistered and closed at teardown.
    """
    clients: list[SipWsClient] = []

    def make(user: str, *, password: str | None = None, register: bool = False,
             domain: str = DOMAIN) -> SipWsClient:
        pw = TEST_USERS.get(user) if password is None else password
        client = SipWsClient(kamailio.ws_url, user, pw, domain)
        clients.append(client)
        if register:
            resp = client.register(600)
            assert resp.status == 200, resp
        return client

    yield make
    for client in clients:
        try:
            if client.ws is not None and client.user in TEST_USERS:
                client.unregister()
        except Exception:
            pass
        client.close()


def invite_with_auth(caller: SipWsClient, callee: str, *, body: str = SDP_OFFER):
    """Send INVITE, expect the 407 challenge, resend with credentials.

    Returns the authorised INVITE as sent.
    """
    invite = caller.request("INVITE", f"sip:{callee}@{DOMAIN}", body=body,
                            content_type="application/sdp")
    caller.send(invite)
    challenge = caller.expect_response(invite)
    assert challenge.status == 407, challenge
    invite = caller.authorize(invite, challenge)
    caller.send(invite)
    return invite


# --- basics ---------------------------------------------------------------------


def test_config_syntax_check():
    require_kamailio()
    binary = find_binary("kamailio")
    res = subprocess.run([binary, "-c", "-f", str(CONFIG_PATH), "-A", "WS_PORT=18080",
                          "-A", "SIP_PORT=15060", "-A", 'CTL_SOCKET="unix:/tmp/x_ctl"'],
                         capture_output=True, text=True, timeout=30, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "config file ok" in res.stdout + res.stderr


def test_users_in_config_match_python():
    text = CONFIG_PATH.read_text()
    in_cfg = dict(re.findall(r'\$sht\(users=>([\w%]+)\)\s*=\s*"([^"]*)";', text))
    assert in_cfg == TEST_USERS


def test_server_properties(kamailio):
    assert kamailio.ws_url == f"ws://127.0.0.1:{kamailio.ws_port}"
    assert kamailio.sip_port != kamailio.ws_port
    assert kamailio.domain == "webvoice.test"
    assert kamailio.users["alice"] == "alice-secret"
    assert kamailio.lookup("heidi") == []
    assert "Listening on" in kamailio.log_text()


def test_options_keepalive_over_ws(ua):
    """OPTIONS to the server itself is answered 200 without auth; CRLF too."""
    c = ua("erin")
    opt = c.request("OPTIONS", f"sip:{DOMAIN}")
    c.send(opt)
    assert c.expect_response(opt).status == 200
    c.ws.send("\r\n\r\n")  # RFC 5626 keep-alive: Kamailio answers CRLF
    assert c.ws.recv(timeout=2) == "\r\n"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_options_keepalive_over_udp_and_tcp(kamailio, transport):
    port = kamailio.sip_port
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.settimeout(3)
        s.bind(("127.0.0.1", 0))
        lport = s.getsockname()[1]
        if transport == "tcp":
            s.connect(("127.0.0.1", port))
        msg = (f"OPTIONS sip:127.0.0.1:{port};transport={transport} SIP/2.0\r\n"
               f"Via: SIP/2.0/{transport.upper()} 127.0.0.1:{lport};branch=z9hG4bKopt{transport}\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\n"
               f"To: <sip:127.0.0.1:{port}>\r\nCall-ID: opt-{transport}@127.0.0.1\r\n"
               "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
        if transport == "udp":
            s.sendto(msg, ("127.0.0.1", port))
        else:
            s.sendall(msg)
        data = s.recv(65535)
    assert data.startswith(b"SIP/2.0 200"), data


# --- registration -----------------------------------------------------------------


def test_register_without_credentials_gets_digest_challenge(ua):
    c = ua("carol")
    resp = c.register(600, auth=False)
    assert resp.status == 401
    ch = parse_challenge(resp.header("WWW-Authenticate"))
    assert ch["realm"] == "webvoice.test"
    assert ch["qop"] == "auth"
    assert ch["nonce"]


def test_register_with_digest_then_lookup(kamailio, ua):
    c = ua("carol")
    resp = c.register(600)
    assert resp.status == 200, resp
    contacts = resp.header_values("Contact")
    assert any(uri_of(v) == c.contact_uri for v in contacts)
    [binding] = kamailio.lookup("carol")
    assert binding["Address"] == c.contact_uri
    assert binding["Received"].startswith("sip:127.0.0.1:")
    assert binding["Received"].endswith(";transport=ws")  # fix_nated_register
    assert 590 <= int(binding["Expires"]) <= 600
    assert kamailio.contacts("carol@127.0.0.1") == [c.contact_uri]  # one domain


def test_register_with_rfc5626_params(kamailio, ua):
    """+sip.instance / reg-id / Supported: outbound are accepted and stored."""
    c = ua("dave")
    instance = "<urn:uuid:0f6f2a4e-6c1c-4c83-9f3e-6f2c7b9d1a11>"
    resp = c.register(300, contact=f'{c.contact};+sip.instance="{instance}";reg-id=1',
                      headers=[("Supported", "path, outbound, gruu")])
    assert resp.status == 200, resp
    [binding] = kamailio.lookup("dave")
    assert binding["Instance"] == instance
    assert binding["Reg-Id"] == "1"


def test_register_honours_expires(kamailio, ua):
    c = ua("erin")
    resp = c.register(37)
    assert resp.status == 200
    assert re.search(r";expires=37\b", resp.header("Contact"))
    assert 30 <= int(kamailio.lookup("erin")[0]["Expires"]) <= 37
    resp = c.register(None)  # no Expires header: registrar default (3600)
    assert re.search(r";expires=3600\b", resp.header("Contact"))


def test_register_wrong_password_is_rechallenged(kamailio, ua):
    """Documented: a wrong password gets 401 again (not 403), without stale=true.

    Kamailio's nonce only changes once a second (it encodes a timestamp), so
    the new challenge may carry the same nonce: a client must treat "401/407
    again after sending credentials, not stale" as a failed login.
    """
    c = ua("frank", password="not-the-password")
    first = c.register(600, auth=False)
    retry = c.authorize(c.request("REGISTER", f"sip:{DOMAIN}", to=c.aor,
                                  call_id=c.reg_call_id, headers=[("Expires", "600")]),
                        first)
    c.send(retry)
    again = c.expect_response(retry)
    assert again.status == 401
    assert parse_challenge(again.header("WWW-Authenticate")).get("stale", "false") != "true"
    assert kamailio.lookup("frank") == []


def test_register_unknown_user_is_refused(kamailio, ua):
    c = ua("mallory", password="whatever")
    assert c.register(600).status == 401
    assert kamailio.lookup("mallory") == []


def test_register_for_someone_else_is_forbidden(kamailio, ua):
    """Auth user must equal the To user: grace cannot register as heidi."""
    c = ua("heidi", password=TEST_USERS["grace"])
    req = c.request("REGISTER", f"sip:{DOMAIN}", to=c.aor, call_id=c.reg_call_id,
                    headers=[("Expires", "600")])
    c.send(req)
    challenge = c.expect_response(req)
    retry = c.authorize(req, challenge, username="grace")
    c.send(retry)
    assert c.expect_response(retry).status == 403
    assert kamailio.lookup("heidi") == []


def test_wrong_password_403_mode():
    """With auth_fail_code=403 (-A AUTH_FAIL_403) wrong credentials get 403."""
    require_kamailio()
    with KamailioServer(auth_fail_code=403) as k:
        with SipWsClient(k.ws_url, "alice", "wrong") as c:
            assert c.register(600).status == 403
        with SipWsClient(k.ws_url, "alice", "alice-secret") as c:
            assert c.register(600).status == 200


def test_unregister_removes_binding(kamailio, ua):
    c = ua("grace", register=True)
    assert kamailio.contacts("grace") == [c.contact_uri]
    resp = c.unregister()
    assert resp.status == 200
    assert resp.header("Contact") is None
    assert kamailio.lookup("grace") == []


def test_unregister_star_removes_all_bindings(kamailio, ua):
    one, two = ua("grace", register=True), ua("grace", register=True)
    assert sorted(kamailio.contacts("grace")) == sorted([one.contact_uri, two.contact_uri])
    assert one.register(0, contact="*").status == 200
    assert kamailio.lookup("grace") == []


def test_closed_websocket_drops_its_binding(kamailio, ua):
    """usrloc handle_lost_tcp: a reloaded page leaves no dead binding."""
    c = ua("heidi", register=True)
    assert kamailio.lookup("heidi")
    c.close()
    deadline = time.monotonic() + 5
    while kamailio.lookup("heidi") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kamailio.lookup("heidi") == []


# --- calls ------------------------------------------------------------------------


def test_call_flow_between_two_websocket_clients(ua):
    """INVITE/407/auth, 180 (reliable) + PRACK, 200, ACK, in-dialog requests
    both ways, re-INVITE, BYE from the callee: all through the Record-Route
    and the WS aliases (this is what the NAT rules are for)."""
    alice = ua("alice", register=True)
    bob = ua("bob", register=True)

    invite = invite_with_auth(alice, "bob")
    assert alice.expect_response(invite, 100, final=False)  # tm's 100 Trying

    b_inv = bob.expect("INVITE")
    assert b_inv.body == SDP_OFFER
    assert b_inv.uri == bob.contact_uri  # lookup() rewrote the R-URI
    assert b_inv.header("Proxy-Authorization") is None  # consumed
    [rr] = b_inv.header_values("Record-Route")
    assert ";lr" in rr and "transport=ws" in rr
    assert ";alias=127.0.0.1~" in b_inv.contact_uri  # add_contact_alias

    tag = bob.new_tag()
    ringing = bob.reply(b_inv, 180, "Ringing", to_tag=tag, contact=True,
                        headers=[("Require", "100rel"), ("RSeq", "1")])
    bob.send(ringing)
    a180 = alice.expect_response(invite, 180)
    assert ";alias=127.0.0.1~" in a180.contact_uri  # reply contact aliased

    # PRACK in the early dialog
    early = Dialog.from_uac(alice, invite, a180)
    prack = early.request("PRACK", headers=[("RAck", f"1 {invite.cseq[0]} INVITE")])
    alice.send(prack)
    b_prack = bob.expect("PRACK")
    assert b_prack.uri == bob.contact_uri  # alias consumed by handle_ruri_alias
    bob.send(bob.reply(b_prack, 200, "OK"))
    assert alice.expect_response(prack).status == 200

    bob.send(bob.reply(b_inv, 200, "OK", to_tag=tag, contact=True,
                       body=SDP_ANSWER, content_type="application/sdp"))
    a200 = alice.expect_response(invite)
    assert a200.status == 200 and a200.body == SDP_ANSWER
    # Kamailio inserts ";alias=127.0.0.1~PORT~5" right after host:port
    assert re.sub(r";alias=127\.0\.0\.1~\d+~5", "", a200.contact_uri) == bob.contact_uri

    dlg_a = Dialog.from_uac(alice, invite, a200)
    dlg_a.local_cseq = prack.cseq[0]
    dlg_b = Dialog.from_uas(bob, b_inv, tag)
    alice.send(dlg_a.request("ACK", cseq=invite.cseq[0]))
    assert bob.expect("ACK").cseq == (invite.cseq[0], "ACK")

    # caller -> callee in-dialog requests
    extra = {
        "INFO": [("Content-Type", "application/dtmf-relay")],
        "REFER": [("Refer-To", f"<sip:carol@{DOMAIN}>")],
        "NOTIFY": [("Event", "refer"), ("Subscription-State", "terminated")],
    }
    for method in ("INFO", "UPDATE", "REFER", "NOTIFY", "MESSAGE"):
        req = dlg_a.request(method, headers=extra.get(method, ()),
                            body="Signal=5\r\nDuration=160\r\n" if method == "INFO" else "")
        alice.send(req)
        got = bob.expect(method)
        assert got.uri == bob.contact_uri and got.call_id == invite.call_id
        bob.send(bob.reply(got, 200, "OK"))
        assert alice.expect_response(req).status == 200

    # re-INVITE from the caller (e.g. hold), 200, ACK
    reinvite = dlg_a.request("INVITE", body=SDP_OFFER.replace("t=0 0", "t=0 0\r\na=sendonly"),
                             content_type="application/sdp")
    alice.send(reinvite)
    b_re = bob.expect("INVITE")
    assert b_re.to_tag == tag and "a=sendonly" in b_re.body
    bob.send(bob.reply(b_re, 200, "OK", contact=True, body=SDP_ANSWER,
                       content_type="application/sdp"))
    assert alice.expect_response(reinvite).status == 200
    alice.send(dlg_a.request("ACK", cseq=reinvite.cseq[0]))
    assert bob.expect("ACK").cseq == (reinvite.cseq[0], "ACK")

    # callee -> caller: INFO, re-INVITE, then BYE
    info = dlg_b.request("INFO", body="Signal=1\r\nDuration=100\r\n",
                         content_type="application/dtmf-relay")
    bob.send(info)
    a_info = alice.expect("INFO")
    assert a_info.uri == alice.contact_uri
    alice.send(alice.reply(a_info, 200, "OK"))
    assert bob.expect_response(info).status == 200

    reinvite_b = dlg_b.request("INVITE", body=SDP_ANSWER, content_type="application/sdp")
    bob.send(reinvite_b)
    a_re = alice.expect("INVITE")
    alice.send(alice.reply(a_re, 200, "OK", contact=True, body=SDP_OFFER,
                           content_type="application/sdp"))
    assert bob.expect_response(reinvite_b).status == 200
    bob.send(dlg_b.request("ACK", cseq=reinvite_b.cseq[0]))
    assert alice.expect("ACK").cseq == (reinvite_b.cseq[0], "ACK")

    bye = dlg_b.request("BYE")
    bob.send(bye)
    a_bye = alice.expect("BYE")
    assert a_bye.uri == alice.contact_uri
    assert (a_bye.from_tag, a_bye.to_tag) == (tag, invite.from_tag)
    alice.send(alice.reply(a_bye, 200, "OK"))
    assert bob.expect_response(bye).status == 200
    alice.no_message()
    bob.no_message()


def test_caller_hangs_up_with_bye(ua):
    alice = ua("alice", register=True)
    bob = ua("bob", register=True)
    invite = invite_with_auth(alice, "bob")
    b_inv = bob.expect("INVITE")
    tag = bob.new_tag()
    bob.send(bob.reply(b_inv, 200, "OK", to_tag=tag, contact=True, body=SDP_ANSWER,
                       content_type="application/sdp"))
    a200 = alice.expect_response(invite)
    dlg_a = Dialog.from_uac(alice, invite, a200)
    alice.send(dlg_a.request("ACK"))
    bob.expect("ACK")
    bye = dlg_a.request("BYE")
    alice.send(bye)
    b_bye = bob.expect("BYE")
    bob.send(bob.reply(b_bye, 200, "OK"))
    assert alice.expect_response(bye).status == 200


def test_call_between_websocket_and_udp_client(kamailio, ua):
    """WS caller, UDP callee (a sipp-like peer): double Record-Route, and the
    callee's BYE finds its way back onto the caller's WebSocket."""
    erin = ua("erin", register=True)
    frank = SipUdpClient(("127.0.0.1", kamailio.sip_port), "frank", TEST_USERS["frank"])
    try:
        assert frank.register(600).status == 200
        assert kamailio.contacts("frank") == [frank.contact_uri]

        invite = invite_with_auth(erin, "frank")
        f_inv = frank.expect("INVITE")
        assert f_inv.uri == frank.contact_uri
        rrs = f_inv.header_values("Record-Route")
        assert len(rrs) == 2 and "transport=ws" in rrs[1]  # WS in, UDP out
        tag = frank.new_tag()
        frank.send(frank.reply(f_inv, 200, "OK", to_tag=tag, contact=True, body=SDP_ANSWER,
                               content_type="application/sdp"))
        a200 = erin.expect_response(invite)
        assert a200.status == 200
        dlg_e = Dialog.from_uac(erin, invite, a200)
        erin.send(dlg_e.request("ACK"))
        frank.expect("ACK")

        dlg_f = Dialog.from_uas(frank, f_inv, tag)
        bye = dlg_f.request("BYE")
        frank.send(bye)
        e_bye = erin.expect("BYE")
        assert e_bye.uri == erin.contact_uri
        erin.send(erin.reply(e_bye, 200, "OK"))
        assert frank.expect_response(bye).status == 200
    finally:
        frank.unregister()
        frank.close()


def test_cancel_unanswered_invite(ua):
    alice = ua("alice", register=True)
    bob = ua("bob", register=True)
    invite = invite_with_auth(alice, "bob")
    b_inv = bob.expect("INVITE")
    tag = bob.new_tag()
    bob.send(bob.reply(b_inv, 180, "Ringing", to_tag=tag, contact=True))
    alice.expect_response(invite, 180)

    cancel = alice.cancel_for(invite)
    alice.send(cancel)
    assert alice.expect_response(cancel).status == 200  # tm answers the CANCEL

    b_cancel = bob.expect("CANCEL")
    assert b_cancel.call_id == invite.call_id
    bob.send(bob.reply(b_cancel, 200, "OK", to_tag=tag))
    bob.send(bob.reply(b_inv, 487, "Request Terminated", to_tag=tag))
    a487 = alice.expect_response(invite)
    assert a487.status == 487
    alice.send(alice.ack_for(invite, a487))
    assert bob.expect("ACK").cseq == (b_inv.cseq[0], "ACK")  # tm's hop-by-hop ACK
    alice.no_message()


def test_preloaded_route_to_the_proxy_is_accepted(kamailio, ua):
    """Browser stacks with an outbound proxy preload Route: <ws server;lr> on
    every initial request and on the ACK of a failure: all handled quietly."""
    alice = ua("alice", register=True)
    bob = ua("bob", register=True)
    route = f"<sip:127.0.0.1:{kamailio.ws_port};transport=ws;lr>"
    invite = alice.request("INVITE", f"sip:bob@{DOMAIN}", headers=[("Route", route)],
                           body=SDP_OFFER, content_type="application/sdp")
    alice.send(invite)
    challenge = alice.expect_response(invite)
    assert challenge.status == 407
    invite = alice.authorize(invite, challenge)  # ACK (with Route) + retry
    alice.send(invite)
    b_inv = bob.expect("INVITE")
    assert b_inv.header("Route") is None
    bob.send(bob.reply(b_inv, 486, "Busy Here", to_tag=bob.new_tag()))
    busy = alice.expect_response(invite)
    assert busy.status == 486
    alice.send(alice.ack_for(invite, busy))
    assert bob.expect("ACK").cseq == (b_inv.cseq[0], "ACK")
    alice.no_message()


def test_invite_needs_proxy_auth_and_checks_password(ua):
    alice = ua("alice", password="wrong-password")
    invite = alice.request("INVITE", f"sip:bob@{DOMAIN}", body=SDP_OFFER,
                           content_type="application/sdp")
    alice.send(invite)
    challenge = alice.expect_response(invite)
    assert challenge.status == 407
    ch = parse_challenge(challenge.header("Proxy-Authenticate"))
    assert ch["realm"] == "webvoice.test" and ch["qop"] == "auth"
    retry = alice.authorize(invite, challenge)
    alice.send(retry)
    assert alice.expect_response(retry).status == 407  # wrong password: re-challenged


def test_invite_to_unregistered_user_gets_480(ua):
    alice = ua("alice")
    invite = invite_with_auth(alice, "dave")
    assert alice.expect_response(invite).status == 480


def test_invite_to_unknown_user_gets_404(ua):
    alice = ua("alice")
    invite = invite_with_auth(alice, "nobody")
    resp = alice.expect_response(invite)
    assert resp.status == 404
    alice.send(alice.ack_for(invite, resp))


def test_relaying_to_foreign_domain_is_forbidden(ua):
    alice = ua("alice")
    msg = alice.request("MESSAGE", "sip:bob@elsewhere.invalid", body="hi",
                        content_type="text/plain")
    alice.send(msg)
    assert alice.expect_response(msg).status == 403


def test_message_out_of_dialog(ua):
    """MESSAGE from a local user: 407 first, then delivered; 200 back."""
    carol = ua("carol", register=True)
    dave = ua("dave", register=True)
    msg = carol.request("MESSAGE", f"sip:dave@{DOMAIN}", body="hello dave",
                        content_type="text/plain")
    carol.send(msg)
    challenge = carol.expect_response(msg)
    assert challenge.status == 407
    msg = carol.authorize(msg, challenge)
    carol.send(msg)
    got = dave.expect("MESSAGE")
    assert got.body == "hello dave"
    dave.send(dave.reply(got, 200, "OK"))
    assert carol.expect_response(msg).status == 200


def test_foreign_caller_reaches_local_user_without_auth(ua):
    """From a foreign domain, only local targets, no challenge (documented)."""
    bob = ua("bob", register=True)
    outsider = ua("visitor", domain="elsewhere.invalid")
    msg = outsider.request("MESSAGE", f"sip:bob@{DOMAIN}", body="hi", content_type="text/plain")
    outsider.send(msg)
    got = bob.expect("MESSAGE")
    bob.send(bob.reply(got, 200, "OK"))
    assert outsider.expect_response(msg).status == 200


def test_loopback_ip_is_accepted_as_the_domain(kamailio, ua):
    """Clients configured with domain 127.0.0.1 are the same users (realm is
    still webvoice.test)."""
    carol = ua("carol", domain="127.0.0.1")
    assert carol.register(600).status == 200
    assert kamailio.contacts("carol") == [carol.contact_uri]
    dave = ua("dave", register=True)
    msg = carol.request("MESSAGE", "sip:dave@127.0.0.1", body="hi", content_type="text/plain")
    carol.send(msg)
    challenge = carol.expect_response(msg)
    assert challenge.status == 407
    assert parse_challenge(challenge.header("Proxy-Authenticate"))["realm"] == "webvoice.test"
    msg = carol.authorize(msg, challenge)
    carol.send(msg)
    got = dave.expect("MESSAGE")
    dave.send(dave.reply(got, 200, "OK"))
    assert carol.expect_response(msg).status == 200


def test_max_forwards_exhausted(ua):
    c = ua("alice")
    msg = c.request("MESSAGE", f"sip:bob@{DOMAIN}", body="x", content_type="text/plain")
    msg.set_header("Max-Forwards", "0")
    c.send(msg)
    assert c.expect_response(msg).status == 483


# --- lifecycle ----------------------------------------------------------------------


def test_kill_and_restart_on_same_url(fresh_kamailio):
    k = fresh_kamailio
    url, pid = k.ws_url, k.pid
    c = SipWsClient(url, "alice", TEST_USERS["alice"])
    assert c.register(600).status == 200
    assert k.lookup("alice")

    k.kill()
    assert not k.running
    with pytest.raises((ConnectionClosed, OSError)):
        c.recv(timeout=2)  # the connection died with the server
    c.close()

    k.restart()
    assert k.running and k.ws_url == url and k.pid != pid
    assert k.lookup("alice") == []  # memory-only location table
    with SipWsClient(k.ws_url, "alice", TEST_USERS["alice"]) as c2:
        assert c2.register(600).status == 200
        assert k.contacts("alice") == [c2.contact_uri]

    k.restart()  # graceful restart while running, same ports again
    assert k.ws_url == url
    with SipWsClient(k.ws_url, "bob", TEST_USERS["bob"]) as c3:
        assert c3.register(600).status == 200


def test_stop_leaves_no_process(fresh_kamailio):
    k = fresh_kamailio
    pgid, port = k.pid, k.ws_port
    k.stop()
    assert not k.running
    assert not _group_alive(pgid)  # no live (non-zombie) process in its group
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
