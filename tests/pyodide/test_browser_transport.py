"""The browser glue inside Pyodide in Chromium: WebSocket framing, proxy release,
and dispatch of events into plain and ``async def`` Python callbacks.

The peer is a WebSocket echo server in the test process (loopback, subprotocol
``sip``): whatever the page sends comes back as a frame of the same kind, so
the page can make the "server" send it anything, garbage included.
"""

from __future__ import annotations

import threading

import pytest
from pytest_pyodide import run_in_pyodide
from websockets.sync.server import serve


@pytest.fixture(scope="module")
def echo_server():
    received: list[bytes | str] = []

    def handler(ws):
        for frame in ws:
            received.append(frame)
            if frame == "CLOSE-ME":
                ws.close(4000, "asked to")
                return
            ws.send(frame)

    server = serve(handler, "127.0.0.1", 0, subprotocols=["sip"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.socket.getsockname()[1]
    yield f"ws://127.0.0.1:{port}", received
    server.shutdown()
    thread.join(5)


@run_in_pyodide(packages=["webvoice"])
async def _framing(selenium, url):
    import asyncio

    from webvoice.browser import WebSocketTransport

    class Callbacks:
        def __init__(self):
            self.opened = asyncio.Event()
            self.closed = asyncio.Event()
            self.frames = []
            self.close_code = None

        def on_open(self):
            self.opened.set()

        def on_data(self, data):
            self.frames.append(data)

        def on_close(self, code, reason):
            self.close_code = code
            self.closed.set()

    cb = Callbacks()
    transport = WebSocketTransport(url, cb)
    assert transport.via_transport == "WS"
    transport.open()
    assert transport.live_proxies == 4
    await asyncio.wait_for(cb.opened.wait(), 5)
    sip = b"OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/WS h.invalid;branch=z9hG4bK1\r\n\r\n"
    utf8 = "MESSAGE sip:x@y SIP/2.0\r\nSubject: Привет\r\n\r\n".encode()
    binary = b"\xff\xfe\x00not utf-8"
    for payload in (sip, utf8, binary):
        transport.send(payload)
    for _ in range(100):
        if len(cb.frames) == 3:
            break
        await asyncio.sleep(0.02)
    assert cb.frames == [sip, utf8, binary]
    assert all(isinstance(f, bytes) for f in cb.frames)
    transport.close()
    await asyncio.wait_for(cb.closed.wait(), 5)
    assert cb.close_code == 1000
    assert transport.live_proxies == 0
    try:
        transport.send(b"x")
    except ConnectionError:
        pass
    else:
        raise AssertionError("send after close must raise ConnectionError")
    return True


def test_framing_text_binary_and_close(selenium, echo_server):
    url, received = echo_server
    assert _framing(selenium, url) is True
    # one message per frame: text frames for UTF-8, a binary frame otherwise
    assert isinstance(received[-1], bytes) and isinstance(received[-2], str) and isinstance(received[-3], str)


@run_in_pyodide(packages=["webvoice"])
async def _proxy_release(selenium, url):
    import asyncio

    from webvoice.browser import WebSocketTransport

    class Callbacks:
        def __init__(self):
            self.done = asyncio.Event()

        def on_open(self):
            pass

        def on_data(self, data):
            pass

        def on_close(self, code, reason):
            self.done.set()

    transports = []
    for _ in range(20):
        cb = Callbacks()
        transport = WebSocketTransport(url, cb)
        transport.open()
        transports.append((transport, cb))
    await asyncio.sleep(0.3)
    for transport, _ in transports:
        transport.close()
    for _, cb in transports:
        await asyncio.wait_for(cb.done.wait(), 5)
    # a server-side close and a refused connection release theirs too
    cb = Callbacks()
    t = WebSocketTransport(url, cb)
    t.open()
    for _ in range(100):  # until open (a condition, bounded at 5 s)
        if t.is_open:
            break
        await asyncio.sleep(0.05)
    t.send(b"CLOSE-ME")
    await asyncio.wait_for(cb.done.wait(), 5)
    refused_cb = Callbacks()
    refused = WebSocketTransport("ws://127.0.0.1:9", refused_cb)
    refused.open()
    await asyncio.wait_for(refused_cb.done.wait(), 5)
    return [tr.live_proxies for tr, _ in transports] + [t.live_proxies, refused.live_proxies]


def test_proxies_are_released(selenium, echo_server):
    url, _ = echo_server
    assert _proxy_release(selenium, url) == [0] * 22


@run_in_pyodide(packages=["webvoice"])
async def _instance_dispatch(selenium, url):
    import asyncio

    import webvoice

    sip = webvoice.create_sip_instance(sip_login="alice", sip_password="x", realm="webvoice.test", ws_url=url)
    seen = []
    async_done = asyncio.Event()

    def on_connecting():
        seen.append("connecting (plain)")

    async def on_connected():
        await asyncio.sleep(0)
        seen.append("connected (async)")
        async_done.set()

    def on_disconnected(event):
        seen.append(f"disconnected {event.cause}")

    sip.on_connection_event({"connecting": on_connecting, "connected": on_connected,
                             "disconnected": on_disconnected})
    await sip.connect()
    await asyncio.wait_for(async_done.wait(), 5)
    transport = sip._transport
    # The echo server sends back what we send: garbage, then a SIP request.
    transport.send(b"\x00garbage that is not SIP\r\n\r\n")
    transport.send(b"OPTIONS sip:alice@webvoice.test SIP/2.0\r\nVia: SIP/2.0/WS srv.invalid;branch=z9hG4bKecho1\r\n"
                   b"From: <sip:srv@webvoice.test>;tag=s1\r\nTo: <sip:alice@webvoice.test>\r\nCall-ID: echo-1\r\n"
                   b"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    await asyncio.sleep(0.5)
    still_connected = sip.is_connected()
    await sip.close()
    await asyncio.sleep(0.2)
    return {"seen": seen, "connected_after_garbage": still_connected}


def test_instance_dispatches_into_plain_and_async_callbacks(selenium, echo_server):
    url, received = echo_server
    before = len(received)
    outcome = _instance_dispatch(selenium, url)
    assert outcome["seen"][:2] == ["connecting (plain)", "connected (async)"]
    assert outcome["seen"][-1] == "disconnected Terminated"
    assert outcome["connected_after_garbage"] is True
    # the OPTIONS that came back from the "server" was answered 200
    answers = [f for f in received[before:] if isinstance(f, str) and f.startswith("SIP/2.0 200 OK")]
    assert answers and "CSeq: 1 OPTIONS" in answers[0]


@run_in_pyodide(packages=["webvoice"])
async def _page_hide(selenium, url):
    import asyncio

    import js

    from webvoice.browser import WebSocketTransport

    class Callbacks:
        def __init__(self):
            self.opened, self.closed, self.hidden = asyncio.Event(), asyncio.Event(), 0

        def on_open(self):
            self.opened.set()

        def on_data(self, data):
            pass

        def on_close(self, code, reason):
            self.closed.set()

        def on_page_hide(self):
            self.hidden += 1

    cb = Callbacks()
    transport = WebSocketTransport(url, cb)
    transport.open()
    assert transport.live_proxies == 5  # the socket's four, and the page's pagehide
    await asyncio.wait_for(cb.opened.wait(), 5)
    js.window.dispatchEvent(js.Event.new("pagehide"))
    assert cb.hidden == 1  # told at once, in the event's handler
    transport.close()
    await asyncio.wait_for(cb.closed.wait(), 5)
    assert transport.live_proxies == 0
    js.window.dispatchEvent(js.Event.new("pagehide"))
    assert cb.hidden == 1  # not after the socket closed: the listener went with it
    return True


def test_the_page_going_away_is_told_while_the_socket_is_open(selenium, echo_server):
    url, _ = echo_server
    assert _page_hide(selenium, url) is True
