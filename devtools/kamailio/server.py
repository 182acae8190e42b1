"""Run the repo's Kamailio configuration: for the tests and for the demo.

:class:`KamailioServer` starts a real Kamailio 5.6 (Debian packages
``kamailio``, ``kamailio-websocket-modules`` and ``kamailio-presence-modules``) with ``kamailio.cfg`` beside
this file on 127.0.0.1 ports (free ones, or the ones you ask for), in the
foreground (``-DD -E``) from its own temporary run directory, with its log
captured to ``<run_dir>/kamailio.log``.  It can be stopped, killed (SIGKILL,
to simulate a crash) and restarted on the same ports.  Processes are never
left behind: Kamailio runs in its own process group, which ``stop()``/
``kill()`` and an atexit guard signal by id.

State is queried through the ``ctl`` module's unix socket with ``kamcmd``
(``lookup(user)`` = ``kamcmd -s unix:<run_dir>/kamailio_ctl ul.lookup
location user@webvoice.test``).

Standard library only, so the demo server (``demo/serve.py``) uses it
without pytest; the pytest fixtures (``kamailio``, ``fresh_kamailio``) live
in ``devtools/kamailio_server.py``, which re-exports this module.

    from devtools.kamailio.server import KamailioServer

    with KamailioServer() as k:
        k.ws_url, k.users
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = [
    "CONFIG_PATH",
    "DOMAIN",
    "TEST_USERS",
    "KamailioError",
    "KamailioServer",
    "find_binary",
    "free_port",
    "missing_requirements",
    "port_free",
]

CONFIG_PATH = Path(__file__).resolve().parent / "kamailio.cfg"
DOMAIN = "webvoice.test"
HOST = "127.0.0.1"  # loopback only, always

#: The test accounts, user -> password.  The config's
#: event_route[htable:mod-init] holds the same list (a test checks it).
TEST_USERS: dict[str, str] = {
    name: f"{name}-secret"
    for name in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
}
#: A user whose name is not ASCII ("iñaki"), as its SIP URIs carry it: %-escaped
#: UTF-8 (RFC 3261 25.1). Kamailio compares user parts as written, so the
#: account, the digest user name and the dialled R-URI all use this form.
TEST_USERS["i%C3%B1aki"] = "inaki-secret"

_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


class KamailioError(RuntimeError):
    """Kamailio failed to start/stop, or a kamcmd query failed."""


def find_binary(name: str) -> str | None:
    """Path of ``kamailio``/``kamcmd`` (also looks in sbin dirs absent from PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for d in _SBIN_DIRS:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def port_free(port: int) -> bool:
    """True if ``port`` can be bound on 127.0.0.1 for both TCP and UDP."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((HOST, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port(exclude=()) -> int:
    """A port currently free on 127.0.0.1 for TCP and UDP (kernel-chosen)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in exclude and port_free(port):
            return port
    raise KamailioError("could not find a free loopback port")


_free_port = free_port  # the name tests knew it by


# Running servers (strong refs: a forgotten server is still stopped at exit).
_LIVE: set[KamailioServer] = set()


@atexit.register
def _stop_all() -> None:
    """atexit guard: no Kamailio survives the Python process that started it."""
    for server in list(_LIVE):
        try:
            server.kill()
            server._cleanup_run_dir()
        except Exception:  # noqa: BLE001,S110 - best effort at interpreter exit
            pass


class KamailioServer:
    """A Kamailio running the repo config on free loopback ports.

    >>> with KamailioServer() as k:
    ...     k.ws_url                      # 'ws://127.0.0.1:40123'
    ...     k.lookup("alice")             # [] until alice registers

    Parameters:
        ws_port, sip_port: fixed ports (default: free ones, picked once and
            kept across restart()).
        auth_fail_code: 401 (default: a wrong password is answered with a
            fresh challenge) or 403 (config define AUTH_FAIL_403).
        debug_level: Kamailio ``debug`` (2 = info, 3 = debug).
        min_expires: registrar min_expires (0 = honour any Expires).
        fr_timer, fr_inv_timer: tm timers in ms (no reply / ringing timeout).
        defines: extra ``-A`` defines, e.g. ``{"FOO": "1"}`` or ``{"BAR": None}``.
        run_dir: directory for the ctl socket and log (default: a temp dir,
            removed by stop() unless ``keep_run_dir``).
        startup_timeout: seconds to wait for readiness.
        die_with_parent: run under ``setpriv --pdeathsig TERM`` (util-linux)
            so Kamailio stops when the *thread* that called start() dies, even
            if the Python process is SIGKILLed.  Start servers from the main
            thread (or a thread that outlives them), or pass False.
    """

    def __init__(self, *, ws_port: int | None = None, sip_port: int | None = None,
                 auth_fail_code: int = 401, debug_level: int = 2,
                 min_expires: int = 0, fr_timer: int = 10000,
                 fr_inv_timer: int = 60000, defines: dict | None = None,
                 run_dir: str | os.PathLike | None = None, keep_run_dir: bool = False,
                 startup_timeout: float = 15.0, config: str | os.PathLike = CONFIG_PATH,
                 die_with_parent: bool = True):
        if auth_fail_code not in (401, 403):
            raise ValueError("auth_fail_code must be 401 or 403")
        self.config = Path(config)
        self.auth_fail_code = auth_fail_code
        self.debug_level = debug_level
        self.min_expires = min_expires
        self.fr_timer = fr_timer
        self.fr_inv_timer = fr_inv_timer
        self.extra_defines = dict(defines or {})
        self.startup_timeout = startup_timeout
        self.keep_run_dir = keep_run_dir
        self.die_with_parent = die_with_parent
        self._fixed_ports = ws_port is not None or sip_port is not None
        self._ws_port = ws_port
        self._sip_port = sip_port
        self._own_run_dir = run_dir is None
        self._run_dir = Path(run_dir) if run_dir is not None else None
        self._proc: subprocess.Popen | None = None
        self._log_file = None
        self.starts = 0

    # --- public properties ------------------------------------------------
    @property
    def host(self) -> str:
        return HOST

    @property
    def ws_port(self) -> int:
        self._need_ports()
        return self._ws_port

    @property
    def sip_port(self) -> int:
        """UDP and TCP port for raw SIP (sipp, raw socket tests)."""
        self._need_ports()
        return self._sip_port

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.ws_port}"

    @property
    def domain(self) -> str:
        return DOMAIN

    realm = domain

    @property
    def users(self) -> dict[str, str]:
        """Test accounts, user -> password (a copy)."""
        return dict(TEST_USERS)

    def aor(self, user: str) -> str:
        return f"sip:{user}@{DOMAIN}"

    @property
    def run_dir(self) -> Path:
        if self._run_dir is None:
            raise KamailioError("not started yet")
        return self._run_dir

    @property
    def log_path(self) -> Path:
        return self.run_dir / "kamailio.log"

    @property
    def ctl_socket(self) -> Path:
        return self.run_dir / "kamailio_ctl"

    @property
    def db_dir(self) -> Path:
        """The db_text directory of the presence server's tables."""
        return self.run_dir / "dbtext"

    def _prepare_db(self) -> None:
        """Fill :attr:`db_dir` with the empty tables of the Debian package (once per run dir)."""
        if self.db_dir.exists():
            return
        self.db_dir.mkdir()
        source = next((Path(d) for d in _DBTEXT_DIRS if Path(d, "presentity").exists()), None)
        if source is None:
            raise KamailioError("db_text table files not found (package kamailio: /usr/share/kamailio/dbtext)")
        for table in _DB_TABLES:
            shutil.copyfile(source / table, self.db_dir / table)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _need_ports(self) -> None:
        if self._ws_port is None or self._sip_port is None:
            raise KamailioError("ports are chosen by start()")

    # --- lifecycle ----------------------------------------------------------
    def command(self) -> list[str]:
        """The kamailio command line (for debugging by hand)."""
        binary = find_binary("kamailio")
        if binary is None:
            raise KamailioError(
                "kamailio is not installed "
                "(apt-get install -y kamailio kamailio-websocket-modules)")
        defines = {
            "WS_PORT": str(self.ws_port),
            "SIP_PORT": str(self.sip_port),
            "CTL_SOCKET": f'"unix:{self.ctl_socket}"',
            "DEBUG_LEVEL": str(self.debug_level),
            "MIN_EXPIRES": str(self.min_expires),
            "FR_TIMER": str(self.fr_timer),
            "FR_INV_TIMER": str(self.fr_inv_timer),
            "DBURL": f'"text://{self.db_dir}"',
            "PRESENCE_CONTACT": f'"sip:presence@{HOST}:{self.ws_port};transport=ws"',
            "PUA_PROXY": f'"sip:{HOST}:{self.sip_port}"',
        }
        if self.auth_fail_code == 403:
            defines["AUTH_FAIL_403"] = None
        defines.update(self.extra_defines)
        cmd = [binary, "-DD", "-E", "-f", str(self.config), "-Y", str(self.run_dir),
               "-m", "64", "-M", "8"]
        setpriv = find_binary("setpriv") if self.die_with_parent else None
        if setpriv:
            # SIGTERM to Kamailio if the thread that started it dies, even by
            # SIGKILL (atexit cannot cover that); Kamailio then stops its
            # children itself.
            cmd = [setpriv, "--pdeathsig", "TERM", "--", *cmd]
        for name, value in defines.items():
            cmd += ["-A", name if value is None else f"{name}={value}"]
        return cmd

    def start(self) -> KamailioServer:
        """Start and wait until WS, UDP and the ctl socket answer.

        Picks free ports on the first start (retrying if another process grabs
        one in between); later starts reuse them.
        """
        if self.running:
            return self
        if self._run_dir is None:
            self._run_dir = Path(tempfile.mkdtemp(prefix="webvoice-kamailio-"))
        self._run_dir.mkdir(parents=True, exist_ok=True)
        attempts = 1 if (self._fixed_ports or self.starts) else 4
        for attempt in range(attempts):
            if self._ws_port is None or self._sip_port is None:
                self._sip_port = self._sip_port or free_port()
                self._ws_port = self._ws_port or free_port(exclude={self._sip_port})
            try:
                self._spawn()
                self._wait_ready()
                self.starts += 1
                return self
            except KamailioError:
                bind_failed = "Address already in use" in self._log_since_start()
                self._terminate(signal.SIGKILL)
                if bind_failed and attempt + 1 < attempts:
                    self._ws_port = self._sip_port = None
                    continue
                if not self.starts:  # nobody will call stop(): tidy up now
                    self._cleanup_run_dir()
                raise
        raise AssertionError("unreachable")

    def _spawn(self) -> None:
        self._prepare_db()
        cmd = self.command()
        if self.ctl_socket.exists():
            self.ctl_socket.unlink()
        self._log_file = open(self.log_path, "ab", buffering=0)  # noqa: SIM115
        banner = (f"\n===== webvoice: starting kamailio (ws {self.ws_port}, "
                  f"sip {self.sip_port}) at {time.strftime('%H:%M:%S')} =====\n")
        self._log_file.write(banner.encode())
        self._log_start = self._log_file.tell()
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._log_file,
            stderr=subprocess.STDOUT, cwd=str(self.run_dir),
            start_new_session=True)  # own process group: killpg() gets children too
        _LIVE.add(self)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        checks = {"ws": False, "udp": False, "ctl": False}
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise KamailioError(
                    f"kamailio exited with code {self._proc.returncode} during start\n"
                    + self.log_tail())
            if not checks["ws"]:
                checks["ws"] = _tcp_accepts(self.ws_port)
            if checks["ws"] and not checks["udp"]:
                checks["udp"] = _udp_options_ok(self.sip_port)
            if not checks["ctl"]:
                checks["ctl"] = self.ctl_socket.exists()
            if all(checks.values()):
                return
            time.sleep(0.05)
        raise KamailioError(
            f"kamailio not ready after {self.startup_timeout}s ({checks})\n" + self.log_tail())

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM to the process group, SIGKILL if it lingers)."""
        self._terminate(signal.SIGTERM, timeout)
        self._cleanup_run_dir()

    def kill(self) -> None:
        """Crash simulation: SIGKILL the whole process group at once.

        The run directory and ports are kept, so :meth:`restart` (or
        :meth:`start`) brings the server back on the same ws_url.
        """
        self._terminate(signal.SIGKILL)

    def restart(self) -> KamailioServer:
        """Stop if running (graceful), then start again on the same ports.

        Registrations are lost (usrloc is memory only), like a real restart.
        """
        if self.running:
            self._terminate(signal.SIGTERM)
        return self.start()

    def _terminate(self, sig: int, timeout: float = 10.0) -> None:
        proc = self._proc
        if proc is None:
            self._close_log()
            return
        pgid = proc.pid  # session leader: pgid == pid
        _signal_group(pgid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            proc.wait(timeout=5)
        # Children of a killed main process may still be exiting: finish them.
        end = time.monotonic() + 5
        while _group_alive(pgid) and time.monotonic() < end:
            _signal_group(pgid, signal.SIGKILL)
            time.sleep(0.02)
        self._close_log()
        self._proc = None
        _LIVE.discard(self)

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _cleanup_run_dir(self) -> None:
        if self._own_run_dir and not self.keep_run_dir and self._run_dir is not None:
            shutil.rmtree(self._run_dir, ignore_errors=True)
            self._run_dir = None

    def __enter__(self) -> KamailioServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        ports = f"ws={self._ws_port} sip={self._sip_port}"
        return f"<KamailioServer {state} {ports}>"

    # --- logs -----------------------------------------------------------------
    def log_text(self) -> str:
        """The whole captured log (all starts of this server)."""
        try:
            return self.log_path.read_text(errors="replace")
        except (OSError, KamailioError):
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def _log_since_start(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(getattr(self, "_log_start", 0))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    # --- control channel --------------------------------------------------------
    def rpc(self, *args: str, timeout: float = 5.0) -> str:
        """Run ``kamcmd -s unix:<ctl> <args...>`` and return its output.

        Raises KamailioError on failure (kamcmd exits 0 even on RPC errors; it
        prints ``error: <code> - <reason>``).
        """
        kamcmd = find_binary("kamcmd")
        if kamcmd is None:
            raise KamailioError("kamcmd not found (package kamailio)")
        res = subprocess.run([kamcmd, "-s", f"unix:{self.ctl_socket}", *args],
                             capture_output=True, text=True, timeout=timeout, check=False)
        out = res.stdout + res.stderr
        if res.returncode != 0 or out.startswith("error"):
            raise KamailioError(f"kamcmd {' '.join(args)}: {out.strip()}")
        return res.stdout

    def lookup(self, user: str) -> list[dict[str, str]]:
        """Current (unexpired) bindings of ``user``; [] when not registered.

        Each binding is a dict of kamcmd's fields, e.g. ``Address`` (the
        Contact URI), ``Expires`` (seconds left), ``Received``
        (``sip:127.0.0.1:PORT;transport=ws`` for WS clients), ``Instance``,
        ``Reg-Id``, ``User-Agent``, ``Socket``, ``Call-ID``, ``CSeq``.
        """
        aor = user if "@" in user else f"{user}@{DOMAIN}"
        try:
            out = self.rpc("ul.lookup", "location", aor)
        except KamailioError as e:
            # "AOR not found in location table" / "AOR has no contacts"
            msg = str(e).lower()
            if "not found" in msg or "no contacts" in msg:
                return []
            raise
        return [c for c in parse_contacts(out) if _not_expired(c)]

    def contacts(self, user: str) -> list[str]:
        """Contact URIs currently registered for ``user``."""
        return [c["Address"] for c in self.lookup(user)]


def parse_contacts(kamcmd_output: str) -> list[dict[str, str]]:
    """Parse the ``Contact: { Key: value ... }`` blocks of ul.lookup/ul.dump."""
    contacts, cur = [], None
    for line in kamcmd_output.splitlines():
        s = line.strip()
        if s == "Contact: {":
            cur = {}
        elif s == "}" and cur is not None:
            contacts.append(cur)
            cur = None
        elif cur is not None and ": " in s:
            key, value = s.split(": ", 1)
            cur[key] = value
    return contacts


def _not_expired(contact: dict[str, str]) -> bool:
    exp = contact.get("Expires", "")
    if re.fullmatch(r"-?\d+", exp):
        return int(exp) > 0
    return exp.lower() != "expired"  # "permanent" and the like count as live


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        pass


def _group_alive(pgid: int) -> bool:
    """True while a non-zombie process of group ``pgid`` exists.

    Killed children become zombies reparented to PID 1, which may reap them
    only later; they hold no sockets, so they count as gone.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ..." -- comm may contain spaces/parens
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _tcp_accepts(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def _udp_options_ok(port: int) -> bool:
    """Send OPTIONS sip:127.0.0.1 over UDP and wait briefly for a 200."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((HOST, 0))
        s.settimeout(0.3)
        lport = s.getsockname()[1]
        msg = (f"OPTIONS sip:{HOST}:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {HOST}:{lport};branch=z9hG4bK{os.urandom(6).hex()};rport\r\n"
               "Max-Forwards: 70\r\n"
               f"From: <sip:ready@{HOST}>;tag={os.urandom(4).hex()}\r\n"
               f"To: <sip:{HOST}:{port}>\r\n"
               f"Call-ID: ready-{os.urandom(6).hex()}\r\n"
               "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        s.sendto(msg.encode(), (HOST, port))
        data, _ = s.recvfrom(65535)
        return data.startswith(b"SIP/2.0 200")
    except OSError:  # timeout, or ECONNREFUSED while not yet listening
        return False
    finally:
        s.close()


_DBTEXT_DIRS = ("/usr/share/kamailio/dbtext/kamailio", "/usr/local/share/kamailio/dbtext/kamailio")
#: The tables the presence modules read (``version`` lists every table's schema version).
_DB_TABLES = ("version", "presentity", "active_watchers", "watchers", "xcap", "pua")


def module_dirs(binary: str | None = None) -> list[str]:
    """Where this Kamailio loads its modules from, asked of the install itself.

    First the binary's own build info (``kamailio -I`` prints "Default paths to
    modules"), then the files the packages installed (``dpkg -L``), so any
    architecture or prefix is found without a list of guesses to keep current.
    """
    binary = binary or find_binary("kamailio")
    found: list[str] = []
    if binary:
        try:
            info = subprocess.run([binary, "-I"], capture_output=True, text=True,
                                  timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            info = ""
        for line in info.splitlines():
            key, _, value = line.strip().partition(":")
            if key == "Default paths to modules":
                found += [d.strip() for d in value.split(":") if d.strip()]
    for package in ("kamailio-websocket-modules", "kamailio-presence-modules", "kamailio"):
        try:
            files = subprocess.run(["dpkg", "-L", package], capture_output=True,
                                   text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        found += [str(Path(f).parent) for f in files.splitlines()
                  if f.endswith("/websocket.so") or f.endswith("/tm.so")]
    return list(dict.fromkeys(found))


def missing_requirements() -> list[str]:
    """What is missing to run Kamailio here, as install hints ([] when nothing)."""
    if find_binary("kamailio") is None or find_binary("kamcmd") is None:
        return ["kamailio (apt-get install -y kamailio kamailio-websocket-modules)"]
    dirs = module_dirs()
    if not any(Path(d, "websocket.so").exists() for d in dirs):
        where = ", ".join(dirs) or "no module directory found (kamailio -I, dpkg -L)"
        return [f"Kamailio's websocket module (websocket.so not in {where}; "
                "apt-get install -y kamailio-websocket-modules)"]
    if not any(Path(d, "presence_dialoginfo.so").exists() for d in dirs):
        return ["Kamailio's presence modules (apt-get install -y kamailio-presence-modules)"]
    return []
