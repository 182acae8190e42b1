"""Who the user agent is and how it behaves: :class:`UaConfig`, checked when built.

Apart from the UA core (:mod:`._ua`) so that the settings, their defaults and
their checks read on their own, and the core stays one idea: feeding and
draining the layers below.
"""

from __future__ import annotations

import os
import random
from dataclasses import field

from ..session._interval import MIN_SE_FLOOR
from ..syntax._header_values import NameAddr
from ..syntax._parser import ParserLimits
from ..syntax._uri import SipUri
from ..transaction._timers import TimerConfig
from ..util._record import record
from ._uas import UasPolicy

__all__ = ["UaConfig", "random_token"]

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def _random_uuid() -> str:
    """A version 4 UUID (RFC 9562) as text, for the RFC 5626 instance id.

    Not ``uuid.uuid4()``: the uuid module is not preloaded in Pyodide, and
    importing it costs ~20 ms of start-up for sixteen random bytes.
    """
    b = bytearray(os.urandom(16))
    b[6] = b[6] & 0x0F | 0x40  # version 4
    b[8] = b[8] & 0x3F | 0x80  # RFC 9562 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def random_token(rng: random.Random, length: int) -> str:
    """``length`` characters of ``_ALPHABET``, uniformly drawn.

    One draw of a number below ``36 ** length``, written in base 36, instead
    of a ``choice()`` per character: with the UA's ``SystemRandom`` each draw
    is a read of the OS's entropy (in Pyodide, a call into the browser's
    crypto), and a Call-ID took 22 of them.
    """
    n = rng.randrange(len(_ALPHABET) ** length)
    out = []
    for _ in range(length):
        n, digit = divmod(n, len(_ALPHABET))
        out.append(_ALPHABET[digit])
    return "".join(out)


@record
class UaConfig:
    """Who we are and how we behave on the wire. The password never shows in repr."""

    user: str
    domain: str
    password: str = field(repr=False)
    display_name: str | None = None
    auth_user: str | None = None
    register_expires: int = 600
    user_agent: str = "webvoice"
    #: RFC 5626 instance id, stable for the page's lifetime (one per instance).
    instance_id: str = field(default_factory=lambda: _random_uuid())
    keep_alive_interval: float = 30.0
    #: Most calls at once; an INVITE beyond it is answered 486 (None: no limit).
    max_calls: int | None = None
    no_answer_timeout: float = 60.0
    session_timers: bool = True
    #: The shortest session interval we accept (RFC 4028 Min-SE; 90 s at least).
    session_min_se: int = 90
    timers: TimerConfig = field(default_factory=TimerConfig)
    limits: ParserLimits = field(default_factory=ParserLimits)
    policy: UasPolicy = field(default_factory=UasPolicy)

    def __post_init__(self) -> None:
        SipUri(user=self.user, host=self.domain)  # raises ValueError naming a bad part
        if self.display_name is not None:
            NameAddr(SipUri(host=self.domain), self.display_name)
        if not isinstance(self.session_min_se, int) or isinstance(self.session_min_se, bool) \
                or not MIN_SE_FLOOR <= self.session_min_se <= 86400:
            raise ValueError(f"session_min_se must be {MIN_SE_FLOOR} to 86400 seconds (RFC 4028), "
                             f"not {self.session_min_se!r}")
        if self.keep_alive_interval < 0:
            raise ValueError("keep_alive_interval must be zero (off) or positive")

    @property
    def aor(self) -> SipUri:
        return SipUri(user=self.user, host=self.domain)
