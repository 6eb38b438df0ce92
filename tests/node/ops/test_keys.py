"""Rotating and revoking our own keys on a real home (node.ops.keys), and what a crash
at each step of a key switch leaves behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.ops import context as operations
from node.ops import keys
from node.store.home import PENDING_KEY_FILE, NodeHome
from protocol import kinds
from protocol.errors import LocalMisuseError


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NodeHome:
    monkeypatch.setenv("FABNODE_STATE_DIR", str(tmp_path / "state"))
    home = NodeHome(tmp_path / "lab")
    home.create_identity()
    return home


def recovery_text(home: NodeHome) -> str:
    return (home.keys_dir / "recovery.key").read_text()


def test_a_rotation_puts_a_new_key_in_force_and_later_entries_verify(home: NodeHome) -> None:
    first = home.signing_key().public
    with operations.open_local(home) as ctx:
        out, made = keys.rotate(ctx)
        assert [e.kind for e in made] == [kinds.INCEPTION, kinds.ROTATION]
        assert out["seq"] == 2 and bytes.fromhex(out["signing_key"]) == home.signing_key().public
        operations.note(ctx, "signed with the new key")
        shown = keys.show(ctx)
        assert operations.verify(ctx, None)["ok"] is True
    assert home.signing_key().public != first
    assert not (home.keys_dir / PENDING_KEY_FILE).exists()
    assert shown["since_seq"] == 2 and shown["home_key_in_force"] is True
    assert [(h["kind"], h["seq"]) for h in shown["history"]] == [
        (kinds.INCEPTION, 1),
        (kinds.ROTATION, 2),
    ]
    assert shown["recovery_key_in_home"] is True and shown["warnings"]


def test_a_pending_key_whose_event_never_committed_is_discarded(home: NodeHome) -> None:
    before = home.signing_key()
    home.new_pending_signing_key()  # the crash: seed written, no key event signed
    with operations.open_local(home) as ctx:
        assert keys.show(ctx)["pending_key"] is not None
        operations.note(ctx, "after the crash")
        assert operations.verify(ctx, None)["ok"] is True
    assert home.signing_key() == before and home.pending_signing_key() is None


def test_a_committed_key_event_whose_rename_was_cut_short_is_finished(
    home: NodeHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = home.signing_key()
    with monkeypatch.context() as crash:  # the crash: key event committed, no rename
        crash.setattr(NodeHome, "settle_pending_signing_key", lambda self, in_force: False)
        with operations.open_local(home) as ctx:
            keys.rotate(ctx)
    assert home.signing_key() == before and home.pending_signing_key() is not None
    with operations.open_local(home) as ctx:
        operations.note(ctx, "signed by the rotated key")
        assert operations.verify(ctx, None)["ok"] is True
        assert keys.show(ctx)["home_key_in_force"] is True
    assert home.signing_key() != before and home.pending_signing_key() is None


def test_a_revocation_voids_the_range_and_installs_a_new_key(home: NodeHome) -> None:
    with operations.open_local(home) as ctx:
        for text in ("ours", "the thief's", "the thief's again"):
            operations.note(ctx, text)  # seqs 2, 3, 4
        stolen = home.signing_key()
        out, made = keys.revoke(ctx, recovery_text(home), 3)
        assert (out["seq"], out["void"], made[-1].kind) == (5, [3, 5], kinds.REVOCATION)
        rows = operations.list_entries(ctx, ctx.identity.id, 100)
        assert [r["revoked"] for r in rows] == [False, False, True, True, False]
        operations.note(ctx, "back in control")
        assert operations.verify(ctx, None)["ok"] is True
        history = keys.show(ctx)["history"]
    assert history[-1]["void"] == [3, 5] and home.signing_key() != stolen


@pytest.mark.parametrize("from_seq", [1, 0, 4])
def test_a_revocation_out_of_range_is_refused(home: NodeHome, from_seq: int) -> None:
    with operations.open_local(home) as ctx:
        operations.note(ctx, "one")  # seq 2: a revocation would be seq 3
        with pytest.raises(LocalMisuseError) as refused:
            keys.revoke(ctx, recovery_text(home), from_seq)
    assert refused.value.code == "misuse.revoke-out-of-range"
    assert home.pending_signing_key() is None


def test_another_key_file_is_not_the_recovery_key(home: NodeHome) -> None:
    signing_text = (home.keys_dir / "signing.key").read_text()
    with operations.open_local(home) as ctx:
        operations.note(ctx, "one")
        for text in (signing_text, "not a key file", ""):
            with pytest.raises(LocalMisuseError) as refused:
                keys.revoke(ctx, text, 2)
            assert refused.value.code == "misuse.wrong-recovery-key"


def test_a_home_whose_key_was_replaced_elsewhere_cannot_sign(home: NodeHome) -> None:
    with operations.open_local(home) as ctx:
        operations.note(ctx, "one")
    old = (home.keys_dir / "signing.key").read_text()
    with operations.open_local(home) as ctx:
        keys.rotate(ctx)
    (home.keys_dir / "signing.key").write_text(old)  # e.g. a stale copy of the home
    with operations.open_local(home) as ctx:
        with pytest.raises(LocalMisuseError) as refused:
            operations.note(ctx, "refused")
        assert refused.value.code == "misuse.home-key-not-in-force"
        assert keys.show(ctx)["home_key_in_force"] is False


def test_the_last_key_event_a_history_holds_is_kept_for_a_revocation(
    home: NodeHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keys, "MAX_KEY_EVENTS", 3)
    with operations.open_local(home) as ctx:
        keys.rotate(ctx)  # events: inception, rotation
        with pytest.raises(LocalMisuseError) as refused:
            keys.rotate(ctx)
        assert refused.value.code == "misuse.too-many-key-events"
        keys.revoke(ctx, recovery_text(home), 3)  # the third and last
        with pytest.raises(LocalMisuseError) as refused:
            keys.revoke(ctx, recovery_text(home), 4)
        assert refused.value.code == "misuse.too-many-key-events"
        assert home.pending_signing_key() is None
        assert operations.verify(ctx, None)["ok"] is True
