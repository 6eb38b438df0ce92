"""Backups of a running node, and the one safe way back (issue 16 "Backup and
restore"; README "Backing up a node home"). Real nodes, real SQLite files, a real
tar file: a home restored from a backup made before its last entries must not sign
until it has synced them back, or it would fork its own log (specs/0003 §7)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tests.cli_helpers import fabnode
from tests.node_process import api, log_size, running_node, wait_until

pytestmark = pytest.mark.integration


def ok(home: Path, *args: str | Path) -> dict[str, object]:
    status, out = fabnode(*args, home=home)
    assert status == 0, out
    result: dict[str, object] = out
    return result


def test_a_restored_home_signs_only_after_syncing_its_own_log_back(tmp_path: Path) -> None:
    a, b, a2 = tmp_path / "lab-a", tmp_path / "lab-b", tmp_path / "lab-a-restored"
    me = str(ok(a, "init")["identity"])
    ok(b, "init")
    backup = tmp_path / "a.backup"
    with running_node(b) as (_, ready_b):
        bootstrap = ("--bootstrap", ready_b["listen"][0])
        with running_node(a, *bootstrap):
            ok(a, "note", "before the backup")
            made = ok(a, "backup", backup, "--with-keys")  # while the node runs
            assert made["own_log_size"] == 2 and made["with_keys"] is True
            ok(a, "note", "after the backup")
            ok(a, "note", "after the backup, again")
            wait_until("B holds A's four entries", lambda: log_size(b, me) == 4, 60)

        restored = ok(a2, "restore", backup)
        assert restored["own_log_size"] == 2
        status, refused = fabnode("note", "from the past", home=a2)  # offline: refused
        assert status == 1 and refused["error"]["code"] == "misuse.restored-backup"

        with running_node(a2, *bootstrap):
            wait_until(
                "the restore satisfied by a sync with B",
                lambda: api(a2, "GET", "/api/v1/status")["restore"] is None,
                60,
            )
            assert log_size(a2, me) == 4
            assert ok(a2, "note", "signed after the sync")["seq"] == 5
            wait_until("B takes the new entry", lambda: log_size(b, me) == 5, 60)
            assert api(b, "GET", "/api/v1/status")["frozen_authors"] == []  # no fork


def test_a_damaged_or_foreign_backup_restores_nothing(tmp_path: Path) -> None:
    home = tmp_path / "lab"
    ok(home, "init")
    backup = tmp_path / "lab.backup"
    ok(home, "backup", backup)
    with tarfile.open(backup) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
    assert "keys/signing.key" not in members  # keys only when asked

    damaged = tmp_path / "damaged.backup"
    with tarfile.open(damaged, "w") as tar:
        for name, data in members.items():
            changed = data.replace(b"{", b"{ ", 1) if name == "identity.json" else data
            info = tarfile.TarInfo(name)
            info.size = len(changed)
            tar.addfile(info, io.BytesIO(changed))
    target = tmp_path / "target"
    status, out = fabnode("restore", damaged, home=target)
    assert status == 1 and out["error"]["code"] == "misuse.bad-backup"
    assert not target.exists() or list(target.iterdir()) == []  # nothing half-restored

    status, out = fabnode("restore", backup, home=home)  # an existing home
    assert status == 1 and out["error"]["code"] == "misuse.home-exists"
