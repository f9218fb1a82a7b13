"""A private Exim instance in a temp dir, wired as the organisation's MTA in front of the relay.

Layout (exactly what the "## Exim" section of ``docs/deployment.md`` documents)::

    test --SMTP--> Exim 127.0.0.1:P1 (submission)
                     | router consent_relay (manualroute) -> transport consent_relay_smtp,
                     | max_rcpt = 1
                   consent-relay serve on 127.0.0.1:R
                     | SMTP
                   Exim 127.0.0.1:P2 (re-injection: the consent_relay router is skipped,
                     |                 the RCPT ACL accepts it from 127.0.0.1 only)
                     | router internet (stands in for Debian's dnslookup) -> remote_smtp
                   capture sink 127.0.0.1:S (tests/e2e/sink.py)

Debian's exim4 packages conflict with postfix (both provide the system MTA), so Exim is never
installed: ``exim4-daemon-light``, ``exim4-base`` and ``libidn12`` (not on a Postfix machine)
are fetched with ``apt-get download`` and unpacked with ``dpkg-deb -x`` into ``EXIM_ROOT``
(``/opt/exim-private``; ``.ci/run`` does the same). The binary loses its setuid bit there and
the whole instance runs as the unprivileged ``Debian-exim`` user (created if missing, as the
package's postinst would; Debian's binary looks it up at start), with ``-C`` pointing at the
test's configuration, its own spool and log directories, loopback ports only, and retries
every 2 s instead of Debian's 15 min. Running as root would not work here: Exim re-execs itself
for delivery as the Exim user, and a setuid re-exec ignores ``LD_LIBRARY_PATH`` (the private
``libidn.so.12``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from postfix import Topology, free_port, private_dir, wait_for_port
from relay_process import RelayFactory, started_relays

EXIM_ROOT = Path(os.environ.get("CONSENT_RELAY_EXIM_ROOT", "/opt/exim-private"))
PACKAGES = ("exim4-daemon-light", "exim4-base", "libidn12")
EXIM_USER = "Debian-exim"  # compiled into Debian's binary, which exits if the user is missing

requires_root = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="Exim end-to-end tests need root (they unpack Exim into /opt/exim-private and run "
           "it as the Debian-exim user; see tests/e2e/README.md)",
)


def exim_binary() -> Path:
    return EXIM_ROOT / "usr" / "sbin" / "exim4"


def library_path() -> str:
    """The multiarch library folders of the unpacked packages (for libidn.so.12)."""
    folders = sorted(str(p) for p in EXIM_ROOT.glob("usr/lib/*-linux-gnu*") if p.is_dir())
    return ":".join(folders)


def _missing_libraries() -> list[str]:
    done = subprocess.run(["ldd", str(exim_binary())], capture_output=True, text=True,
                          env={**os.environ, "LD_LIBRARY_PATH": library_path()},
                          timeout=30, check=False)
    return [line.split()[0] for line in done.stdout.splitlines() if "not found" in line]


def _run(command: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, cwd=cwd, timeout=300,
                          check=False)


def fetch_exim() -> str | None:
    """Unpack Exim into ``EXIM_ROOT`` unless it is there; ``None`` or why it cannot be had."""
    if not exim_binary().exists():
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            return f"Exim is not unpacked in {EXIM_ROOT} and apt-get/dpkg-deb are missing"
        with tempfile.TemporaryDirectory(prefix="exim-debs-") as folder:
            download = ["apt-get", "download", "-qq", *PACKAGES]
            done = _run(download, cwd=Path(folder))
            if done.returncode != 0:
                _run(["apt-get", "update", "-qq"])
                done = _run(download, cwd=Path(folder))
            if done.returncode != 0:
                return f"apt-get download {' '.join(PACKAGES)} failed: {done.stderr.strip()}"
            EXIM_ROOT.mkdir(parents=True, exist_ok=True)
            for deb in sorted(Path(folder).glob("*.deb")):
                done = _run(["dpkg-deb", "-x", str(deb), str(EXIM_ROOT)])
                if done.returncode != 0:
                    return f"dpkg-deb -x {deb.name} failed: {done.stderr.strip()}"
    if not exim_binary().exists():
        return f"the packages did not provide {exim_binary()}"
    exim_binary().chmod(0o755)  # no setuid: the instance runs as Debian-exim throughout
    missing = _missing_libraries()
    if missing:
        return f"{exim_binary()} needs libraries that are not there: {', '.join(missing)}"
    return None


def ensure_exim_user() -> str | None:
    """Create the ``Debian-exim`` system user if it is missing; ``None`` or why not."""
    with contextlib.suppress(KeyError):
        pwd.getpwnam(EXIM_USER)
        return None
    done = _run(["useradd", "--system", "--user-group", "--no-create-home",
                 "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", EXIM_USER])
    if done.returncode != 0:
        return f"cannot create the {EXIM_USER} user: {done.stderr.strip()}"
    return None


def exim_recipe(listen: str = "25 : 587", reinject_port: int = 10026,
                relay_port: int = 10025) -> str:
    """The consent-relay parts of the Exim configuration, exactly as docs/deployment.md shows.

    Sections start at ``begin NAME`` lines; :func:`exim_config` puts each part first in its
    section of the test configuration.
    """
    port_is_reinject = f"${{if ={{$received_port}}{{{reinject_port}}}}}"
    return f"""\
# main section
daemon_smtp_ports = {listen} : {reinject_port}
hostlist relay_loopback = 127.0.0.1

begin acl
# the first statements of the RCPT ACL (acl_check_rcpt in Debian's configuration):
acl_check_rcpt:
  accept  condition = {port_is_reinject}
          hosts     = +relay_loopback
  deny    condition = {port_is_reinject}
          message   = only consent-relay sends on this port

begin routers
# the first router:
consent_relay:
  driver = manualroute
  domains = ! +local_domains
  condition = ${{if !={{$received_port}}{{{reinject_port}}}}}
  transport = consent_relay_smtp
  route_list = * 127.0.0.1
  self = send
  no_more

begin transports
consent_relay_smtp:
  driver = smtp
  port = {relay_port}
  max_rcpt = 1
  hosts_avoid_tls = 127.0.0.1
"""


def recipe_sections(recipe: str) -> dict[str, str]:
    """``{"main": ..., "acl": ..., "routers": ..., "transports": ...}`` of a recipe text."""
    sections: dict[str, str] = {}
    name = "main"
    for part in re.split(r"^begin (\w+)\n", recipe, flags=re.M):
        if part in ("acl", "routers", "transports"):
            name = part
            continue
        sections[name] = sections.get(name, "") + part.strip("\n") + "\n"
    return sections


def exim_config(base: Path, submit_port: int, reinject_port: int, relay_port: int,
                sink_port: int, max_rcpt: int = 1) -> str:
    """The test instance's whole configuration: private parts around the recipe.

    ``max_rcpt`` other than 1 replaces the recipe's limit (to take the relay's 452 path).
    """
    text = exim_recipe(str(submit_port), reinject_port, relay_port)
    text = text.replace("  max_rcpt = 1\n", f"  max_rcpt = {max_rcpt}\n")
    recipe = recipe_sections(text)
    return f"""\
# --- private test instance: own spool and logs, loopback only, unprivileged, fast retries ---
primary_hostname = mta.example.test
exim_path = {exim_binary()}
exim_user = {EXIM_USER}
exim_group = {EXIM_USER}
spool_directory = {base}/spool
log_file_path = {base}/log/%slog
log_selector = +received_recipients +smtp_confirmation +incoming_interface
keep_environment = LD_LIBRARY_PATH
local_interfaces = 127.0.0.1
tls_advertise_hosts =
domainlist local_domains = @
acl_smtp_rcpt = acl_check_rcpt
{recipe["main"]}
begin acl
{recipe["acl"]}\
# --- the rest of the test's RCPT ACL: loopback may send out, nobody else ---
  accept  hosts = 127.0.0.0/8
  deny    message = relay not permitted

begin routers
{recipe["routers"]}
# --- stands in for Debian's dnslookup router: everything else goes to the capture sink ---
internet:
  driver = manualroute
  domains = ! +local_domains
  transport = remote_smtp
  route_list = * 127.0.0.1
  self = send

begin transports
{recipe["transports"]}
remote_smtp:
  driver = smtp
  port = {sink_port}

begin retry
* * F,10m,2s
"""


@dataclass
class EximInstance:
    """One private Exim daemon; ``start()``/``stop()`` it, submit mail, watch its queue."""

    base: Path
    sink_port: int
    relay_port: int
    submit_port: int = field(default_factory=free_port)
    reinject_port: int = field(default_factory=free_port)
    max_rcpt: int = 1
    proc: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.base / "exim.conf"

    @property
    def mainlog(self) -> Path:
        return self.base / "log" / "mainlog"

    def write_config(self) -> None:
        for name in ("spool", "log"):
            (self.base / name).mkdir(exist_ok=True)
            shutil.chown(self.base / name, EXIM_USER, EXIM_USER)
            (self.base / name).chmod(0o750)
        self.config.write_text(exim_config(self.base, self.submit_port, self.reinject_port,
                                           self.relay_port, self.sink_port, self.max_rcpt))
        self.config.chmod(0o644)

    def _popen(self, *args: str, output: Path | None = None) -> subprocess.Popen[bytes]:
        out = (self.base / "exim.out").open("ab") if output is None else output.open("ab")
        try:
            return subprocess.Popen(
                [str(exim_binary()), "-C", str(self.config), *args],
                stdout=out, stderr=subprocess.STDOUT, user=EXIM_USER, group=EXIM_USER,
                extra_groups=[], env={"LD_LIBRARY_PATH": library_path(), "PATH": "/usr/bin:/bin"},
                cwd=self.base, start_new_session=True)
        finally:
            out.close()

    def command(self, *args: str, timeout: float = 60) -> str:
        """Run ``exim -C config ARGS`` as the Exim user; its output (stderr merged)."""
        output = self.base / "command.out"
        output.write_bytes(b"")
        proc = self._popen(*args, output=output)
        returncode = proc.wait(timeout=timeout)
        text = "\n".join(line for line in output.read_text(errors="replace").splitlines()
                         if "lost privilege for using -C" not in line)
        if returncode != 0:
            raise RuntimeError(f"exim {' '.join(args)} failed ({returncode}): {text}\n"
                               f"{self.log_tail()}")
        return text

    def start(self) -> None:
        self.write_config()
        self.proc = self._popen("-bdf", "-q2s")
        if not wait_for_port(self.submit_port, 15) or not wait_for_port(self.reinject_port, 15):
            raise RuntimeError(f"exim did not listen: {self.log_tail()}\n"
                               f"{(self.base / 'exim.out').read_text(errors='replace')}")

    def stop(self) -> None:
        """SIGTERM the daemon, then end whatever of this instance still runs (by pid)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        for pid in self._leftover_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _leftover_pids(self) -> list[int]:
        """Deliveries and queue runners of this instance (their command line names its config)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if str(self.config).encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
        return pids

    def submit(self, sender: str, recipients: Sequence[str], data: bytes,
               port: int | None = None, source: str = "127.0.0.1") -> None:
        with smtplib.SMTP("127.0.0.1", port or self.submit_port, timeout=30,
                          source_address=(source, 0)) as client:
            client.ehlo("tester.example.test")
            client.sendmail(sender, list(recipients), data)

    def queue_count(self) -> int:
        """``exim -bpc``: messages in the queue (deferred or not yet delivered)."""
        return int(self.command("-bpc").strip().splitlines()[-1])

    def flush(self) -> None:
        """``exim -qff``: deliver everything queued now, ignoring retry times (and frozen)."""
        self.command("-qff", timeout=120)

    def wait_until_empty(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queue_count() == 0:
                return True
            time.sleep(0.25)
        return self.queue_count() == 0

    def log_text(self) -> str:
        return self.mainlog.read_text(errors="replace") if self.mainlog.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(line for line in self.log_text().splitlines()[-lines:]
                         if "lost privilege for using -C" not in line)


@pytest.fixture(name="exim_install", scope="session")
def exim_install_fixture() -> Path:
    """Exim unpacked in ``EXIM_ROOT`` and its user present, or the test is skipped."""
    reason = fetch_exim() or ensure_exim_user()
    if reason is not None:
        pytest.skip(f"Exim cannot be had: {reason}")
    return exim_binary()


@pytest.fixture(name="exim_max_rcpt")
def exim_max_rcpt_fixture() -> int:
    """The consent_relay_smtp transport's ``max_rcpt``; override with ``parametrize``."""
    return 1


@pytest.fixture(name="exim")
def exim_fixture(
    topology: Topology, exim_install: Path, exim_max_rcpt: int
) -> Iterator[EximInstance]:
    """A started private Exim routing outgoing mail through 127.0.0.1:``topology.relay_port``.

    Set CONSENT_RELAY_KEEP_E2E=1 to keep its directory (config, spool, log/mainlog) for a look.
    """
    with private_dir("consent-relay-exim-") as base:
        instance = EximInstance(base, topology.sink_port, topology.relay_port,
                                max_rcpt=exim_max_rcpt)
        try:
            instance.start()
            yield instance
        finally:
            instance.stop()


@pytest.fixture(name="exim_relay_factory")
def exim_relay_factory_fixture(
    topology: Topology, exim: EximInstance, tmp_path: Path
) -> Iterator[RelayFactory]:
    """``make()`` starts the relay on ``topology.relay_port``, re-injecting into Exim."""
    with started_relays(topology.relay_port, tmp_path) as start:
        yield lambda upstream_port=None: start(upstream_port or exim.reinject_port)
