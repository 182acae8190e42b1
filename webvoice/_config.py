"""The keywords of ``create_sip_instance``, checked before anything is sent.

Every argument is validated here, once, so a bad value fails at once with a
message naming the argument, and the rest of the SDK can trust its settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any

from ._handlers import check_handlers
from ._refer_policy import REFER_POLICIES
from ._targets import escape_user
from .browser._rtc_config import (
    OFFER_KEYS,
    PC_CONFIG_KEYS,
    offer_options,
    rtc_configuration,
)
from .sip import CONTROL_CHARS, Headers, ReconnectPolicy, SipUri, TimerConfig, compile_regex, record

__all__ = ["InstanceSettings", "make_settings", "check_extra_headers", "UA_CONFIG_KEYS", "CALL_OPTION_KEYS",
           "LINE_EVENT_KEYS"]

#: ua_config keys webvoice understands, with what each must be.
UA_CONFIG_KEYS: dict[str, str] = {
    "register_expires": "seconds a registration lasts (int, default 600)",
    "register": "register by itself whenever the instance connects, as JsSIP's UA.start() does (bool, default False)",
    "display_name": "the display name in From (str)",
    "authorization_user": "the user name for digest authentication, if not the login (str)",
    "user_agent": "the User-Agent header (str)",
    "session_timers": "use RFC 4028 session timers when the peer asks (bool, default True)",
    "use_preloaded_route": "only False (the default): webvoice follows the server's Record-Route, no preloaded Route",
    "no_answer_timeout": "seconds an incoming call may ring unanswered (int, default 60)",
    "keep_alive_interval": "seconds between CRLF keep-alives, 0 for none (number, default 30)",
    "connection_recovery_min_interval": "first reconnect delay in seconds (number, default 1)",
    "connection_recovery_max_interval": "longest reconnect delay in seconds (number, default 30)",
    "connection_recovery_max_per_minute": "most reconnect attempts in any minute (int, default 6)",
    "t1": "RFC 3261 T1 in seconds (number, default 0.5)",
    "instance_id": "the RFC 5626 instance UUID (str; default: new per instance)",
    "refer_policy": "which received transfers are followed without the application's accept(): "
                    "'ask' (none, the default), 'same-domain' (SIP users of our domain, never numbers), 'never'",
    "ringback": "play a local ringback tone while an outgoing call rings without early media (bool, default True)",
    "media_timeout": "seconds media may take to connect after the answer before media_failed, 0 for no "
                     "watchdog (number, default 10)",
    "media_stall_timeout": "seconds connected media may receive nothing (no RTP, RTCP or ICE consent answer) "
                           "before media_interrupted with cause 'RTP', 0 to trust the browser alone "
                           "(number, default 8)",
    "ice_restart_attempts": "ICE restarts (re-INVITE with new ICE credentials) tried when an established call's "
                            "media is interrupted, 0 for none (int, default 5)",
    "quality_warnings": "raise warning/warning_cleared call events (high-rtt, high-jitter, high-packet-loss, "
                        "low-mos, constant-audio-input-level): True, or a dict of thresholds by warning name "
                        "and 'constant-audio-input-seconds' (default False)",
    "media_failure_ends_call": "end the call (BYE, cause 'WebRTC Error') when media_failed fires (bool, default True)",
    "publish_dialogs": "PUBLISH our calls' states (dialog-info+xml, RFC 4235) for busy lamps, for servers that do "
                       "not derive them from the calls they proxy (bool, default False)",
}
#: call_options keys webvoice understands, with what each must be. The JS SDK's
#: spellings are accepted too (_CALL_OPTION_ALIASES) and stored under these names.
CALL_OPTION_KEYS: dict[str, str] = {
    "extra_headers": "headers added to every INVITE, ['X-Name: value', ...]",
    "media_constraints": "getUserMedia constraints: {'audio': True | {...}} (audio only; 'video' may only be False)",
    "pc_config": "RTCPeerConnection configuration: {'iceTransportPolicy': 'relay', ...} (dict)",
    "offer_constraints": "createOffer options: {'iceRestart': True, ...} (dict)",
    "session_timers_expires": "the Session-Expires our INVITEs ask for, seconds (int, 90..86400)",
}
_CALL_OPTION_ALIASES = {
    "extraHeaders": "extra_headers",
    "mediaConstraints": "media_constraints",
    "pcConfig": "pc_config",
    "rtcOfferConstraints": "offer_constraints",
    "rtc_offer_constraints": "offer_constraints",
    "sessionTimersExpires": "session_timers_expires",
}
#: RTCConfiguration members (W3C webrtc-pc 4.2.1), and RTCOfferOptions ones (4.2.5,
#: with the legacy offerToReceive* that JsSIP applications still pass): the media
#: engine's lists, whose checks of the values run here too.
_PC_CONFIG_KEYS = tuple(PC_CONFIG_KEYS)
_OFFER_KEYS = OFFER_KEYS
#: The RFC 4028 floor (Min-SE 90 s) and a day.
SESSION_EXPIRES_RANGE = (90, 86400)
LINE_EVENT_KEYS = ("on_line_added", "on_line_removed", "on_line_changed", "on_active_line_changed")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
_UUID = compile_regex(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@record
class InstanceSettings:
    user: str
    password: str = field(repr=False)
    domain: str
    ws_url: str
    ssl: bool
    max_lines: int | None
    debug: bool
    stun_servers: tuple[str, ...]
    ua: Mapping[str, Any]
    #: Normalized: the keys of CALL_OPTION_KEYS only (snake_case), values checked.
    call_options: Mapping[str, Any]
    line_events: Mapping[str, Callable[..., Any]]

    @property
    def timers(self) -> TimerConfig:
        t1 = self.ua.get("t1")
        return TimerConfig(t1=t1) if t1 is not None else TimerConfig()

    @property
    def reconnect(self) -> ReconnectPolicy:
        ua = self.ua
        return ReconnectPolicy(
            min_delay=ua.get("connection_recovery_min_interval", 1.0),
            max_delay=ua.get("connection_recovery_max_interval", 30.0),
            max_per_minute=ua.get("connection_recovery_max_per_minute", 6),
        )


_RESERVED_HEADERS = frozenset(("via", "from", "to", "call-id", "cseq", "contact", "content-length",
                               "content-type", "max-forwards", "route", "record-route", "v", "f", "t",
                               "i", "m", "l", "c"))


def check_extra_headers(headers: Any) -> tuple[tuple[str, str], ...]:
    """JsSIP-style ``["X-Name: value", ...]`` (or (name, value) pairs), checked now:
    a control character, a bad name or a header the stack owns raises ValueError."""
    if headers is None:
        return ()
    if isinstance(headers, str) or not all(isinstance(h, (str, tuple, list)) for h in headers):
        raise TypeError("extra_headers is a list of 'Name: value' strings")
    out = []
    for item in headers:
        if isinstance(item, str):
            name, colon, value = item.partition(":")
            if not colon:
                raise ValueError(f"extra header {item!r} is not 'Name: value'")
        else:
            name, value = item
        name, value = name.strip(), value.strip()
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"extra header {name!r} is set by the SIP stack itself")
        Headers.build([(name, value)])  # raises ValueError for CR, LF, controls, bad names
        out.append((name, value))
    return tuple(out)


def _text(name: str, value: Any, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value and not empty_ok:
        raise ValueError(f"{name} must not be empty")
    if CONTROL_CHARS.search(value):
        raise ValueError(f"{name} contains a control character (CR, LF or similar)")
    return value


def _number(name: str, value: Any, *, integer: bool = False, minimum: float = 0.0) -> float:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {kind} >= {minimum:g}, not {value!r}")
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _plain(name: str, value: Any) -> Any:
    """``value`` if it is plain data (what crosses postMessage to the page's media)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(f"{name}[{i}]", item) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{name} has a key that is not a str")
        return {k: _plain(f"{name}[{k!r}]", v) for k, v in value.items()}
    raise TypeError(f"{name} must be plain data (dict, list, str, number, bool), not {type(value).__name__}")


def _browser_dict(name: str, value: Any, known: tuple[str, ...]) -> dict[str, Any]:
    """A dict of a browser API's members (camelCase, or their snake_case forms),
    unknown members refused by name."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict, not {type(value).__name__}")
    out: dict[str, Any] = {}
    for key, item in value.items():
        member = _camel(key) if isinstance(key, str) else key
        if member not in known:
            raise ValueError(f"unknown key {key!r} in {name}; known: {', '.join(known)}")
        if member in out:
            raise ValueError(f"{name} gives {member!r} twice")
        out[member] = _plain(f"{name}[{key!r}]", item)
    return out


def _check_call_options(call_options: Mapping[str, Any] | None, ua: Mapping[str, Any]) -> dict[str, Any]:
    """``call_options`` with JS spellings mapped to CALL_OPTION_KEYS, each value checked."""
    if call_options is None:
        return {}
    if not isinstance(call_options, Mapping):
        raise TypeError(f"call_options must be a dict, not {type(call_options).__name__}")
    out: dict[str, Any] = {}
    for key, value in call_options.items():
        name = _CALL_OPTION_ALIASES.get(key, key)
        if name not in CALL_OPTION_KEYS:
            known = ", ".join(CALL_OPTION_KEYS)
            raise ValueError(f"unknown call_options key {key!r}; known: {known} (or their JS SDK spellings)")
        if name in out:
            raise ValueError(f"call_options gives {name!r} twice (as {key!r} and another spelling)")
        where = f"call_options[{key!r}]"
        if name == "extra_headers":
            check_extra_headers(value)
        elif name == "media_constraints":
            value = _media_constraints(where, value)
        elif name == "pc_config":
            value = _browser_dict(where, value, _PC_CONFIG_KEYS)
            rtc_configuration([], value)  # the values, as the media engine will take them
        elif name == "offer_constraints":
            value = _browser_dict(where, value, _OFFER_KEYS)
            offer_options(value)
        elif name == "session_timers_expires":
            low, high = SESSION_EXPIRES_RANGE
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{where} must be an integer number of seconds in {low}..{high} "
                                 f"(RFC 4028's floor is 90), not {value!r}")
            if not ua.get("session_timers", True):
                raise ValueError(f"{where} needs session timers, which ua_config['session_timers'] turns off")
        out[name] = value
    return out


def _media_constraints(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{where} must be a dict such as {{'audio': True}}")
    for key in value:
        if key not in ("audio", "video"):
            raise ValueError(f"unknown key {key!r} in {where}; known: audio, video")
    if value.get("video", False) is not False:
        raise ValueError(f"{where}['video'] can only be False: webvoice carries audio only")
    audio = value.get("audio", True)
    if audio is not True and not isinstance(audio, Mapping):
        raise ValueError(f"{where}['audio'] must be True or a dict of audio constraints, not {audio!r}")
    return {"audio": True if audio is True else _plain(f"{where}['audio']", audio)}


def _check_ua_config(ua_config: Mapping[str, Any] | None) -> dict[str, Any]:
    if ua_config is None:
        return {}
    if not isinstance(ua_config, Mapping):
        raise TypeError(f"ua_config must be a dict, not {type(ua_config).__name__}")
    unknown = sorted(set(ua_config) - set(UA_CONFIG_KEYS))
    if unknown:
        raise ValueError(f"unknown ua_config key(s) {', '.join(map(repr, unknown))}; known: {', '.join(UA_CONFIG_KEYS)}")
    out = dict(ua_config)
    for key in ("register", "session_timers", "use_preloaded_route", "ringback", "media_failure_ends_call",
                "publish_dialogs"):
        if key in out and not isinstance(out[key], bool):
            raise TypeError(f"ua_config[{key!r}] must be a bool")
    if out.get("use_preloaded_route"):
        raise ValueError("ua_config['use_preloaded_route']=True is not supported: webvoice sends no preloaded "
                         "Route and follows the server's Record-Route (leave it out or False)")
    for key in ("display_name", "authorization_user", "user_agent"):
        if key in out:
            _text(f"ua_config[{key!r}]", out[key])
    if "register_expires" in out:
        _number("ua_config['register_expires']", out["register_expires"], integer=True, minimum=1)
    if "quality_warnings" in out:
        option = out["quality_warnings"]
        if not isinstance(option, (bool, Mapping)):
            raise TypeError("ua_config['quality_warnings'] must be a bool or a dict of thresholds")
        if isinstance(option, Mapping):
            from ._quality import QualityMonitor
            for name, value in option.items():
                _number(f"ua_config['quality_warnings'][{name!r}]", value)
            QualityMonitor(dict(option))  # unknown names raise here
            out["quality_warnings"] = dict(option)
    if "ice_restart_attempts" in out:
        _number("ua_config['ice_restart_attempts']", out["ice_restart_attempts"], integer=True)
    if "media_timeout" in out:
        _number("ua_config['media_timeout']", out["media_timeout"])
    if "media_stall_timeout" in out:
        _number("ua_config['media_stall_timeout']", out["media_stall_timeout"])
    if "no_answer_timeout" in out:
        _number("ua_config['no_answer_timeout']", out["no_answer_timeout"], integer=True, minimum=1)
    if "connection_recovery_max_per_minute" in out:
        _number("ua_config['connection_recovery_max_per_minute']", out["connection_recovery_max_per_minute"], integer=True, minimum=1)
    for key in ("keep_alive_interval", "connection_recovery_min_interval", "connection_recovery_max_interval", "t1"):
        if key in out:
            _number(f"ua_config[{key!r}]", out[key], minimum=0 if key == "keep_alive_interval" else 0.001)
    if "refer_policy" in out and out["refer_policy"] not in REFER_POLICIES:
        raise ValueError(f"ua_config['refer_policy'] must be one of {', '.join(map(repr, REFER_POLICIES))}, "
                         f"not {out['refer_policy']!r}")
    if "instance_id" in out and not (isinstance(out["instance_id"], str) and _UUID.fullmatch(out["instance_id"])):
        raise ValueError("ua_config['instance_id'] must be a UUID string")
    ReconnectPolicy(
        min_delay=out.get("connection_recovery_min_interval", 1.0),
        max_delay=out.get("connection_recovery_max_interval", 30.0),
        max_per_minute=out.get("connection_recovery_max_per_minute", 6),
    )
    return out


def _ws_url_scheme_host(url: str) -> tuple[str, str]:
    """(scheme, host) of a URL, lower-case; the host without brackets or port.

    What ``urllib.parse.urlsplit`` would give for ``.scheme``/``.hostname``;
    not urllib itself because, not preloaded in Pyodide, importing it costs
    ~100 ms of every page's start-up.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", ""
    authority = rest
    for end in "/?#":
        authority = authority.partition(end)[0]
    authority = authority.rpartition("@")[2]
    if authority.startswith("["):
        host, bracket, _ = authority[1:].partition("]")
        return scheme.lower(), host.lower() if bracket else ""
    return scheme.lower(), authority.partition(":")[0].lower()

def make_settings(
    *,
    sip_login: str,
    sip_password: str,
    ws_url: str | None = None,
    realm: str | None = None,
    ssl: bool = False,
    max_lines: int | None = None,
    debug: bool = False,
    stun_servers: list[str] | None = None,
    ua_config: Mapping[str, Any] | None = None,
    call_options: Mapping[str, Any] | None = None,
    line_events: Mapping[str, Callable[..., Any]] | None = None,
) -> InstanceSettings:
    """Check every keyword of ``create_sip_instance`` and derive what is implied.

    ``sip_login`` may be ``user`` or ``user@domain``; the domain is ``realm``,
    else the login's domain, else the ``ws_url`` host. Without ``ws_url`` the
    server is ``wss://<realm>`` (``ws://`` when ``ssl`` is False): webvoice has
    no vendor server of its own to fall back on.
    """
    user = _text("sip_login", sip_login)
    login_domain = None
    if "@" in user:
        user, _, login_domain = user.rpartition("@")
    # A login is typed like a target: "iñaki" is the user part "i%C3%B1aki" (RFC 3261
    # 25.1), which is also the digest user name unless authorization_user says otherwise.
    user = escape_user(user) if user else user
    password = _text("sip_password", sip_password, empty_ok=True)
    if not isinstance(ssl, bool):
        raise TypeError("ssl must be True or False")
    if not isinstance(debug, bool):
        raise TypeError("debug must be True or False")
    if realm is not None:
        _text("realm", realm)
    if ws_url is not None:
        _text("ws_url", ws_url)
        scheme, host = _ws_url_scheme_host(ws_url)
        if scheme not in ("ws", "wss") or not host:
            raise ValueError(f"ws_url must be a ws:// or wss:// URL, not {ws_url!r}")
        if ssl and scheme == "ws" and host not in _LOCAL_HOSTS:
            raise ValueError(f"ssl=True refuses the unencrypted {ws_url!r}: use wss:// (ws:// only for localhost)")
    domain = realm or login_domain or (_ws_url_scheme_host(ws_url)[1] if ws_url else None)
    if not domain:
        raise ValueError("give realm (the SIP domain), or a sip_login of the form user@domain")
    try:
        SipUri(user=user, host=domain)
    except ValueError as exc:
        raise ValueError(f"sip_login/realm do not make a SIP address: {exc}") from None
    if ws_url is None:
        ws_url = f"{'wss' if ssl else 'ws'}://{domain}"
    if max_lines is not None:
        _number("max_lines", max_lines, integer=True, minimum=1)
    servers: tuple[str, ...] = ()
    if stun_servers is not None:
        if isinstance(stun_servers, str) or not all(isinstance(s, str) for s in stun_servers):
            raise TypeError("stun_servers must be a list of 'stun:host:port' strings")
        for server in stun_servers:
            _text("a STUN server", server)
            if not server.startswith(("stun:", "stuns:", "turn:", "turns:")):
                raise ValueError(f"STUN server {server!r} must start with 'stun:' (or 'turn:')")
        servers = tuple(stun_servers)
    ua = _check_ua_config(ua_config)
    options = _check_call_options(call_options, ua)
    events: dict[str, Callable[..., Any]] = {}
    if line_events is not None:
        events.update(check_handlers(line_events, LINE_EVENT_KEYS, what="line_events is", kind="line"))
    return InstanceSettings(
        user=user, password=password, domain=domain, ws_url=ws_url, ssl=ssl, max_lines=max_lines,
        debug=debug, stun_servers=servers, ua=ua, call_options=options, line_events=events,
    )
