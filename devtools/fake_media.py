"""A media backend without a browser: plausible SDP, recorded actions.

For CPython tests of the call layer: everything SIP is real (the driver, the
core, Kamailio); only the browser's offer/answer making is stood in for. The
browser tiers test the real backend.
"""

from __future__ import annotations

import asyncio
import itertools

from webvoice._media import AudioDevice, MediaError, MediaPermissionError

_versions = itertools.count(1)


def _sdp(direction: str, port: int, version: int) -> str:
    return (
        f"v=0\r\no=- 4242 {version} IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        f"m=audio {port} UDP/TLS/RTP/SAVPF 111 126\r\nc=IN IP4 127.0.0.1\r\n"
        "a=rtpmap:111 opus/48000/2\r\na=rtpmap:126 telephone-event/8000\r\n"
        f"a=candidate:1 1 udp 2122260223 127.0.0.1 {port} typ host\r\na=ice-ufrag:abcd\r\n"
        f"a={direction}\r\n"
    )


class FakeMediaSession:
    def __init__(self, backend: FakeMediaBackend, line_id: str, on_event=None) -> None:
        self.backend, self.line_id = backend, line_id
        self.on_event = on_event
        self.port = 40000 + len(backend.sessions) * 2
        self.held = False
        self.muted = False
        self.closed = False
        self.remote: list[tuple[str, str]] = []
        self.dtmf: list[str] = []
        self.log: list[str] = []
        self.ringback = False
        self.stats: dict | None = None  # what get_stats returns, when a test sets it
        self.arriving = True  # else nothing arrives (a dead path the "browser" has not noticed)
        self._arrived = 0  # consent answers so far, one more at each sample while arriving
        self.probe = True  # arrival_mark answers (else None: a browser without the probe)
        self.probes = 0  # arrival_mark calls
        self.stats_taken = 0  # get_stats calls
        self._mark = 0.0  # the last packet's time, one more at each probe while arriving

    async def create_offer(self, *, ice_restart: bool = False) -> str:
        await asyncio.sleep(0)
        if self.backend.fail_offer is not None:
            raise self.backend.fail_offer
        if ice_restart and not self.backend.gathers:  # as the engine: an ICE restart with no candidate
            self.log.append("restart without candidates")
            raise MediaError("no ICE candidate gathered for the ICE restart")
        self.log.append("offer")
        return _sdp("sendonly" if self.held else "sendrecv", self.port, next(_versions))

    async def create_answer(self, remote_offer: str) -> str:
        await asyncio.sleep(0)
        self.remote.append(("offer", remote_offer))
        offered = "sendonly" if "a=sendonly" in remote_offer else "inactive" if "a=inactive" in remote_offer else "sendrecv"
        mine = {"sendonly": "recvonly", "inactive": "inactive"}.get(offered, "sendonly" if self.held else "sendrecv")
        self.log.append("answer")
        self._connect()
        return _sdp(mine, self.port, next(_versions))

    async def apply_answer(self, sdp: str, *, provisional: bool = False) -> None:
        self.remote.append(("pranswer" if provisional else "answer", sdp))
        if not provisional:
            self._connect()

    def _connect(self) -> None:
        """As a browser would once offer/answer completes (unless the backend says ``connects=False``)."""
        if self.backend.connects:
            asyncio.get_running_loop().call_soon(self.report, "connected", "connected")

    def report(self, connection: str, ice: str) -> None:
        """The browser's connectionState and iceConnectionState change."""
        if not self.closed and self.on_event is not None:
            self.on_event("connectionstatechange", {"state": connection, "ice": ice})

    async def rollback(self) -> None:
        self.log.append("rollback")

    def set_hold(self, held: bool) -> None:
        self.held = held

    def set_muted(self, muted: bool) -> None:
        self.muted = muted

    async def send_dtmf(self, tones: str, duration: int, inter_tone_gap: int) -> None:
        self.dtmf.append(tones)

    async def arrival_mark(self) -> float | None:
        self.probes += 1
        if not self.probe:
            return None
        self._mark += self.arriving
        return self._mark

    async def get_stats(self) -> dict:
        self.stats_taken += 1
        if self.stats is not None:
            return dict(self.stats)
        self._arrived += self.arriving
        return {"inbound": {"packets_received": 0}, "outbound": {"packets_sent": 0}, "round_trip_time": None,
                "transport": {"bytes_received": 0, "bytes_sent": 0, "responses_received": self._arrived}}

    async def replace_microphone(self, device_id):
        self.log.append(f"mic:{device_id}")

    async def set_speaker(self, device_id):
        self.log.append(f"speaker:{device_id}")

    async def reset_local_media(self) -> None:
        self.log.append("reset")

    def start_ringback(self) -> None:
        self.ringback = True
        self.log.append("ringback on")

    def stop_ringback(self) -> None:
        if self.ringback:
            self.log.append("ringback off")
        self.ringback = False

    def connection(self):
        return None

    def close(self) -> None:
        self.closed = True
        self.ringback = False


class FakeMediaBackend:
    """``deny``: the microphone is refused; ``fail_offer``: an exception that
    ``create_offer`` raises; ``fail_open``: one that ``open_session`` raises.
    ``opened`` records each open_session's keyword arguments. ``connects``:
    sessions report media connected once offer/answer completes. ``gathers``
    (an attribute, True): else an ICE restart gathers no candidate and its
    ``create_offer`` raises, as the engine's does."""

    def __init__(self, *, deny: bool = False, fail_offer: BaseException | None = None,
                 fail_open: BaseException | None = None, connects: bool = True) -> None:
        self.connects = connects
        self.gathers = True  # else an ICE restart gathers no candidate (a network still down)
        self.deny = deny
        self.fail_offer = fail_offer
        self.fail_open = fail_open
        self.sessions: list[FakeMediaSession] = []
        self.opened: list[dict] = []

    async def open_session(self, line_id, *, ice_servers, constraints, microphone, speaker, on_event,
                           pc_config=None, offer_constraints=None):
        self.opened.append({"line_id": line_id, "ice_servers": ice_servers, "constraints": constraints,
                            "pc_config": pc_config, "offer_constraints": offer_constraints})
        await asyncio.sleep(0)
        if self.deny:
            raise MediaPermissionError("Permission denied")
        if self.fail_open is not None:
            raise self.fail_open
        session = FakeMediaSession(self, line_id, on_event)
        self.sessions.append(session)
        return session

    @property
    def open_sessions(self) -> list[FakeMediaSession]:
        """Sessions not closed: each holds a microphone."""
        return [s for s in self.sessions if not s.closed]

    async def list_devices(self):
        return [AudioDevice("default", "Fake microphone", "audioinput"), AudioDevice("default", "Fake speaker", "audiooutput")]

    def supports_speaker_selection(self) -> bool:
        return True

    def on_devices_changed(self, handler) -> None:
        pass
