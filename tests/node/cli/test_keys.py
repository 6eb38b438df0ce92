"""`fabnode key show|rotate|revoke` on a real home, offline and through its running node."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli_helpers import fabnode
from tests.node_process import running_node


def init_home(tmp_path: Path) -> Path:
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    return home


def offline_recovery_key(home: Path, offline: Path) -> Path:
    """The runbook's first step after `init`: the recovery key leaves the home."""
    offline.mkdir()
    return Path(shutil.move(home / "keys" / "recovery.key", offline / "recovery.key"))


def test_offline_show_rotate_and_revoke(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    status, shown = fabnode("key", "show", home=home)
    assert status == 0 and shown["history"] == [] and shown["recovery_key_in_home"] is True
    assert shown["warnings"]  # the recovery key should be offline
    recovery = offline_recovery_key(home, tmp_path / "usb")
    assert fabnode("note", "seq 2", home=home)[0] == 0
    status, rotated = fabnode("key", "rotate", home=home)
    assert status == 0 and rotated["seq"] == 3
    for text in ("seq 4, the thief's", "seq 5, the thief's"):
        assert fabnode("note", text, home=home)[0] == 0
    status, revoked = fabnode(
        "key", "revoke", "--recovery-key", recovery, "--from-seq", "4", home=home
    )
    assert status == 0 and (revoked["seq"], revoked["void"]) == (6, [4, 6])
    assert not (home / "keys" / "recovery.key").exists()  # never copied into the home
    assert fabnode("note", "seq 7, ours again", home=home)[0] == 0
    status, log = fabnode("ledger", "log", home=home)
    assert [e["revoked"] for e in log["entries"]] == [False] * 3 + [True] * 2 + [False] * 2
    status, shown = fabnode("key", "show", home=home)
    assert status == 0 and shown["warnings"] == [] and shown["recovery_key_in_home"] is False
    assert [(e["kind"], e["seq"]) for e in shown["history"]] == [
        ("identity.inception", 1),
        ("key.rotate", 3),
        ("key.revoke", 6),
    ]
    assert shown["since_seq"] == 6 and shown["signing_key"] == revoked["signing_key"]
    assert fabnode("ledger", "verify", home=home)[1]["ok"] is True


def test_revoke_refuses_another_key_a_bad_seq_and_a_missing_file(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    assert fabnode("note", "seq 2", home=home)[0] == 0
    signing = home / "keys" / "signing.key"
    recovery = home / "keys" / "recovery.key"
    cases = [
        (signing, "2", "misuse.wrong-recovery-key"),
        (recovery, "1", "misuse.revoke-out-of-range"),
        (recovery, "4", "misuse.revoke-out-of-range"),
        (tmp_path / "nowhere.key", "2", "misuse.bad-file"),
    ]
    for path, seq, code in cases:
        status, out = fabnode("key", "revoke", "--recovery-key", path, "--from-seq", seq, home=home)
        assert status == 1 and out["error"]["code"] == code
    assert len(fabnode("ledger", "log", home=home)[1]["entries"]) == 2


def test_through_the_running_node(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    recovery = offline_recovery_key(home, tmp_path / "usb")
    with running_node(home):
        assert fabnode("note", "seq 2", home=home)[0] == 0
        status, rotated = fabnode("key", "rotate", home=home)
        assert status == 0 and rotated["seq"] == 3
        assert fabnode("note", "seq 4", home=home)[0] == 0
        status, wrong = fabnode(
            "key", "revoke", "--recovery-key", home / "keys" / "signing.key", "--from-seq", "4",
            home=home,
        )  # fmt: skip
        assert status == 1 and wrong["error"]["code"] == "misuse.wrong-recovery-key"
        status, revoked = fabnode(
            "key", "revoke", "--recovery-key", recovery, "--from-seq", "4", home=home
        )
        assert status == 0 and revoked["void"] == [4, 5]
        assert fabnode("note", "seq 6", home=home)[0] == 0
        status, shown = fabnode("key", "show", home=home)
        assert status == 0 and [e["seq"] for e in shown["history"]] == [1, 3, 5]
        assert shown["signing_key"] == revoked["signing_key"] and shown["home_key_in_force"]
        assert fabnode("ledger", "verify", home=home)[1]["ok"] is True
    assert not (home / "keys" / "recovery.key").exists()
    status, shown = fabnode("key", "show", home=home)  # offline again: the same answer
    assert status == 0 and shown["signing_key"] == revoked["signing_key"]
