"""Whether a received REFER may be followed without asking: ``ua_config["refer_policy"]``.

A REFER asks us to place a call on someone else's word (RFC 3515). Followed
silently, it lets whoever is on the line make this phone call anywhere: a
premium-rate number through the operator's gateway is the classic fraud. So
a transfer is followed only when the application accepts it (its ``refer``
handler calls ``request.accept()``), or when the policy allows it:

* ``"ask"`` (the default): only the application decides; without a handler
  that accepts, the REFER is declined (603).
* ``"same-domain"``: without a decision from the application, a transfer to a
  ``sip:``/``sips:`` user of our own domain is followed; anything else is
  declined. A telephone number is never followed by policy: a ``tel:`` URI,
  ``user=phone``, or a user part that is a number (digits with ``+``, ``*``,
  ``#`` or the visual separators ``-.()``), even in our own domain.
* ``"never"``: every REFER is declined before the application is asked (its
  ``refer`` handler still hears of it, already refused).
"""

from __future__ import annotations

from .sip import SipUri, TelUri, Uri, compile_regex

__all__ = ["REFER_POLICIES", "DEFAULT_REFER_POLICY", "is_number", "policy_allows"]

REFER_POLICIES = ("ask", "same-domain", "never")
DEFAULT_REFER_POLICY = "ask"

# RFC 3966's phonedigit (DIGIT / visual-separator) with the global "+" and the
# service-code characters "*" and "#": a user part made of these is a number.
_NUMBER = compile_regex(r"\+?[0-9*#().\-]*[0-9][0-9*#().\-]*")


def is_number(uri: Uri) -> bool:
    """Whether ``uri`` names a telephone number rather than a SIP user."""
    if isinstance(uri, TelUri):
        return True
    if not isinstance(uri, SipUri):
        return True  # an unknown kind of address: treat it as the riskier one
    if any(name.lower() == "user" and (value or "").lower() == "phone" for name, value in uri.params):
        return True
    return _NUMBER.fullmatch(uri.user_text or "") is not None


def policy_allows(policy: str, uri: Uri, domain: str) -> bool:
    """Whether ``policy`` follows a transfer to ``uri`` with no decision from the application."""
    if policy != "same-domain":
        return False
    return (isinstance(uri, SipUri) and uri.scheme in ("sip", "sips")
            and uri.host.lower() == domain.lower() and bool(uri.user_text) and not is_number(uri))
