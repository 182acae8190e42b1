"""The bridged media backend: Python in a Web Worker drives WebRTC on the page.

The media engine (:mod:`webvoice.browser._engine`) on a worker's realm
(:mod:`webvoice.browser._remote`): the same Python media code as on the main
thread, whose browser operations travel to ``agent.js`` on the page. The
page needs the agent, once:

* ``<script type="module" src="…/agent.js?start"></script>`` (or
  ``?channel=<name>`` for a channel other than ``"webvoice-media"``), with
  ``agent.js`` copied from the wheel (``webvoice/browser/agent.js``) to the
  site; or ``import {startAgent} from "…/agent.js"; startAgent({channelName})``;
* or, where the worker can run JavaScript on the page (a notebook's
  ``display(Javascript(...))``), :func:`agent_loader_js`, which starts the
  agent from the source embedded in the wheel (:func:`agent_source`), no URL
  needed.
"""

from __future__ import annotations

import json
import logging

from ._engine import EngineSession
from ._engine_backend import EngineBackend
from ._remote import DEFAULT_CHANNEL, PROTOCOL, RemoteRealm

__all__ = ["DEFAULT_CHANNEL", "PROTOCOL", "BridgedMediaBackend", "BridgedMediaSession", "agent_loader_js",
           "agent_source"]

log = logging.getLogger("webvoice")

#: The media of one line, its WebRTC on the page (the engine's session).
BridgedMediaSession = EngineSession


def agent_source() -> str:
    """The text of ``agent.js`` (an ES module exporting ``startAgent``), from the wheel."""
    from importlib import (
        resources,  # here: not preloaded in Pyodide, and only worker pages need it
    )

    return resources.files(__package__).joinpath("agent.js").read_text(encoding="utf-8")


def agent_loader_js(channel_name: str = DEFAULT_CHANNEL) -> str:
    """A classic-script snippet that starts the agent on the page that runs it.

    It imports :func:`agent_source` from a ``blob:`` URL, so it needs no file on
    the site (a page whose Content-Security-Policy forbids ``blob:`` scripts
    must serve ``agent.js`` instead). For a notebook::

        from IPython.display import Javascript, display
        display(Javascript(agent_loader_js()))
    """
    # "<\/" keeps the snippet whole inside an HTML <script> element too.
    source = json.dumps(agent_source()).replace("</", "<\\/")
    channel = json.dumps(channel_name).replace("</", "<\\/")
    return ("(() => { const url = URL.createObjectURL(new Blob([" + source + "], {type: 'text/javascript'}));\n"
            "  return import(url).then((m) => { URL.revokeObjectURL(url);\n"
            "    return (globalThis.webvoiceAgent = m.startAgent({channelName: " + channel + "})).id; }); })()")


class BridgedMediaBackend(EngineBackend):
    """:class:`~webvoice._media.MediaBackend` for Python in a Web Worker (see the module doc).

    ``timeout``: seconds to wait for an agent's answer to "hello" before
    :class:`~webvoice._media.NotSupportedError`. ``op_timeout``: seconds any
    other exchange may take (not those that may show a permission prompt:
    getting the microphone, listing devices). The agent is found on first
    use, or by ``await backend.connect()``. Line ids are this backend's (two
    workers may both open line "a").
    """

    def __init__(self, channel_name: str = DEFAULT_CHANNEL, timeout: float = 3.0, op_timeout: float = 20.0) -> None:
        self._remote = RemoteRealm(channel_name, timeout, op_timeout, on_gone=self._gone)
        super().__init__(self._remote, {})

    def _gone(self, reason: str) -> None:
        log.warning("webvoice: the media agent's page went away; %d line(s) lost their media",
                    len([s for s in self._sessions if not s.closed]))
        self._lost(reason)

    @property
    def channel_name(self) -> str:
        return self._remote.channel_name

    @property
    def timeout(self) -> float:
        return self._remote.timeout

    @property
    def op_timeout(self) -> float:
        return self._remote.op_timeout

    @property
    def bridge_id(self) -> str:
        """This backend's id on the channel (marks its ``<audio>`` elements on the page)."""
        return self._remote.id

    @property
    def agent_id(self) -> str | None:
        """The id of the agent this backend is attached to (None before ``connect``)."""
        return self._remote.agent_id

    @property
    def messages(self) -> tuple[int, int]:
        """Messages (sent, received) across the worker boundary so far (for the bench)."""
        return self._remote.messages_sent, self._remote.messages_received

    async def connect(self) -> str:
        """Find an agent and attach to it (once); returns its id."""
        return await self._remote.connect()

    def close(self) -> None:
        """Close every session (on the page too), detach from the agent, release the channel."""
        if self._remote.closed:
            return
        super().close()
        self._remote.close()

    @property
    def closed(self) -> bool:
        return self._remote.closed

    @property
    def live_proxies(self) -> int:
        """Proxies this backend holds (0 once closed; for leak tests)."""
        return self._remote.own_proxies + super().live_proxies
