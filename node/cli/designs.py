"""`fabnode design …`: publish, list, show, search, trace and fetch designs; import OKH.

Each command runs through the running node's API when a node runs on the home, else
directly on the home (node.ops.designs), as `fabnode ledger …` does (ledger_cli.via_node).
Paths are sent to the node as absolute paths: the API is local-only, the node reads
and writes them on this machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from ledger.catalogue import Filters
from node.cli.ledger import via_node
from node.cli.readiness import warning_text
from node.i18n import N_, _, current, localized, message, ngettext
from node.ops import designs, takedown
from protocol.errors import LocalMisuseError
from protocol.ids import id_from_text


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    design = sub.add_parser("design", help=_("open-hardware designs (specs/0010)"))
    actions = design.add_subparsers(metavar="ACTION")
    p = actions.add_parser("publish", parents=[common], help=_("publish a design from a manifest"))
    p.add_argument("path", type=Path, metavar="DIR|MANIFEST")
    p.add_argument("--licence", help=_("the SPDX expression to use when the manifest's is unclear"))
    p.add_argument(
        "--derived-from", action="append", default=[], metavar="ID", help=_("a parent design")
    )
    p.set_defaults(handler=cmd_publish)
    p = actions.add_parser("list", parents=[common], help=_("the newest designs"))
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(handler=cmd_list)
    p = actions.add_parser("show", parents=[common], help=_("one design, its files, attribution"))
    p.add_argument("design_id", metavar="ID")
    p.set_defaults(handler=cmd_show)
    p = actions.add_parser("search", parents=[common], help=_("search the catalogue"))
    p.add_argument("query", metavar="QUERY", nargs="?", default="", help=_("words (none: all)"))
    p.add_argument("--family", help=_("licence family (permissive, weak-copyleft, …)"))
    p.add_argument("--process", help=_("manufacturing process, e.g. 3d-printing"))
    p.add_argument("--material")
    p.add_argument("--tag")
    p.add_argument("--withdrawn", action="store_true", help=_("include withdrawn designs"))
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(handler=cmd_search)
    p = actions.add_parser("lineage", parents=[common], help=_("ancestors and descendants"))
    p.add_argument("design_id", metavar="ID")
    p.set_defaults(handler=cmd_lineage)
    p = actions.add_parser("fetch", parents=[common], help=_("write a design's files to DIR"))
    p.add_argument("design_id", metavar="ID")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    p.set_defaults(handler=cmd_fetch)
    p = actions.add_parser("withdraw", parents=[common], help=_("take one of your designs down"))
    p.add_argument("design_id", metavar="ID")
    p.add_argument("--reason", required=True, help=_("one line: why (shown with the design)"))
    p.set_defaults(handler=cmd_withdraw)
    p = actions.add_parser("export-okh", parents=[common], help=_("a design as an OKH manifest"))
    p.add_argument("design_id", metavar="ID")
    p.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help=_("write it here (else stdout)")
    )
    p.set_defaults(handler=cmd_export_okh)
    p = actions.add_parser(
        "import-okh", parents=[common], help=_("publish OKH manifests as designs")
    )
    p.add_argument("paths", type=Path, nargs="+", metavar="PATH")
    p.set_defaults(handler=cmd_import_okh)


def _rows_text(rows: list[dict[str, Any]]) -> str:
    lines = [f"{r['id']}  {r['name']}  ({r['licence']})" for r in rows]
    return "\n".join(lines) or _("(no designs)")


def cmd_publish(args: argparse.Namespace) -> dict[str, Any]:
    path = args.path.absolute()  # the node reads it: cwd-independent, as the user named it
    parents = [id_from_text(p) for p in args.derived_from]
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: designs.publish(ctx, path, args.licence, parents),
        "POST",
        "/api/v1/designs",
        {"path": str(path), "licence": args.licence, "derived_from": args.derived_from},
    )
    files = ngettext("{n} file", "{n} files", len(out["files"])).format(n=len(out["files"]))
    out["_text"] = f"{out['design_id']} ({files}, {out['licence']})"
    return out


def cmd_search(args: argparse.Namespace) -> dict[str, Any]:
    filters = Filters(
        licence_family=args.family,
        process=args.process,
        material=args.material,
        tag=args.tag,
        include_withdrawn=args.withdrawn,
    )
    params = {
        k: v
        for k, v in (
            ("q", args.query or None),
            ("family", args.family),
            ("process", args.process),
            ("material", args.material),
            ("tag", args.tag),
            ("limit", str(args.limit)),
            ("withdrawn", "true" if args.withdrawn else None),
        )
        if v is not None
    }
    out: Any = via_node(
        args,
        lambda ctx: {"designs": designs.search(ctx, args.query, filters, args.limit)},
        "GET",
        "/api/v1/designs?" + urlencode(params),
    )
    return {"designs": out["designs"], "_text": _rows_text(out["designs"])}


def cmd_list(args: argparse.Namespace) -> dict[str, Any]:
    out: Any = via_node(
        args,
        lambda ctx: {"designs": designs.list_designs(ctx, args.limit)},
        "GET",
        f"/api/v1/designs?limit={args.limit}",
    )
    return {"designs": out["designs"], "_text": _rows_text(out["designs"])}


def cmd_show(args: argparse.Namespace) -> dict[str, Any]:
    design_id = id_from_text(args.design_id)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: designs.show(ctx, design_id),
        "GET",
        f"/api/v1/designs/{quote(args.design_id)}",
    )
    body = out["body"]
    tr = current()
    by = ", ".join(body["licensors"]) or "?"
    lines = [
        _("{name} ({licence}) by {licensors}").format(
            name=body["name"], licence=body["licence"], licensors=by
        )
    ]
    lines += [
        f"  {f['path']}  {tr.number(f['size_bytes'])} B  sha256 {f['sha256']}"
        for f in body["files"]
    ]
    lines += ["  " + _("derived from: {design}").format(design=a) for a in out["attribution"]]
    if out.get("withdrawn"):
        w = out["withdrawn"]
        when = tr.date_time(int(w["timestamp_ms"]))
        text = _("WITHDRAWN by its author on {date}: {reason}")
        lines.insert(1, "  " + text.format(date=when, reason=w["reason"]))
    for row in out.get("readiness", []):
        lines += _readiness_lines(row)
    out["_text"] = "\n".join(lines)
    return out


def _readiness_lines(row: dict[str, Any]) -> list[str]:
    """A mesh's print-readiness (specs/0010 §3.3) in a few lines."""
    r = row["readiness"]
    if r is None:
        text = _("print-readiness of {path}: not known here (design fetch measures it)")
        return ["  " + text.format(path=row["path"])]
    tr = current()
    wall = r["thinnest_wall_um"]
    overlap = {None: _("overlap not decided"), True: _("overlapping"), False: _("apart")}
    shells = "?" if r["shells"] is None else r["shells"]
    closed = r["open_edges"] == 0 and r["non_manifold_edges"] == 0
    facts = [
        _("closed") if closed else _("open"),
        _("{n} shell(s) {overlap}").format(n=shells, overlap=overlap[r["overlapping_shells"]]),
        _("thinnest wall not found")
        if wall is None
        else _("thinnest wall ~{mm} mm").format(mm=tr.number(wall / 1000, 2)),
        _("overhangs {percent} %").format(percent=tr.number(r["overhang_permille"] / 10, 1)),
    ]
    if r["solid_volume_mm3"] is not None:
        facts.append(_("solid {volume} mm³").format(volume=tr.number(r["solid_volume_mm3"])))
    source = {"measured": _("measured here"), "author": _("as its author measured it")}
    head = _("print-readiness of {path} ({source}): ").format(
        path=row["path"], source=source.get(row.get("source") or "", "?")
    )
    lines = ["  " + head + ", ".join(facts)]
    lines += ["    " + _("warning: {text}").format(text=warning_text(w)) for w in row["warnings"]]
    return lines


def cmd_withdraw(args: argparse.Namespace) -> dict[str, Any]:
    """Sign a design.withdraw (specs/0010 §7): the catalogue shows it withdrawn, nodes
    stop serving its files; the entries stay in the ledger."""
    design_id = id_from_text(args.design_id)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: takedown.withdraw(ctx, design_id, args.reason)[0],
        "POST",
        f"/api/v1/designs/{quote(args.design_id)}/withdraw",
        {"reason": args.reason},
    )
    w = out["withdrawn"]
    text = _("{design} withdrawn: {reason} (already)") if out["already"] else None
    text = text or _("{design} withdrawn: {reason}")
    out["_text"] = text.format(design=out["design_id"], reason=w["reason"])
    return out


def cmd_lineage(args: argparse.Namespace) -> dict[str, Any]:
    design_id = id_from_text(args.design_id)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: designs.lineage(ctx, design_id),
        "GET",
        f"/api/v1/designs/{quote(args.design_id)}/lineage",
    )
    mark = {True: " " + _("[withdrawn]"), False: ""}
    ancestor, descendant = _("ancestor"), _("descendant")
    lines = [
        f"{ancestor}  {r['id']}  {r['name']} ({r['licence']}){mark[r['withdrawn']]}"
        for r in out["ancestors"]
    ]
    lines += [f"{descendant}  {r['id']}  {r['name']} ({r['licence']})" for r in out["descendants"]]
    out["_text"] = "\n".join(lines) or _("(no lineage)")
    return out


def cmd_fetch(args: argparse.Namespace) -> dict[str, Any]:
    design_id = id_from_text(args.design_id)
    out_dir = args.output.absolute()
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: designs.fetch(ctx, design_id, out_dir),
        "POST",
        f"/api/v1/designs/{quote(args.design_id)}/fetch",
        {"out_dir": str(out_dir)},
    )
    n = len(out["files"])
    text = ngettext("wrote {n} file to {folder}", "wrote {n} files to {folder}", n)
    out["_text"] = text.format(n=n, folder=out["out_dir"])
    if out.get("note"):
        out["_text"] += f": {message(out['note'])}"
    return out


def _import_line(r: dict[str, Any]) -> str:
    if "error" in r:
        e = r["error"]
        return f"{r['file']}: {e['code']} ({e['field']}): {message(e['message'])}"
    if r.get("unchanged"):
        return f"{r['file']}: {r['design_id']} " + _("(unchanged: nothing signed)")
    if r.get("supersedes"):
        text = _("(a new version of {design})").format(design=r["supersedes"])
        return f"{r['file']}: {r['design_id']} {text}"
    return f"{r['file']}: {r['design_id']}"


def cmd_import_okh(args: argparse.Namespace) -> dict[str, Any]:
    paths = [p.absolute() for p in args.paths]
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: designs.import_okh(ctx, paths),
        "POST",
        "/api/v1/designs/import-okh",
        {"paths": [str(p) for p in paths]},
        progress_of="import",
    )
    lines = [_import_line(r) for r in out["results"]]
    lines.append(
        _("imported {imported}, unchanged {unchanged}, failed {failed}").format(
            imported=out["imported"], unchanged=out.get("unchanged", 0), failed=out["failed"]
        )
    )
    out["_text"] = "\n".join(lines)
    out["_exit"] = 1 if out["failed"] and not out["imported"] and not out.get("unchanged") else 0
    return out


def cmd_export_okh(args: argparse.Namespace) -> dict[str, Any]:
    """Write a design's OKH-LOSH TOML manifest to FILE, or show it."""
    design_id = id_from_text(args.design_id)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: designs.export_okh(ctx, design_id),
        "GET",
        f"/api/v1/designs/{quote(args.design_id)}/okh",
    )
    if args.output is None:
        out["_text"] = out["manifest"].rstrip("\n")
        return out
    try:
        args.output.write_text(out["manifest"], encoding="utf-8")
    except OSError as e:
        raise localized(
            LocalMisuseError,
            "misuse.bad-file",
            N_("cannot write {file}: {reason}"),
            file=args.output,
            reason=e.strerror,
        ) from e
    out["output"] = str(args.output)
    text = _("wrote the OKH manifest of {design} to {file}")
    out["_text"] = text.format(design=out["design_id"], file=args.output)
    return out
