"""Upload staging folders do not pile up (specs/0012 §5, finding 12)."""

from __future__ import annotations

import os
from pathlib import Path

from node.api.live import UPLOAD_TTL_S, sweep_uploads


def test_abandoned_uploads_are_swept_and_open_ones_counted(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    now = 2_000_000_000.0
    for name, age_s in (("old", UPLOAD_TTL_S + 60), ("fresh", 60), ("just-in-time", 0)):
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "part.stl").write_bytes(b"solid")
        os.utime(folder, (now - age_s, now - age_s))
    assert sweep_uploads(root, now) == 2
    assert sorted(p.name for p in root.iterdir()) == ["fresh", "just-in-time"]
    assert sweep_uploads(tmp_path / "none-yet", now) == 0
