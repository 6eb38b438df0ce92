"""Print-readiness findings kept per mesh blob: `<home>/readiness/<sha256 hex>.json`.

Readiness (specs/0010 §3.3) is a function of a mesh's bytes alone, so it is kept by the
blob's hash, once for every design that names the file: any node holding the bytes
measures the same findings. (What a design's author publishes in `design.readiness`
entries, §3.5, is the catalogue's.) `ReadinessStore.get(sha256)` returns what
was stored, or None when nothing was, or when the file was written by another
measurement version (READINESS_VERSION) or is damaged: the caller measures again.
`put` writes through a temporary file and an atomic rename, so a reader sees a whole
file or none.

Left to others: measuring (node.ops.readiness), deciding when (node.ops.designs).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Final

from ledger.readiness import Readiness, readiness_from_json
from protocol.errors import LocalMisuseError

#: Raised when the measurement (node.ops.readiness) changes, so stale findings are
#: measured again.
READINESS_VERSION: Final = 1


class ReadinessStore:
    """Findings by blob hash in one folder (module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, sha256: bytes) -> Path:
        if len(sha256) != 32:
            raise LocalMisuseError("misuse.bad-argument", f"want 32 bytes, got {len(sha256)}")
        return self.folder / f"{sha256.hex()}.json"

    def get(self, sha256: bytes) -> Readiness | None:
        try:
            data = json.loads(self._path(sha256).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("version") != READINESS_VERSION:
            return None
        try:
            return readiness_from_json(data.get("readiness"))
        except ValueError:
            return None

    def put(self, sha256: bytes, readiness: Readiness) -> None:
        path = self._path(sha256)
        text = json.dumps({"version": READINESS_VERSION, "readiness": readiness.to_json()})
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, path)
        except OSError as e:
            raise LocalMisuseError("misuse.bad-file", f"{path}: {e.strerror or e}") from e
