"""A node on a full disk (specs/0012 §5 finding 6): it stays up read-only, starts again
without free space, and writes again once space is freed, on a real file system.

The disk is a small tmpfs mounted for the test (root only, else skipped): SQLite's
own "disk is full", ENOSPC on files, and the space `statvfs` reports are all real.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.store.diskspace import MIB
from tests.cli_helpers import fabnode
from tests.node_process import api, running_node, wait_until

DISK_MIB = 24
MIN_FREE_MIB = 4  # the node's mark: its reserve is 1/16 of it, 256 KiB


@contextlib.contextmanager
def small_disk(where: Path) -> Iterator[Path]:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MIB}m,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Take every free block of `disk` (a file grown until ENOSPC); return the file."""
    filler = disk / "filler.bin"
    with filler.open("ab") as f:
        chunk = bytes(MIB)
        while True:
            try:
                f.write(chunk)
                f.flush()
            except OSError as e:
                assert e.errno == errno.ENOSPC
                break
        with contextlib.suppress(OSError):
            for size in (64 * 1024, 4096):
                while True:
                    f.write(bytes(size))
                    f.flush()
    assert os.statvfs(disk).f_bavail == 0
    return filler


def disk_status(home: Path) -> dict[str, object]:
    status: dict[str, object] = api(home, "GET", "/api/v1/status")["disk"]
    return status


def sizes(home: Path) -> list[int]:
    """The size of each log the running node holds."""
    return [h["size"] for h in api(home, "GET", "/api/v1/status")["logs"]]


def note(home: Path, text: str) -> tuple[int, dict[str, object]]:
    return fabnode("note", text, home=home)


def test_a_node_on_a_full_disk_serves_read_only_restarts_and_recovers(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        home = disk / "home"
        assert fabnode("init", home=home)[0] == 0
        assert note(home, "written with room")[0] == 0
        options = ("--min-free-mib", str(MIN_FREE_MIB))

        with running_node(home, *options):
            status = disk_status(home)
            assert (
                status["read_only"] is False and status["reserve_bytes"] == MIN_FREE_MIB * MIB // 16
            )
            filler = fill(disk)
            wait_until("read-only", lambda: disk_status(home)["read_only"], 30)
            code, refused = note(home, "no room")
            assert code == 1 and refused["error"]["code"] == "misuse.disk-full"  # type: ignore[index]
            assert sizes(home) == [2]  # inception and note: reads still answer

        # Stopped (SQLite removed its -wal and -shm) and the disk filled again to the last
        # block: the node starts, as the reserve gives SQLite room to open its databases.
        fill(disk)
        with running_node(home, *options):
            status = disk_status(home)
            assert status["read_only"] is True and status["reserve_bytes"] == 0
            code, refused = note(home, "still no room")
            assert refused["error"]["code"] == "misuse.disk-full"  # type: ignore[index]
            assert sizes(home) == [2], "what was stored is intact"

            filler.unlink()  # the operator frees space: no restart needed
            wait_until("writable", lambda: not disk_status(home)["read_only"], 30)
            assert note(home, "room again")[0] == 0
            assert sizes(home) == [3]
            assert disk_status(home)["reserve_bytes"] == MIN_FREE_MIB * MIB // 16
