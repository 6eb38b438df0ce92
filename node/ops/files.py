"""Reading a file the user names (a manifest, an advert, a charter, a proof bundle, a
file to seal), bounded: at most `limit` + 1 bytes are read, so whatever decodes it sees
an oversized file as one and refuses it by its own rule before parsing, and a file that
cannot be read is a typed `misuse.bad-file` error, in the reader's language at the CLI.
"""

from __future__ import annotations

from pathlib import Path

from node.i18n import N_, localized
from protocol.errors import LocalMisuseError


def read_bounded(path: Path, limit: int) -> bytes:
    """The file's first `limit` + 1 bytes (more than `limit`: the caller's refusal)."""
    try:
        with path.open("rb") as f:
            return f.read(limit + 1)
    except OSError as e:
        raise localized(
            LocalMisuseError,
            "misuse.bad-file",
            N_("cannot read {file}: {reason}"),
            file=path,
            reason=e.strerror,
        ) from e
