"""`fabnode du`, `fabnode gc` and `fabnode blob pin|unpin|pins` (node.ops.storage).

They read the home beside a running node (a read-only ledger, no writer lock) and
act on the blob folder, which the node shares safely: eviction unlinks final blobs
only, and a blob being served stays readable to whoever holds it open. A running
node started with `--blob-budget-mib` also collects by itself every ten minutes.
"""

from __future__ import annotations

import argparse
from typing import Any

from node.ops import context as operations
from node.ops.storage import collect_garbage, disk_usage
from node.store.blobs import BlobStore
from node.store.diskspace import MIB, free_bytes
from node.store.home import NodeHome
from protocol.ids import id_from_text, id_to_text


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("du", parents=[common], help="what the home holds, by part")
    p.set_defaults(handler=cmd_du)
    p = sub.add_parser("gc", parents=[common], help="evict blobs this node has no reason to keep")
    p.add_argument("--budget-mib", type=int, required=True, help="keep the blobs within this")
    p.add_argument("--dry-run", action="store_true", help="say what would go; delete nothing")
    p.set_defaults(handler=cmd_gc)


def add_pin_commands(actions: Any, common: argparse.ArgumentParser) -> None:
    """`blob pin|unpin|pins`, registered by node.cli.blobs under `blob`."""
    for name, help_text in (("pin", "never evict this blob"), ("unpin", "let it be evicted")):
        p = actions.add_parser(name, parents=[common], help=help_text)
        p.add_argument("blob", metavar="HASH")
        p.set_defaults(handler=cmd_pin, pin=name == "pin")
    p = actions.add_parser("pins", parents=[common], help="the pinned blobs")
    p.set_defaults(handler=cmd_pins)


def cmd_du(args: argparse.Namespace) -> dict[str, Any]:
    home = NodeHome(args.home)
    with operations.open_local(home, write=False) as ctx:
        out = disk_usage(ctx, BlobStore(home.blobs))
    out["disk_free_bytes"] = free_bytes(home.path)
    lines = [f"databases {out['databases_bytes'] / MIB:.1f} MiB"]
    for reason, row in sorted(out["blobs"].items()):
        lines.append(f"blobs, {reason}: {row['blobs']} ({row['bytes'] / MIB:.1f} MiB)")
    lines.append(f"downloads in progress {out['partial_bytes'] / MIB:.1f} MiB")
    lines.append(f"free on the disk {out['disk_free_bytes'] / MIB:.0f} MiB")
    out["_text"] = "\n".join(lines)
    return out


def cmd_gc(args: argparse.Namespace) -> dict[str, Any]:
    home = NodeHome(args.home)
    with operations.open_local(home, write=False) as ctx:
        done = collect_garbage(
            ctx, BlobStore(home.blobs), args.budget_mib * MIB, dry_run=args.dry_run
        )
    out = done.to_json()
    out["dry_run"] = args.dry_run
    verb = "would evict" if args.dry_run else "evicted"
    out["_text"] = (
        f"{verb} {len(done.evicted)} blobs ({out['evicted_bytes'] / MIB:.1f} MiB); "
        f"{done.kept_bytes / MIB:.1f} MiB of blobs kept"
        + (
            ""
            if out["within_budget"]
            else ": over budget, the rest is own, job, pinned, rule or recent"
        )
    )
    return out


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
        "_text": f"{args.blob} {'pinned' if args.pin else 'unpinned'}",
    }


def cmd_pins(args: argparse.Namespace) -> dict[str, Any]:
    pinned = sorted(id_to_text(b) for b in NodeHome(args.home).pinned_blobs())
    return {"pinned": pinned, "_text": "\n".join(pinned) or "(no pinned blob)"}
