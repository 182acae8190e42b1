"""The SIP server's WebSocket opened while Pyodide boots (webvoice/browser/preconnect.mjs).

A page opens the socket at its start (``preconnectSip``, or bootWebvoice's
``preconnect`` option); webvoice's transport takes it on its first connection
to the same URL instead of opening its own, and is told what the socket
reported meanwhile, in order. Every WebSocket the page makes is counted (an
init script wraps the constructor), so "one socket" is seen, not assumed.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest

from devtools.browser import boot_webvoice
from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from devtools.ws_standin import WsStandIn

FAST_BOOT = "/test-pages/fast-boot.html"

# Every WebSocket the page constructs, in order (webvoice's and preconnect.mjs's alike).
COUNT_SOCKETS = """
window.__sockets = [];
window.__closes = [];
const PageWebSocket = window.WebSocket;
window.WebSocket = class extends PageWebSocket {
  constructor(...args) {
    super(...args);
    window.__sockets.push(this);
    this.addEventListener("close", (e) => window.__closes.push([this.url, e.code, e.reason]));
  }
};
"""

SETUP = """
import json, webvoice
events = []
def make(account):
    global sip
    sip = webvoice.create_sip_instance(**account)
    sip.on_connection_event({name: (lambda name: lambda event=None: events.append(name))(name)
                             for name in ("connecting", "connected", "disconnected", "registered")})
"""


def boot(page, static_server, preconnect: str | None) -> None:
    page.add_init_script(COUNT_SOCKETS)
    query = f"?snapshot=&preconnect={urllib.parse.quote(preconnect)}" if preconnect else "?snapshot="
    boot_webvoice(page, static_server, path=FAST_BOOT + query)
    py(page, SETUP)


def account(server, user: str, ws_url: str | None = None) -> str:
    return json.dumps({"sip_login": user, "sip_password": server.users[user],
                       "ws_url": ws_url or server.ws_url, "realm": server.domain})


def sockets(page) -> list[list]:
    return page.evaluate("window.__sockets.map((s) => [s.url, s.readyState])")


def test_webvoice_registers_on_the_socket_the_page_opened_ahead(page, static_server, kamailio):
    boot(page, static_server, kamailio.ws_url)
    # Open before webvoice connects: its open event is one webvoice did not
    # see, and must be told of, or register() would wait for ever.
    page.wait_for_function("window.__sockets.length === 1 && window.__sockets[0].readyState === 1", timeout=10_000)
    # The same server spelled with a trailing slash: the browser's spelling is what counts.
    result = py(page, f"""
make(json.loads({account(kamailio, "alice", kamailio.ws_url + "/")!r}))
await sip.register()
json.dumps([sip.is_registered(), events])
""")
    registered, events = json.loads(result)
    assert registered and events == ["connecting", "connected", "registered"], events
    [[url, state]] = sockets(page)
    assert state == 1 and url.startswith(kamailio.ws_url), sockets(page)
    py(page, "await sip.unregister()\nawait sip.close()")


def test_a_preconnection_closed_before_webvoice_connects_is_replaced(page, static_server, kamailio):
    boot(page, static_server, kamailio.ws_url)
    page.wait_for_function("window.__sockets.length === 1 && window.__sockets[0].readyState === 1", timeout=10_000)
    page.evaluate("window.__sockets[0].close(4000, 'gone before use')")
    page.wait_for_function("window.__sockets[0].readyState === 3", timeout=10_000)
    result = py(page, f"""
make(json.loads({account(kamailio, "alice")!r}))
await sip.register()
json.dumps(sip.is_registered())
""")
    assert json.loads(result)
    assert [state for _, state in sockets(page)] == [3, 1]  # its own, new socket
    py(page, "await sip.unregister()\nawait sip.close()")


def test_a_preconnection_nobody_takes_is_closed_and_another_url_gets_its_own(page, static_server, kamailio):
    boot(page, static_server, None)
    # The same server with a query is another URL to the browser: not taken.
    other = kamailio.ws_url + "/?ahead"
    page.evaluate("""async (url) => {
        const { preconnectSip } = await import("/webvoice/preconnect.mjs");
        preconnectSip(url, { unusedAfterMs: 1500 });
    }""", other)
    result = py(page, f"""
make(json.loads({account(kamailio, "alice")!r}))
await sip.register()
json.dumps(sip.is_registered())
""")
    assert json.loads(result)
    page.wait_for_function("window.__closes.length === 1", timeout=10_000)
    # Closed by preconnect.mjs once unused for 1.5 s (code 1000; the reason the
    # page sees is the server's answer to the close, Kamailio's own words).
    [[url, code, _]] = page.evaluate("window.__closes")
    assert (url, code) == (other, 1000)
    assert [state for _, state in sockets(page)] == [3, 1]
    py(page, "await sip.unregister()\nawait sip.close()")


class EagerServer(WsStandIn):
    """Sends an OPTIONS as soon as a WebSocket is accepted (before the page has
    said anything), then answers REGISTER with 200 OK; records what came in."""

    OPTIONS = ("OPTIONS sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bKeager\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:alice@127.0.0.1>\r\n"
               "Call-ID: eager-options\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")

    def __init__(self) -> None:
        self.received: list[str] = []
        super().__init__()

    def handle(self, ws) -> None:
        ws.send(self.OPTIONS)
        for data in self.frames(ws):
            self.received.append(data.split(b"\r\n", 1)[0].decode())
            if data.startswith(b"REGISTER "):
                ws.send(self.register_ok(data))


@pytest.fixture
def eager_server():
    server = EagerServer()
    yield server
    server.close()


def test_what_the_socket_received_before_webvoice_took_it_is_handled_in_order(page, static_server, eager_server):
    boot(page, static_server, eager_server.url)
    # The server's OPTIONS has reached the socket before webvoice takes it.
    page.wait_for_function("window.__sockets.length === 1 && window.__sockets[0].readyState === 1", timeout=10_000)
    page.wait_for_timeout(300)
    result = py(page, f"""
sip = webvoice.create_sip_instance(sip_login="alice", sip_password="pw", ws_url={eager_server.url!r},
                                   realm="127.0.0.1")
await sip.register()
json.dumps(sip.is_registered())
""")
    assert json.loads(result)
    # The OPTIONS was answered (it came with the replayed events), then the REGISTER went out.
    assert eager_server.received[:2] == ["SIP/2.0 200 OK", "REGISTER sip:127.0.0.1 SIP/2.0"], eager_server.received
    assert not eager_server.errors
    assert len(sockets(page)) == 1
    py(page, "await sip.close()")


def test_a_url_the_browser_refuses_fails_the_boot_at_once_and_says_which(page, static_server):
    page.goto(static_server.url(FAST_BOOT))
    page.wait_for_function("window.bootReady === true")
    message = page.evaluate("""async () => {
        const { bootWebvoice } = await import("/webvoice/boot.mjs");
        try {
            await bootWebvoice({ wheelURL: "/wheels/none.whl", preconnect: "sip:alice@example.org" });
            return "booted";
        } catch (error) {
            return String(error.message);
        }
    }""")
    assert message.startswith('webvoice: cannot preconnect to "sip:alice@example.org": '), message
