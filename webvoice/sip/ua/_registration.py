"""Registration of one contact with a registrar (RFC 3261 section 10, RFC 5626).

Sans-IO: ``register(now)`` and friends return the REGISTER to send (without a
Via: the UA core adds its own with a fresh branch and sends it in a client
transaction), ``receive_response`` takes the final answer, and timers come out
as a deadline. What happens is reported as events. The policy lives here:
digest retries bounded per attempt, 423 answered with the Min-Expires asked
for, refresh before expiry with a ``RegistrationExpiring`` warning, and a lost
registration recovered by itself when the application still wants it.
"""

from __future__ import annotations

import enum

from ..auth._client import AuthorizationField, DigestClient
from ..auth._retry import ChallengeRetry
from ..syntax._causes import Cause, cause_for_status
from ..syntax._header_values import HeaderValue, NameAddr
from ..syntax._message import Request, Response, build_request
from ..syntax._uri import Params, SipUri
from ..util._deadlines import earliest
from ..util._record import record

__all__ = [
    "Registration",
    "RegistrationState",
    "Registered",
    "RegistrationFailed",
    "Unregistered",
    "UnregisterFailed",
    "RegistrationExpiring",
]

#: Retry delay after a transient failure of a registration we want to keep.
RETRY_DELAY = 30.0


class RegistrationState(enum.Enum):
    UNREGISTERED = "unregistered"
    REGISTERING = "registering"
    REGISTERED = "registered"
    UNREGISTERING = "unregistering"


@record
class Registered:
    """The registrar accepted our binding for ``expires`` seconds."""

    expires: int
    contact: NameAddr
    contacts: tuple[NameAddr, ...]
    response: Response


@record
class RegistrationFailed:
    """A REGISTER ended without a binding. ``status_code`` is None for a timeout
    or a connection error; ``cause`` is the JS SDK string; ``retrying`` says
    whether we try again by ourselves."""

    status_code: int | None
    cause: str
    reason: str
    retrying: bool = False


@record
class Unregistered:
    """Our binding is gone (removed on request, or the connection was lost)."""

    cause: str | None = None


@record
class UnregisterFailed:
    """An unregister the registrar did not confirm: refused (``status_code``), no
    answer (None, ``Request Timeout``) or the connection failed (None,
    ``Connection Error``). ``still_registered``: the binding is taken to stand
    until it expires (refused or unanswered; not refreshed any more), or is
    gone with the connection."""

    status_code: int | None
    cause: str
    reason: str
    still_registered: bool


@record
class RegistrationExpiring:
    """The binding is about to expire; a refresh is being sent now."""

    expires_at: float


class Registration:
    """The registration of one contact, refreshed until unregistered."""

    def __init__(
        self,
        *,
        aor: SipUri,
        registrar: SipUri,
        contact: NameAddr,
        auth: DigestClient,
        call_id: str,
        from_tag: str,
        expires: int = 600,
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        if not isinstance(expires, int) or isinstance(expires, bool) or not 1 <= expires <= 2**31 - 1:
            raise ValueError(f"register expires must be a positive number of seconds, not {expires!r}")
        self.aor = aor
        self.registrar = registrar
        self.contact = contact
        self.call_id = call_id
        self.from_tag = from_tag
        self.requested_expires = expires
        self._auth = auth
        self._extra = extra_headers
        self._cseq = 0
        self.state = RegistrationState.UNREGISTERED
        self.expires_at: float | None = None
        self._wanted = False
        self._pending: Request | None = None
        self._challenges = ChallengeRetry(auth)
        self._interval_retried = False
        self._refresh_at: float | None = None
        self._retry_at: float | None = None
        self._outgoing: list[Request] = []
        self._events: list[object] = []

    # --- pulling output --------------------------------------------------------------

    def requests_to_send(self) -> list[Request]:
        out, self._outgoing = self._outgoing, []
        return out

    def events(self) -> list[object]:
        out, self._events = self._events, []
        return out

    @property
    def is_registered(self) -> bool:
        return self.state is RegistrationState.REGISTERED

    @property
    def pending_request(self) -> Request | None:
        """The REGISTER awaiting its final response, if any."""
        return self._pending

    # --- what the application asks -------------------------------------------------------

    def register(self, now: float) -> None:
        """Register (or refresh) now and keep the binding refreshed."""
        self._wanted = True
        self._retry_at = None
        if self._pending is not None and self._pending_expires() != 0:
            return  # a REGISTER is already on its way; its answer will do
        self.state = RegistrationState.REGISTERING if not self.is_registered else self.state
        self._send(self.requested_expires, now)

    def unregister(self, now: float) -> None:
        """Remove our binding (our contact only: other devices of the user stay)."""
        self._wanted = False
        self._refresh_at = self._retry_at = None
        self.state = RegistrationState.UNREGISTERING
        self._send(0, now)

    # --- what the network says -------------------------------------------------------------

    def receive_response(self, request: Request, response: Response, now: float) -> None:
        """The final response to a REGISTER we sent (provisional ones are ignored)."""
        if request is not self._pending or response.status_code < 200:
            return
        expires = request.expires
        assert expires is not None, "every REGISTER we send carries Expires"
        if response.status_code in (401, 407):
            self._answer_challenge(request, response, expires, now)
            return
        self._pending = None
        if response.status_code == 423 and not self._interval_retried and expires:
            minimum = response.header("Min-Expires")
            if isinstance(minimum, int) and minimum > expires:
                self._interval_retried = True
                self.requested_expires = minimum
                self._send(minimum, now, fresh_attempt=False)
                return
        if 200 <= response.status_code < 300:
            self._accepted(response, expires, now)
        else:
            self._failed(response.status_code, cause_for_status(response.status_code), response.reason or "", now)

    def request_failed(self, request: Request, now: float, *, timeout: bool) -> None:
        """The REGISTER got no answer (Timer F) or its connection failed."""
        if request is not self._pending:
            return
        self._pending = None
        if timeout:
            self._failed(None, Cause.REQUEST_TIMEOUT, "no answer from the registrar", now)
        else:
            self._failed(None, Cause.CONNECTION_ERROR, "connection to the server failed", now)

    def connection_lost(self, now: float) -> None:
        """The flow carrying our binding is gone, and with it the binding."""
        if self._pending is not None and self.state is RegistrationState.UNREGISTERING:
            self._pending = None
            self._failed(None, Cause.CONNECTION_ERROR, "connection to the server lost", now)
        self._pending = None
        self._refresh_at = None
        was_registered = self.is_registered
        self.state = RegistrationState.UNREGISTERED
        self.expires_at = None
        if was_registered:
            self._events.append(Unregistered(Cause.CONNECTION_ERROR))

    def connection_restored(self, now: float) -> None:
        """A new connection is up: register again if the application wants it."""
        if self._wanted:
            self.register(now)

    # --- timers ---------------------------------------------------------------------

    def get_timer(self) -> float | None:
        return earliest(self._refresh_at, self._retry_at, self._lapse_at())

    def _lapse_at(self) -> float | None:
        """When a binding we no longer refresh (an unregister failed) runs out."""
        return self.expires_at if self.is_registered and not self._wanted else None

    def handle_timer(self, now: float) -> None:
        lapse = self._lapse_at()
        if lapse is not None and now >= lapse:
            self._binding_gone(Cause.EXPIRES)
        if self._refresh_at is not None and now >= self._refresh_at:
            self._refresh_at = None
            if self._wanted and self.expires_at is not None:
                self._events.append(RegistrationExpiring(self.expires_at))
                self.register(now)
        if self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            if self._wanted:
                self.register(now)

    # --- inside -------------------------------------------------------------------------

    def _pending_expires(self) -> int | None:
        return None if self._pending is None else self._pending.expires

    def _build(self, expires: int, auth_fields: tuple[AuthorizationField, ...] = ()) -> Request:
        self._cseq += 1
        contact = self.contact.with_params(expires=str(expires))
        headers: list[tuple[str, HeaderValue]] = [("Expires", expires), *self._extra, *((f.name, f.value) for f in auth_fields)]
        return build_request(
            "REGISTER",
            self.registrar,
            from_=NameAddr(self.aor, params=Params([("tag", self.from_tag)])),
            to=NameAddr(self.aor),
            call_id=self.call_id,
            cseq=self._cseq,
            contact=contact,
            headers=headers,
        )

    def _send(self, expires: int, now: float, *, fresh_attempt: bool = True,
              auth_fields: tuple[AuthorizationField, ...] | None = None) -> None:
        if fresh_attempt:
            self._challenges.reset()
            self._interval_retried = False
        if auth_fields is None:
            auth_fields = self._auth.preauthorize(method="REGISTER", uri=str(self.registrar))
        request = self._build(expires, auth_fields)
        self._pending = request
        self._outgoing.append(request)

    def _answer_challenge(self, request: Request, response: Response, expires: int, now: float) -> None:
        fields = self._challenges.answer(request, response)
        if fields is None:
            self._pending = None
            self._failed(response.status_code, Cause.AUTHENTICATION_ERROR, self._challenges.refusal, now)
            return
        self._send(expires, now, fresh_attempt=False, auth_fields=fields)

    def _accepted(self, response: Response, expires_asked: int, now: float) -> None:
        if expires_asked == 0:
            self._binding_gone(None)
            return
        ours = self._our_binding(response)
        if ours is None:
            # The registrar did not list our contact: take the request as granted.
            granted = response.expires if response.expires is not None else expires_asked
            ours = self.contact.with_params(expires=str(granted))
        else:
            granted = ours.expires if ours.expires is not None else (
                response.expires if response.expires is not None else expires_asked)
        if granted <= 0:
            self._binding_gone(None)
            return
        self.state = RegistrationState.REGISTERED
        self.expires_at = now + granted
        self._refresh_at = now + max(granted - 30.0, granted / 2.0)
        self._events.append(Registered(granted, ours, tuple(response.contacts), response))
        if not self._wanted:  # unregister() was asked while this REGISTER was out
            self.unregister(now)

    def _binding_gone(self, cause: str | None) -> None:
        self.state = RegistrationState.UNREGISTERED
        self.expires_at = None
        self._refresh_at = None
        self._events.append(Unregistered(cause))

    def _our_binding(self, response: Response) -> NameAddr | None:
        instance = self.contact.params.get("+sip.instance")
        for contact in response.contacts:
            if instance and contact.params.get("+sip.instance") == instance:
                return contact
            if contact.uri.equivalent(self.contact.uri) if hasattr(contact.uri, "equivalent") else False:
                return contact
        return None

    def _failed(self, status: int | None, cause: str, reason: str, now: float) -> None:
        if self.state is RegistrationState.UNREGISTERING:
            self._unregister_failed(status, cause, reason, now)
            return
        was_registered = self.is_registered
        self.state = RegistrationState.UNREGISTERED
        self.expires_at = None
        self._refresh_at = None
        transient = status is None or status == 408 or status == 480 or status >= 500
        retrying = bool(self._wanted and was_registered and transient)
        if retrying:
            self._retry_at = now + RETRY_DELAY
        self._events.append(RegistrationFailed(status, cause, reason, retrying))

    def _unregister_failed(self, status: int | None, cause: str, reason: str, now: float) -> None:
        """Nothing confirmed the removal. A refused or unanswered unregister leaves
        the binding as it was (until it expires: it is no longer refreshed);
        one whose connection failed lost the binding with the flow."""
        self._refresh_at = None
        stands = cause != Cause.CONNECTION_ERROR and self.expires_at is not None and self.expires_at > now
        if stands:
            self.state = RegistrationState.REGISTERED
        else:
            self.state = RegistrationState.UNREGISTERED
            self.expires_at = None
        self._events.append(UnregisterFailed(status, cause, reason, stands))
