"""`fabnode du`, `fabnode gc` and `fabnode blob pin|unpin|pins` (node.ops.storage).

They read the home beside a running node (a read-only ledger, no writer lock) and
act on the blob folder, which the node shares safely: eviction unlinks final blobs
only, and a blob being served stays readable to whoever holds it open. A running
node started with `--blob-budget-mib` also collects by itself every ten minutes.
"""

from __future__ import annotations

import argparse
from typing import Any

from node.i18n import N_, _, current, ngettext
from node.ops import context as operations
from node.ops.storage import collect_garbage, disk_usage
from node.store.blobs import BlobStore
from node.store.diskspace import MIB, free_bytes
from node.store.home import NodeHome
from protocol.ids import id_from_text, id_to_text

#: Why `du` counts a blob as kept (node.ops.storage), in words for people.
_REASONS = {
    "own": N_("published by us"),
    "job": N_("for a job"),
    "pinned": N_("pinned"),
    "rule": N_("kept by a rule"),
    "other": N_("other"),
}


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("du", parents=[common], help=_("what the home holds, by part"))
    p.set_defaults(handler=cmd_du)
    p = sub.add_parser(
        "gc", parents=[common], help=_("evict blobs this node has no reason to keep")
    )
    p.add_argument(
        "--budget-mib", type=int, required=True, help=_("keep the blobs within this (MiB)")
    )
    p.add_argument("--dry-run", action="store_true", help=_("say what would go; delete nothing"))
    p.set_defaults(handler=cmd_gc)


def add_pin_commands(actions: Any, common: argparse.ArgumentParser) -> None:
    """`blob pin|unpin|pins`, registered by node.cli.blobs under `blob`."""
    for name, help_text in (("pin", _("never evict this blob")), ("unpin", _("let it be evicted"))):
        p = actions.add_parser(name, parents=[common], help=help_text)
        p.add_argument("blob", metavar="HASH")
        p.set_defaults(handler=cmd_pin, pin=name == "pin")
    p = actions.add_parser("pins", parents=[common], help=_("the pinned blobs"))
    p.set_defaults(handler=cmd_pins)


def cmd_du(args: argparse.Namespace) -> dict[str, Any]:
    home = NodeHome(args.home)
    with operations.open_local(home, write=False) as ctx:
        out = disk_usage(ctx, BlobStore(home.blobs))
    out["disk_free_bytes"] = free_bytes(home.path)
    out["_text"] = "\n".join(_du_lines(out))
    return out


def cmd_gc(args: argparse.Namespace) -> dict[str, Any]:
    home = NodeHome(args.home)
    with operations.open_local(home, write=False) as ctx:
        done = collect_garbage(
            ctx, BlobStore(home.blobs), args.budget_mib * MIB, dry_run=args.dry_run
        )
    out = done.to_json()
    out["dry_run"] = args.dry_run
    out["_text"] = _gc_text(len(done.evicted), out["evicted_bytes"], done.kept_bytes, out)
    return out


def _mib(size_bytes: int, decimals: int = 1) -> str:
    return current().number(size_bytes / MIB, decimals)


def _du_lines(out: dict[str, Any]) -> list[str]:
    lines = [_("databases {size} MiB").format(size=_mib(out["databases_bytes"]))]
    for reason, row in sorted(out["blobs"].items()):
        line = _("blobs, {reason}: {count} ({size} MiB)")
        lines.append(
            line.format(
                reason=_(_REASONS.get(reason, reason)), count=row["blobs"], size=_mib(row["bytes"])
            )
        )
    lines.append(_("downloads in progress {size} MiB").format(size=_mib(out["partial_bytes"])))
    free = _mib(out["disk_free_bytes"], 0)
    lines.append(_("free on the disk {size} MiB").format(size=free))
    return lines


def _gc_text(count: int, evicted_bytes: int, kept_bytes: int, out: dict[str, Any]) -> str:
    if out["dry_run"]:
        text = ngettext(
            "would evict {count} blob ({size} MiB); {kept} MiB of blobs kept",
            "would evict {count} blobs ({size} MiB); {kept} MiB of blobs kept",
            count,
        )
    else:
        text = ngettext(
            "evicted {count} blob ({size} MiB); {kept} MiB of blobs kept",
            "evicted {count} blobs ({size} MiB); {kept} MiB of blobs kept",
            count,
        )
    text = text.format(count=count, size=_mib(evicted_bytes), kept=_mib(kept_bytes))
    if not out["within_budget"]:
        text += _(": over budget, the rest is own, job, pinned, rule or recent")
    return text


def cmd_pin(args: argparse.Namespace) -> dict[str, Any]:
    home = NodeHome(args.home)
    blob_id = id_from_text(args.blob)
    pinned = home.pinned_blobs()
    if args.pin:
        pinned.add(blob_id)
    else:
        pinned.discard(blob_id)
    home.set_pinned_blobs(pinned)
    return {
        "blob": args.blob,
        "pinned": args.pin,
        "_text": (_("{blob} pinned") if args.pin else _("{blob} unpinned")).format(blob=args.blob),
    }


def cmd_pins(args: argparse.Namespace) -> dict[str, Any]:
    pinned = sorted(id_to_text(b) for b in NodeHome(args.home).pinned_blobs())
    return {"pinned": pinned, "_text": "\n".join(pinned) or _("(no pinned blob)")}
