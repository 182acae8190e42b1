"""webvoice inside a PyScript worker: register, answer or place a call, report.

Nothing here touches the DOM (a worker has none): webvoice notices it runs in
a worker and drives the page's media agent instead of WebRTC itself. State is
reported on the "webvoice-worker-status" BroadcastChannel as JSON.
"""

import asyncio
import json
import urllib.parse

from js import BroadcastChannel, fetch

import webvoice

channel = BroadcastChannel.new("webvoice-worker-status")


def report(**fields) -> None:
    channel.postMessage(json.dumps(fields))


async def page_url() -> str:
    """The page's URL: a worker's own location is its script's (and resolves no
    relative URL), so the page sends its address when we say hello."""
    received = asyncio.get_running_loop().create_future()
    listener = BroadcastChannel.new("webvoice-worker-params")
    listener.onmessage = lambda event: received.done() or received.set_result(str(event.data))
    for _ in range(50):
        report(event="hello")
        try:
            return await asyncio.wait_for(asyncio.shield(received), 0.2)
        except TimeoutError:
            continue
    return ""


async def main() -> None:
    page = urllib.parse.urlsplit(await page_url())
    params = dict(urllib.parse.parse_qsl(page.query))
    origin = f"{page.scheme}://{page.netloc}"
    config = (await (await fetch(origin + "/demo-config.json")).json()).to_py()
    user = params.get("user", "alice")
    password = next(u["password"] for u in config["users"] if u["login"] == user)
    sip = webvoice.create_sip_instance(sip_login=user, sip_password=password,
                                       ws_url=config["ws_url"], realm=config["realm"])
    sip.on_incoming_call(lambda incoming: (report(event="incoming", caller=incoming.remote_identity.uri),
                                           incoming.call.add_handlers(reporting(lambda: incoming.call)),
                                           incoming.accept()))
    await sip.register()
    report(event="registered", user=user, in_worker=True)
    target = params.get("call")
    if target:
        placed = []
        # The handlers go with the call: a call can fail before sip.call returns
        # (no microphone, no WebRTC), and that must be reported too.
        placed.append(await sip.call(target, reporting(lambda: placed[0])))


def reporting(get_call) -> dict:
    """Handlers reporting a call's progress (``get_call()``: the call, once it exists)."""
    return {
        "confirmed": lambda *_: asyncio.ensure_future(report_stats(get_call())),
        "ended": lambda event: report(event="ended", cause=event.cause),
        "failed": lambda event: report(event="failed", cause=event.cause),
    }


async def report_stats(call) -> None:
    report(event="confirmed", remote=call.get_remote_identity().uri)
    while call.is_established():
        stats = await call.get_stats()
        report(event="stats", inbound=stats["inbound"].get("packets_received", 0),
               outbound=stats["outbound"].get("packets_sent", 0), media=stats["media"]["state"])
        await asyncio.sleep(1)


await main()
