"""The delivery key log: what was appended is read back after a restart, within bounds."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

from store.keylog import RECORD, KeyLog


def digest(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()


def reopened(path: Path, limit: int = 100, newer_than: float = 0) -> list[bytes]:
    return list(KeyLog(path, limit).read(newer_than=newer_than))


def test_appended_keys_are_read_back_by_a_new_process(tmp_path: Path) -> None:
    log = KeyLog(tmp_path / "delivered", limit=100)
    for n in range(3):
        log.append(digest(n))
    log.close()
    assert reopened(tmp_path / "delivered") == [digest(n) for n in range(3)]


def test_a_record_torn_by_a_crash_is_ignored(tmp_path: Path) -> None:
    log = KeyLog(tmp_path / "delivered", limit=100)
    log.append(digest(1))
    log.close()
    with (tmp_path / "delivered").open("ab") as file:
        file.write(RECORD.pack(digest(2), time.time())[:17])
    assert reopened(tmp_path / "delivered") == [digest(1)]


def test_keys_older_than_the_window_are_not_read(tmp_path: Path) -> None:
    (tmp_path / "delivered").write_bytes(
        RECORD.pack(digest(1), time.time() - 86400) + RECORD.pack(digest(2), time.time()))
    assert reopened(tmp_path / "delivered", newer_than=time.time() - 60) == [digest(2)]


def test_a_full_log_rotates_and_two_generations_are_kept(tmp_path: Path) -> None:
    log = KeyLog(tmp_path / "delivered", limit=3)
    for n in range(8):
        log.append(digest(n))
    log.close()
    kept = reopened(tmp_path / "delivered", limit=3)
    assert kept == [digest(n) for n in range(3, 8)]
    assert (tmp_path / "delivered.1").stat().st_size == 3 * RECORD.size


def test_a_restarted_log_continues_counting_towards_rotation(tmp_path: Path) -> None:
    log = KeyLog(tmp_path / "delivered", limit=3)
    for n in range(3):
        log.append(digest(n))
    log.close()
    again = KeyLog(tmp_path / "delivered", limit=3)
    list(again.read(newer_than=0))
    again.append(digest(3))
    again.close()
    assert (tmp_path / "delivered").stat().st_size == RECORD.size
    assert reopened(tmp_path / "delivered", limit=3) == [digest(n) for n in range(4)]


def test_a_worker_also_reads_the_keys_its_siblings_logged(tmp_path: Path) -> None:
    sibling = KeyLog(tmp_path / "delivered.w1", limit=100)
    sibling.append(digest(7))
    sibling.close()
    own = KeyLog(tmp_path / "delivered.w0", limit=100, also_read=(tmp_path / "delivered.w1",))
    assert list(own.read(newer_than=0)) == [digest(7)]


def test_keys_appended_after_a_torn_record_are_read_back(tmp_path: Path) -> None:
    log = KeyLog(tmp_path / "delivered", limit=100)
    log.append(digest(1))
    log.close()
    with (tmp_path / "delivered").open("ab") as file:
        file.write(RECORD.pack(digest(2), time.time())[:17])
    restarted = KeyLog(tmp_path / "delivered", limit=100)
    assert list(restarted.read(newer_than=0)) == [digest(1)]
    restarted.append(digest(3))
    restarted.close()
    assert reopened(tmp_path / "delivered") == [digest(1), digest(3)]


SHORT_WRITE = """
import hashlib, resource, signal, sys, time
from pathlib import Path
from store.keylog import KeyLog, RECORD
path = Path(sys.argv[1])
keys = [hashlib.sha256(str(i).encode()).digest() for i in range(6)]
log = KeyLog(path, 1000)
log.open()
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (3 * RECORD.size + 20, hard))  # a full disk
for key in keys[:4]:
    try:
        log.append(key)
    except OSError:
        print("refused")
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space again
for key in keys[4:]:
    log.append(key)
log.close()
found = list(KeyLog(path, 1000).read(newer_than=0))
print([keys.index(k) for k in found])
"""


def test_a_short_write_on_a_full_disk_is_reported_and_later_keys_stay_readable(
    tmp_path: Path,
) -> None:
    # in a child process: a file-size limit stands in for the full disk
    done = subprocess.run([sys.executable, "-c", SHORT_WRITE, str(tmp_path / "keys")],
                          capture_output=True, text=True, timeout=60, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.splitlines() == ["refused", "[0, 1, 2, 4, 5]"]


def test_an_unreadable_sibling_log_does_not_cost_a_worker_its_own(tmp_path: Path) -> None:
    (tmp_path / "delivered.w1").mkdir()  # a directory where a file should be: unreadable
    own = KeyLog(tmp_path / "delivered.w0", limit=100)
    own.append(digest(3))
    own.close()
    again = KeyLog(tmp_path / "delivered.w0", limit=100, also_read=(tmp_path / "delivered.w1",))
    assert list(again.read(newer_than=0)) == [digest(3)]
