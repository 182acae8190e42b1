"""Digest hashing (RFC 7616, RFC 8760): response computation, verification, redaction.

Split from :mod:`._client` because this is the stateless arithmetic of Digest,
shared by the UA's :class:`~._client.DigestClient` and by servers (test
registrars verify with :func:`verify_digest`), and because logging code needs
:func:`redact_authorization` without the client.

Pieces:

* the hash families this Python can compute (:data:`SUPPORTED_ALGORITHMS`),
  found without importing hashlib where that is costly (Pyodide);
* which challenge to answer and how (:func:`_strength`: strongest hash wins;
  :func:`_plan`: the algorithm and qop to answer with);
* :func:`_response`: the RFC 7616 section 3.4.1 response, and
  :func:`_userhash` (RFC 7616 section 3.4.4);
* :func:`verify_digest`: the server side, for test servers;
* :func:`redact_authorization`: safe logging.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable
from typing import Any

from ..util._regex import compile_regex
from ._values import _TOKEN, _TOKEN68, AuthParseError, Challenge, parse_credentials

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "redact_authorization",
    "verify_digest",
]


# --- Hash algorithms (RFC 7616 section 3.2, RFC 8760 section 2.2) -----------

# Algorithm family -> (hashlib name, strength). Strength decides among several
# challenges for one realm: RFC 8760 section 2.4 leaves that choice to local
# policy, and ours is "strongest hash wins".
_FAMILIES: dict[str, tuple[str, int]] = {
    "SHA-512-256": ("sha512_256", 3),
    "SHA-256": ("sha256", 2),
    "MD5": ("md5", 1),
}


def _available_hashes() -> dict[str, Callable[..., Any]]:
    """hashlib name -> constructor ``(data, usedforsecurity=...)``, for the
    hashes of _FAMILIES this Python can compute.

    MD5 and SHA-256 come straight from the HACL* modules hashlib itself falls
    back on when there is no OpenSSL, as in Pyodide, where importing hashlib
    would add ~5 ms to every page's start-up (its source is compiled there).
    SHA-512/256 only OpenSSL provides: hashlib is asked when OpenSSL is there
    (or the builtins are not). usedforsecurity=False keeps MD5 usable on FIPS
    builds: Digest needs MD5 for interoperability, not for security.
    """
    found: dict[str, Callable[..., Any]] = {}
    try:  # (by name: these private modules have no type stubs)
        md5 = importlib.import_module("_md5").md5
        sha256 = importlib.import_module("_sha2").sha256
    except ImportError:
        pass
    else:
        found = {"md5": md5, "sha256": sha256}
    try:
        import _hashlib  # noqa: F401  (OpenSSL)
    except ImportError:
        if found:
            return found
    import hashlib

    for _family, (name, _strength) in _FAMILIES.items():
        if name in found:
            continue
        try:
            hashlib.new(name, usedforsecurity=False)
        except ValueError:
            continue
        found[name] = functools.partial(hashlib.new, name)
    return found


_HASHES = _available_hashes()
_HASHLIB_NAMES: dict[str, str] = {
    family: name for family, (name, _) in _FAMILIES.items() if name in _HASHES
}

#: Algorithm names this build can answer, strongest first, in RFC spelling.
SUPPORTED_ALGORITHMS: tuple[str, ...] = tuple(
    spelling for family in _HASHLIB_NAMES for spelling in (family, family + "-sess")
)


def _split_algorithm(algorithm: str) -> tuple[str, bool] | None:
    """(family, is_sess) for a supported algorithm name, else None."""
    name = algorithm.upper()
    sess = name.endswith("-SESS")
    family = name[: -len("-SESS")] if sess else name
    return (family, sess) if family in _HASHLIB_NAMES else None


def _strength(challenge: Challenge) -> int:
    """How strong the hash of ``challenge`` is (0: one we cannot compute)."""
    split = _split_algorithm(challenge.algorithm)
    return _FAMILIES[split[0]][1] if split is not None else 0


def _plan(challenge: Challenge, prefer_auth_int: bool) -> tuple[str, str | None] | None:
    """(algorithm in RFC spelling, qop or None) to answer with, or None if we can't.

    SIP servers check qop "auth"; "auth-int" also hashes the body, which a
    B2BUA or SBC may rewrite, so it is used only when asked for or when it is
    the only qop offered.
    """
    split = _split_algorithm(challenge.algorithm)
    if split is None:
        return None
    family, sess = split
    algorithm = family + ("-sess" if sess else "")
    options = challenge.qop_options
    if not options:
        # RFC 2069 style. A -sess HA1 needs a cnonce, but RFC 2617 forbids
        # sending cnonce without qop, so that combination cannot be answered.
        return None if sess else (algorithm, None)
    if "auth-int" in options and (prefer_auth_int or "auth" not in options):
        return algorithm, "auth-int"
    return (algorithm, "auth") if "auth" in options else None


def _h(family: str, data: str | bytes) -> str:
    """RFC 7616 H(data): lower-case hex digest; text is hashed as UTF-8."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    digest: str = _HASHES[_HASHLIB_NAMES[family]](raw, usedforsecurity=False).hexdigest()
    return digest



# --- Response computation (RFC 7616 section 3.4.1, RFC 2617 section 3.2.2) -------


def _response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None,
    cnonce: str | None,
    nc: str | None,
    body: bytes,
) -> str:
    split = _split_algorithm(algorithm)
    assert split is not None
    family, sess = split
    ha1 = _h(family, f"{username}:{realm}:{password}")
    if sess:
        ha1 = _h(family, f"{ha1}:{nonce}:{cnonce}")
    a2 = f"{method}:{uri}:{_h(family, body)}" if qop == "auth-int" else f"{method}:{uri}"
    ha2 = _h(family, a2)
    if qop is None:  # RFC 2069 compatibility: no cnonce, no nc
        return _h(family, f"{ha1}:{nonce}:{ha2}")
    return _h(family, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")




def _userhash(algorithm: str, username: str, realm: str) -> str:
    split = _split_algorithm(algorithm)
    assert split is not None
    return _h(split[0], f"{username}:{realm}")


def verify_digest(
    value: str,
    *,
    method: str,
    uri: str,
    password: str,
    body: bytes = b"",
    username: str | None = None,
    realm: str | None = None,
    nonce: str | None = None,
) -> bool:
    """Server side: does this Authorization value prove knowledge of ``password``?

    For test servers. ``uri`` is the request's Request-URI, which must equal the
    credentials' digest-uri (RFC 3261 section 22.4). ``username``, ``realm``
    and ``nonce``, when given, must match too. ``userhash=true`` credentials
    (RFC 7616 section 3.4.4) verify only when ``username`` is given, since the
    hash hides it. Nonce freshness and nc replay checks are the caller's
    business. Garbage from the peer gives False, never an exception.
    """
    try:
        creds = parse_credentials(value)
    except AuthParseError:
        return False
    if not creds.is_digest or creds.uri != uri:
        return False
    claimed, c_realm, c_nonce = creds.username or "", creds.realm or "", creds.nonce or ""
    if (realm is not None and c_realm != realm) or (nonce is not None and c_nonce != nonce):
        return False
    if creds.userhash:
        if username is None or _split_algorithm(creds.algorithm) is None:
            return False
        if claimed.lower() != _userhash(creds.algorithm, username, c_realm):
            return False
        claimed = username
    elif username is not None and claimed != username:
        return False
    split = _split_algorithm(creds.algorithm)
    qop = creds.qop
    if split is None or qop not in (None, "auth", "auth-int") or (qop is None and split[1]):
        return False
    expected = _response(
        algorithm=creds.algorithm, username=claimed, realm=c_realm, password=password, nonce=c_nonce,
        method=method, uri=uri, qop=qop, cnonce=creds.cnonce, nc=creds.nc, body=body,
    )
    given = (creds.response or "").lower().encode("utf-8", "surrogatepass")
    import hmac  # server side only (tests, a registrar): not on a client's import path

    return hmac.compare_digest(expected.encode("ascii"), given)


# --- Redaction --------------------------------------------------------------------

# Deliberately ignores quoting: with a stray quote earlier in a malformed
# value, a quote-aware scanner could skip the real response. Redacting a
# "response=" that sits inside some quoted string is harmless.
_RESPONSE_RE = compile_regex(
    r'(?<![A-Za-z0-9_\-*])(response[ \t]*=[ \t]*)(?:"(?:[^"\\]++|\\.)*+(?:"|\Z)|[^\s,]*+)', re.IGNORECASE | re.DOTALL
)
_TOKEN68_CREDENTIALS_RE = compile_regex(rf"\A(\s*{_TOKEN}[ \t]+){_TOKEN68}(?=\s*(?:,|\Z))")


def redact_authorization(value: str) -> str:
    """The value with its secrets replaced by ``<redacted>``, for logs.

    Secrets are the Digest ``response`` (a dictionary attack recovers the
    password from it) and a token68 (Basic's base64 password, bearer tokens).
    """
    value = _TOKEN68_CREDENTIALS_RE.sub(r"\1<redacted>", value, count=1)
    return _RESPONSE_RE.sub(r'\1"<redacted>"', value)
