"""`fabnode init`, `id` and `entry decode` from the command line."""

from __future__ import annotations

import stat
from pathlib import Path

from protocol.ids import id_from_text
from tests.cli_helpers import fabnode
from tests.factory import Author


def test_init_creates_private_keys_and_refuses_to_overwrite(tmp_path: Path) -> None:
    home = tmp_path / "home"
    status, created = fabnode("init", home=home)
    assert status == 0
    for name in ("signing.key", "recovery.key"):
        mode = stat.S_IMODE((home / "keys" / name).stat().st_mode)
        assert mode == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    before = (home / "keys" / "signing.key").read_bytes()

    status, refused = fabnode("init", home=home)
    assert status == 1
    assert refused["error"]["code"] == "misuse.identity-exists"
    assert (home / "keys" / "signing.key").read_bytes() == before

    status, shown = fabnode("id", home=home)
    assert status == 0
    assert shown["identity"] == created["identity"]
    assert len(id_from_text(shown["identity"])) == 32
    assert "peer_id" in shown


def test_id_without_identity_is_a_typed_error(tmp_path: Path) -> None:
    status, out = fabnode("id", home=tmp_path / "empty")
    assert status == 1
    assert out["error"]["code"] == "misuse.no-identity"


def test_entry_decode_prints_fields_or_a_typed_error(tmp_path: Path) -> None:
    author = Author("cli")
    author.note("hello, fab labs")
    good = tmp_path / "inception.entry"
    good.write_bytes(author.entries[0].raw)
    status, out = fabnode("entry", "decode", good)
    assert status == 0
    assert out["seq"] == 1 and out["kind"] == "identity.inception"
    assert "log_checked" not in out  # decoding only: the log rules are separate
    assert id_from_text(out["author"]) == author.id

    note = tmp_path / "note.entry"
    note.write_bytes(author.entries[1].raw)
    status, out = fabnode("entry", "decode", note)
    assert status == 0
    assert out["body"] == {"text": "hello, fab labs"} and out["body_status"]["valid"] is True

    broken = tmp_path / "broken.entry"
    raw = bytearray(author.entries[1].raw)
    raw[-1] ^= 0x01
    broken.write_bytes(bytes(raw))
    status, out = fabnode("entry", "decode", broken)
    assert status == 1
    assert out["error"]["code"] == "verify.bad-signature"

    huge = tmp_path / "huge.entry"
    huge.write_bytes(b"\x00" * (64 * 1024 + 1))
    status, out = fabnode("entry", "decode", huge)
    assert status == 1 and out["error"]["code"] == "decode.too-large"
