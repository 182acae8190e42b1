"""Where this Python runs: the page's main thread, or a Web Worker.

The direct media backend needs the page's main thread (``RTCPeerConnection``,
``document`` for the ``<audio>`` elements); in a Web Worker (a JupyterLite
kernel, a PyScript ``<script type="py" worker>``) there is neither, and the
bridged backend drives an agent on the page instead.
"""

from __future__ import annotations

import js

__all__ = ["in_worker"]


def in_worker() -> bool:
    """True in a Web Worker (dedicated, shared or service), False on a page.

    ``WorkerGlobalScope`` is defined in every worker and in no window, so it
    decides, even when a framework puts a ``document`` stand-in into the
    worker's globals (PyScript workers offer the page's ``document`` through
    ``pyscript.document``, not as a global, but others may). Without it, a
    global scope that has no ``document`` is a worker too.
    """
    if hasattr(js, "WorkerGlobalScope"):
        return True
    return not hasattr(js, "document")
