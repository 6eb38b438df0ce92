"""`fabnode entry decode FILE`: one entry file decoded offline (specs/0002 §3: decoding
only; the log rules, which need the log, are separate)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from node.i18n import N_, _, localized
from node.ops import context as operations
from node.ops.files import read_bounded
from protocol import limits
from protocol.entry import decode_entry
from protocol.errors import DecodeError


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    entry = sub.add_parser("entry", help=_("inspect encoded entries")).add_subparsers(
        metavar="ACTION"
    )
    p = entry.add_parser("decode", parents=[common], help=_("decode and verify one entry file"))
    p.add_argument("file", type=Path, metavar="FILE", help=_("an encoded entry (msgpack)"))
    p.set_defaults(handler=cmd_entry_decode)


def cmd_entry_decode(args: argparse.Namespace) -> dict[str, Any]:
    data = _read_limited(args.file, limits.MAX_ENTRY_BYTES)
    entry = decode_entry(data)  # decoding only: log rules are separate (specs/0002 §3)
    out = operations.entry_json(entry)
    out["_text"] = json.dumps(out, indent=2)
    return out


def _read_limited(path: Path, limit: int) -> bytes:
    """Read at most limit+1 bytes, so an oversized file is refused before parsing."""
    data = read_bounded(path, limit)
    if len(data) > limit:
        why = N_("{path} is larger than {limit} bytes")
        raise localized(DecodeError, "decode.too-large", why, path=path, limit=limit)
    return data
