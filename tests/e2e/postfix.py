"""A private Postfix instance in a temp dir, wired as the organisation's MTA in front of the relay.

Layout (architecture.md section 1, and exactly what ``docs/deployment.md`` documents)::

    test --SMTP--> submission smtpd 127.0.0.1:P1   (content_filter = consentrelay:[127.0.0.1]:R)
                     | qmgr -> "consentrelay" smtp transport
                   consent-relay serve on 127.0.0.1:R
                     | SMTP
                   re-injection smtpd 127.0.0.1:P2 (content_filter= , no checks, no milters)
                     | qmgr -> smtp via relayhost = [127.0.0.1]:S
                   capture sink 127.0.0.1:S (tests/e2e/sink.py)

With ``via = "relayhost"`` (the "relay as smart host" recipe) the submission service has no
content filter; ``default_transport = consentrelay`` and ``relayhost = [127.0.0.1]:R`` send all
mail to the relay, whose upstream is the sink.

The instance has its own config_directory, queue_directory and data_directory, listens only on
the two loopback ports it is given (never on port 25, so a Debian default instance started by
apt does not matter), logs to its own ``maillog`` file, and retries deferred mail every few
seconds instead of every 5 minutes. Postfix runs as root here, with ``mail_owner = postfix``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sink import Sink

SBIN = ("/usr/sbin", "/usr/bin", "/sbin")


def find_program(name: str) -> str | None:
    """Postfix lives in /usr/sbin, which is not on every user's PATH."""
    found = shutil.which(name)
    if found:
        return found
    for folder in SBIN:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return None


POSTFIX = find_program("postfix")
SKIP_REASON = (
    "postfix is not installed (CI: apt-get install -y postfix swaks; see tests/e2e/README.md)"
    if POSTFIX is None
    else "Postfix end-to-end tests need root (private instance with mail_owner = postfix)"
)
requires_postfix = pytest.mark.skipif(
    POSTFIX is None or os.geteuid() != 0, reason=SKIP_REASON
)


def free_port() -> int:
    """An ephemeral TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


RECIPE_MAIN_CF = """\
# consent-relay: hand each recipient to the filter in its own transaction, so a message with
# mixed consent never waits for a 452 retry (Postfix retries deferred mail after minutes).
consentrelay_destination_recipient_limit = 1
consentrelay_destination_concurrency_limit = 10
"""


def recipe_master_cf(relay_port: int, reinject: str) -> str:
    """The consent-relay services of master.cf, exactly as docs/deployment.md shows them."""
    return f"""\
# Outgoing mail from users and tools: add this option to each smtpd service that receives
# mail to be sent out (submission, or port 25 from mynetworks):
#   -o content_filter=consentrelay:[127.0.0.1]:{relay_port}
#
# The transport that hands mail to consent-relay:
consentrelay unix  -       -       n       -       10      smtp
  -o syslog_name=postfix/consentrelay
  -o smtp_send_xforward_command=yes
  -o smtp_tls_security_level=none
# Mail coming back from consent-relay: accepted from loopback only, never filtered twice.
{reinject} inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/reinject
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
  -o smtpd_helo_restrictions=
  -o smtpd_client_restrictions=
  -o smtpd_sender_restrictions=
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
"""


RECIPE_RELAYHOST_MAIN_CF = """\
# consent-relay as the smart host: all outgoing mail goes to it, one recipient per transaction.
default_transport = consentrelay
relayhost = [127.0.0.1]:10025
consentrelay_destination_recipient_limit = 1
"""


def main_cf(
    base: Path, sink_port: int, recipient_limit_one: bool, via: str = "content_filter",
    relay_port: int = 10025,
) -> str:
    """main.cf of the test instance: private directories, fast retries, then the recipe.

    ``via="relayhost"`` is the variant without re-injection: Postfix's default transport is
    the relay, and the relay forwards to its own upstream (an ESP; the sink here).
    """
    recipe = RECIPE_MAIN_CF
    if via == "relayhost":
        recipe = RECIPE_RELAYHOST_MAIN_CF.replace(":10025", f":{relay_port}")
        sink_port = relay_port
    if not recipient_limit_one:
        recipe = recipe.replace("recipient_limit = 1\n", "recipient_limit = 1000\n")
    return f"""\
# --- private test instance: own directories, loopback only, fast retries ---
compatibility_level = 3.6
config_directory = {base}/etc
queue_directory = {base}/spool
data_directory = {base}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mta.example.test
mydomain = example.test
myorigin = example.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:{sink_port}
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
smtp_connect_timeout = 2s
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no

{recipe}"""


def master_cf(
    submit_port: int, reinject_port: int, relay_port: int, via: str = "content_filter"
) -> str:
    filtered = f"  -o content_filter=consentrelay:[127.0.0.1]:{relay_port}\n"
    return f"""\
# service     type  private unpriv  chroot  wakeup  maxproc command + args
# --- the test's submission service: outgoing mail, through consent-relay ---
127.0.0.1:{submit_port} inet  n       -       n       -       -       smtpd
{filtered if via == "content_filter" else ""}\
{recipe_master_cf(relay_port, f"127.0.0.1:{reinject_port}")}\
# --- Postfix's own services (chroot off) ---
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


@dataclass
class PostfixInstance:
    """One private Postfix; ``start()``/``stop()`` it, submit mail, wait for the queue to drain."""

    base: Path
    sink_port: int
    relay_port: int
    recipient_limit_one: bool = True
    via: str = "content_filter"
    submit_port: int = field(default_factory=free_port)
    reinject_port: int = field(default_factory=free_port)

    @property
    def config_dir(self) -> Path:
        return self.base / "etc"

    @property
    def maillog(self) -> Path:
        return self.base / "maillog"

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.base / "data").mkdir(exist_ok=True)
        (self.base / "spool").mkdir(exist_ok=True)
        shutil.chown(self.base / "data", "postfix", "postfix")
        (self.config_dir / "main.cf").write_text(
            main_cf(self.base, self.sink_port, self.recipient_limit_one, self.via,
                    self.relay_port))
        (self.config_dir / "master.cf").write_text(
            master_cf(self.submit_port, self.reinject_port, self.relay_port, self.via))

    def command(self, program: str, *args: str, timeout: float = 30) -> str:
        path = find_program(program)
        assert path is not None, f"{program} not found"
        done = subprocess.run([path, "-c", str(self.config_dir), *args], capture_output=True,
                              text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed ({done.returncode}): "
                               f"{done.stderr.strip()} {self.log_tail()}")
        return done.stdout

    def start(self) -> None:
        self.write_config()
        self.command("postfix", "start", timeout=60)
        if not wait_for_port(self.submit_port, 15) or not wait_for_port(self.reinject_port, 15):
            raise RuntimeError(f"postfix did not listen: {self.log_tail()}")

    def stop(self) -> None:
        try:
            self.command("postfix", "stop", timeout=30)
        except (RuntimeError, subprocess.TimeoutExpired):
            pid_file = self.base / "spool" / "pid" / "master.pid"
            if pid_file.exists():
                with contextlib.suppress(ValueError, ProcessLookupError):
                    os.kill(int(pid_file.read_text().split()[0]), 9)

    def set_recipient_limit_one(self, enabled: bool) -> None:
        """Toggle ``consentrelay_destination_recipient_limit = 1`` and reload."""
        self.recipient_limit_one = enabled
        value = "1" if enabled else "1000"
        self.command("postconf", "-e", f"consentrelay_destination_recipient_limit={value}")
        self.command("postfix", "reload")

    def submit(self, sender: str, recipients: Sequence[str], data: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", self.submit_port, timeout=30) as client:
            client.ehlo("tester.example.test")
            client.sendmail(sender, list(recipients), data)

    def queue(self) -> list[dict[str, object]]:
        """``postqueue -j``: one JSON object per queued message."""
        out = self.command("postqueue", "-j")
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def flush(self) -> None:
        """Ask for immediate delivery of everything queued, deferred mail included."""
        self.command("postqueue", "-f")

    def wait_until_empty(self, timeout: float, flush_every: float = 3.0) -> bool:
        """Wait (bounded) until the queue is empty, flushing deferred mail now and then."""
        deadline = time.monotonic() + timeout
        next_flush = time.monotonic() + flush_every
        while time.monotonic() < deadline:
            if not self.queue():
                return True
            if time.monotonic() >= next_flush:
                self.flush()
                next_flush = time.monotonic() + flush_every
            time.sleep(0.25)
        return not self.queue()

    def log_text(self) -> str:
        return self.maillog.read_text(errors="replace") if self.maillog.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


@dataclass
class Topology:
    """Ports of one test run: sink, relay, and the Postfix around them."""

    sink_port: int = field(default_factory=free_port)
    relay_port: int = field(default_factory=free_port)


@contextlib.contextmanager
def private_dir(prefix: str) -> Iterator[Path]:
    """A temp dir the MTA's users can traverse (pytest's tmp_path is root-only), removed
    afterwards unless CONSENT_RELAY_KEEP_E2E is set."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        if os.environ.get("CONSENT_RELAY_KEEP_E2E") is None:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(name="topology")
def topology_fixture() -> Topology:
    return Topology()


@pytest.fixture(name="sink")
def sink_fixture(topology: Topology, tmp_path: Path) -> Iterator[Sink]:
    """The capture sink, started; every delivery is also written to ``tmp_path/sink``."""
    server = Sink(topology.sink_port, save_dir=tmp_path / "sink")
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="postfix_via")
def postfix_via_fixture() -> str:
    """How Postfix reaches the relay; override with ``@pytest.mark.parametrize``."""
    return "content_filter"


@pytest.fixture(name="postfix")
def postfix_fixture(topology: Topology, postfix_via: str) -> Iterator[PostfixInstance]:
    """A started private Postfix filtering through 127.0.0.1:``topology.relay_port``.

    Set CONSENT_RELAY_KEEP_E2E=1 to keep its directory (config, queue, maillog) for a look.
    """
    with private_dir("consent-relay-postfix-") as base:
        instance = PostfixInstance(base, topology.sink_port, topology.relay_port, via=postfix_via)
        try:
            instance.start()
            yield instance
        finally:
            instance.stop()
