"""The home folder's privacy (specs/0012 §5, finding 12): whatever made it, a home a
writer opens is 0700 and its databases 0600, and what the writer creates is private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from node.ops.context import open_local
from node.store.home import NodeHome


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_writer_makes_the_home_and_its_databases_private(tmp_path: Path) -> None:
    home = NodeHome(tmp_path / "lab")
    home.create_identity()
    with open_local(home):
        pass
    os.chmod(home.path, 0o755)  # as a home made by hand, or by an older version
    for db in home.path.glob("*.sqlite3*"):
        os.chmod(db, 0o644)
    with open_local(home) as ctx:
        (home.path / "made-while-writing").write_text("x")
        assert ctx.store is not None
    assert mode(home.path) == 0o700
    databases = list(home.path.glob("*.sqlite3*"))
    assert databases and all(mode(db) == 0o600 for db in databases)
    assert mode(home.path / "made-while-writing") == 0o600
