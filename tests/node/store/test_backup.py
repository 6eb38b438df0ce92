"""node.store.backup: an archive names only what a home holds, and a restore keeps
nothing it did not check (property-style cases; the round trip with real nodes is
tests/integration/test_backup.py)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from node.store.backup import FORMAT, MANIFEST, _safe_name, restore_backup
from node.store.home import NodeHome
from protocol.errors import LocalMisuseError


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("ledger.sqlite3", True),
        ("identity.json", True),
        ("keys/signing.key", True),
        ("blobs/ab/babcdef", True),
        ("../etc/passwd", False),
        ("/etc/passwd", False),
        ("blobs/../../x", False),
        ("blobs/ab/../../x", False),
        ("keys/other.key", False),
        ("api.token", False),
        ("blobs/abc/x", False),
        ("blobs//x", False),
    ],
)
def test_member_names_are_those_a_home_holds(name: str, safe: bool) -> None:
    assert _safe_name(name) is safe


def archive(path: Path, members: dict[str, bytes], listed: dict[str, bytes]) -> None:
    import hashlib  # noqa: PLC0415

    manifest = {
        "format": FORMAT,
        "identity": "b" + "a" * 52,
        "network": "00",
        "own_log_size": 0,
        "created_ms": 0,
        "with_keys": False,
        "members": {
            n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in listed.items()
        },
    }
    with tarfile.open(path, "w") as tar:
        for name, data in [(MANIFEST, json.dumps(manifest).encode()), *members.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize(
    ("members", "listed"),
    [
        ({"identity.json": b"{}", "../evil": b"x"}, {"identity.json": b"{}", "../evil": b"x"}),
        ({"identity.json": b"{}", "api.token": b"x"}, {"identity.json": b"{}"}),
        ({"identity.json": b"{}"}, {"identity.json": b"{}", "network.json": b"{}"}),
        ({"identity.json": b"{!}"}, {"identity.json": b"{}"}),
        ({"network.json": b"{}"}, {"network.json": b"{}"}),
    ],
    ids=["traversal", "unlisted", "missing", "altered", "no-identity"],
)
def test_a_bad_archive_restores_nothing(
    tmp_path: Path, members: dict[str, bytes], listed: dict[str, bytes]
) -> None:
    path = tmp_path / "x.backup"
    archive(path, members, listed)
    home = NodeHome(tmp_path / "home")
    with pytest.raises(LocalMisuseError) as e:
        restore_backup(path, home)
    assert e.value.code == "misuse.bad-backup"
    assert not home.path.exists() or list(home.path.iterdir()) == []
    assert not (tmp_path / "evil").exists()
