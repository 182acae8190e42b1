"""The peer connection's configuration and offer options, checked before any browser work.

Pure Python (no ``js``): a bad value raises here, before the microphone is
asked for, with the name of what was wrong.
"""

from __future__ import annotations

from typing import Any

__all__ = ["rtc_configuration", "offer_options", "PC_CONFIG_KEYS", "OFFER_KEYS"]

_ICE_SCHEMES = ("stun", "stuns", "turn", "turns")

#: RTCConfiguration members a ``pc_config`` may set (snake_case accepted too), with their allowed values.
PC_CONFIG_KEYS: dict[str, tuple[str, ...] | None] = {
    "iceServers": None,
    "iceTransportPolicy": ("all", "relay"),
    "bundlePolicy": ("balanced", "max-compat", "max-bundle"),
    "rtcpMuxPolicy": ("require", "negotiate"),
    "iceCandidatePoolSize": None,
    "sdpSemantics": ("unified-plan",),  # what JsSIP applications pass; the only one browsers have now
}
#: ``createOffer`` options an ``offer_constraints`` may set (all booleans).
OFFER_KEYS = ("offerToReceiveAudio", "offerToReceiveVideo", "iceRestart", "voiceActivityDetection")


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _url_server(url: Any) -> dict[str, str]:
    if not isinstance(url, str):
        raise TypeError(f"ICE server URLs are strings, not {type(url).__name__}")
    scheme, colon, rest = url.partition(":")
    if scheme.lower() not in _ICE_SCHEMES or not colon or not rest:
        raise ValueError(f"not a STUN/TURN URL: {url!r} (expected stun:, stuns:, turn: or turns:)")
    if scheme.lower().startswith("turn") and "@" in rest:
        from urllib.parse import (
            unquote,  # here: importing urllib costs ~100 ms of start-up in Pyodide
        )

        userinfo, _, host = rest.rpartition("@")
        username, _, credential = userinfo.partition(":")
        return {"urls": f"{scheme}:{host}", "username": unquote(username), "credential": unquote(credential)}
    return {"urls": url}


def _ice_server(server: Any) -> dict[str, Any]:
    """One RTCIceServer of a pc_config: {"urls": str | [str], "username"?, "credential"?}."""
    if isinstance(server, str):
        return _url_server(server)
    if not isinstance(server, dict) or "urls" not in server:
        raise ValueError(f"pc_config['iceServers'] entries are {{'urls': ..., 'username'?, 'credential'?}}, "
                         f"not {server!r}")
    unknown = sorted(set(server) - {"urls", "username", "credential"})
    if unknown:
        raise ValueError(f"unknown RTCIceServer key(s) {', '.join(map(repr, unknown))} in pc_config['iceServers']")
    urls = server["urls"] if isinstance(server["urls"], list) else [server["urls"]]
    if not urls:
        raise ValueError("pc_config['iceServers'] has an entry without urls")
    for url in urls:
        _url_server(url)
    for key in ("username", "credential"):
        if key in server and not isinstance(server[key], str):
            raise ValueError(f"pc_config['iceServers'] {key} must be a string")
    return dict(server)


def rtc_configuration(ice_servers: list[str], pc_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """``RTCConfiguration`` for ``stun:``/``stuns:``/``turn:``/``turns:`` URLs and a ``pc_config``.

    A TURN URL may carry its credentials as ``turn:user:password@host:port``
    (percent-encoded); they become ``username``/``credential``. The
    ``pc_config``'s ``iceServers`` come after those of the URLs; its other
    members (:data:`PC_CONFIG_KEYS`) are copied.
    """
    config: dict[str, Any] = {"iceServers": [_url_server(url) for url in ice_servers]}
    if pc_config is None:
        return config
    if not isinstance(pc_config, dict):
        raise ValueError(f"pc_config must be a dict of RTCConfiguration members, not {type(pc_config).__name__}")
    for key, value in pc_config.items():
        name = _camel(key) if isinstance(key, str) else key
        if name not in PC_CONFIG_KEYS:
            raise ValueError(f"unknown pc_config key {key!r}; known: {', '.join(PC_CONFIG_KEYS)}")
        allowed = PC_CONFIG_KEYS[name]
        if name == "iceServers":
            if not isinstance(value, list):
                raise ValueError("pc_config['iceServers'] must be a list")
            config["iceServers"] += [_ice_server(server) for server in value]
        elif name == "iceCandidatePoolSize":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 255:
                raise ValueError(f"pc_config[{key!r}] must be an integer from 0 to 255, not {value!r}")
            config[name] = value
        elif allowed is not None and value not in allowed:
            raise ValueError(f"pc_config[{key!r}] must be one of {', '.join(allowed)}, not {value!r}")
        else:
            config[name] = value
    return config


def offer_options(constraints: dict[str, Any] | None) -> dict[str, Any]:
    """The options of ``createOffer`` from ``offer_constraints`` (booleans of :data:`OFFER_KEYS`)."""
    if constraints is None:
        return {}
    if not isinstance(constraints, dict):
        raise ValueError(f"offer_constraints must be a dict, not {type(constraints).__name__}")
    options: dict[str, Any] = {}
    for key, value in constraints.items():
        name = _camel(key) if isinstance(key, str) else key
        if name not in OFFER_KEYS:
            raise ValueError(f"unknown offer_constraints key {key!r}; known: {', '.join(OFFER_KEYS)}")
        if not isinstance(value, bool):
            raise ValueError(f"offer_constraints[{key!r}] must be True or False, not {value!r}")
        options[name] = value
    return options
