"""`fabnode capability …` and `fabnode sealed …`: adverts, matching, sealed files
(specs/0011-capabilities.md).

Each command runs through the running node's API when a node runs on the home, else
directly on the home, as `fabnode design …` does (ledger_cli.via_node). Advert and
OKW files are read here and sent as JSON (the advert) or as an absolute path.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from node.cli.ledger import via_node
from node.cli.quotes import quote_text
from node.cli.readiness import warning_text
from node.i18n import N_, _, current, localized, ngettext
from node.ops import capabilities, okw_files, sealing
from node.ops.capabilities import MatchQuery, parse_near
from node.ops.files import read_bounded
from node.ops.slicing import slicer_from_env
from node.store.home import NodeHome
from protocol.capability import MAX_ADVERT_FILE_BYTES, advert_body_map, advert_from_toml
from protocol.errors import LocalMisuseError
from protocol.ids import id_from_text


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    cap = sub.add_parser("capability", help=_("what labs can make: adverts, matching (specs/0011)"))
    actions = cap.add_subparsers(metavar="ACTION")
    p = actions.add_parser("set", parents=[common], help=_("publish our advert from a TOML file"))
    p.add_argument("file", type=Path, metavar="FILE.toml")
    p.set_defaults(handler=cmd_set)
    p = actions.add_parser(
        "show", parents=[common], help=_("a lab's newest advert (ours by default)")
    )
    p.add_argument("lab", nargs="?", metavar="LAB", help=_("the lab's identity id"))
    p.set_defaults(handler=cmd_show)
    p = actions.add_parser("list", parents=[common], help=_("labs' adverts, nearest first"))
    p.add_argument("--near", metavar="LAT,LON", help=_("decimal degrees, e.g. 41.3969,2.1942"))
    p.add_argument("--radius-km", type=int, metavar="R")
    p.add_argument("--process", metavar="P", help=_("a process id or a design's process token"))
    p.add_argument("--material")
    p.set_defaults(handler=cmd_list)
    p = actions.add_parser(
        "match", parents=[common], help=_("which labs can make a design; quotes")
    )
    p.add_argument("--design", metavar="ID", help=_("a design entry id (its meshes are the parts)"))
    p.add_argument(
        "--part",
        action="append",
        default=[],
        metavar="X,Y,Z,VOL",
        help=_("a part's box edges in mm and volume in mm³ (repeatable)"),
    )
    p.add_argument("--process", action="append", default=[], metavar="P")
    p.add_argument("--material")
    p.add_argument("--tolerance", default="v", choices=["f", "m", "c", "v"])
    p.add_argument("--near", metavar="LAT,LON")
    p.add_argument("--radius-km", type=int, metavar="R")
    p.add_argument("--quantity", type=int, default=1)
    p.set_defaults(handler=cmd_match)
    p = actions.add_parser(
        "import-okw", parents=[common], help=_("publish our advert from OKW YAML")
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.set_defaults(handler=cmd_import_okw)
    p = actions.add_parser("export-okw", parents=[common], help=_("a lab's advert as OKW YAML"))
    p.add_argument("lab", nargs="?", metavar="LAB")
    p.add_argument("-o", "--output", type=Path, metavar="FILE")
    p.set_defaults(handler=cmd_export_okw)

    sealed = sub.add_parser("sealed", help=_("private job files sealed to a lab (specs/0011 §6)"))
    actions = sealed.add_subparsers(metavar="ACTION")
    p = actions.add_parser("seal", parents=[common], help=_("seal FILE to LAB's key; store a blob"))
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--lab", required=True, metavar="LAB")
    p.set_defaults(handler=cmd_seal)
    p = actions.add_parser("open", parents=[common], help=_("open a sealed blob into FILE"))
    p.add_argument("blob", metavar="HASH")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    p.set_defaults(handler=cmd_open)


def _advert_text(row: dict[str, Any]) -> str:
    advert = row["advert"]
    processes = ", ".join(sorted({m["process"] for m in advert["machines"]}))
    far = "" if row.get("distance_m") is None else "  " + current().distance_m(row["distance_m"])
    return f"{row['lab']}  {advert['name']}  [{processes}]{far}"


def cmd_set(args: argparse.Namespace) -> dict[str, Any]:
    body = advert_from_toml(read_bounded(args.file, MAX_ADVERT_FILE_BYTES))
    fields = advert_body_map(body)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: capabilities.set_advert(ctx, body)[0],
        "POST",
        "/api/v1/capabilities",
        {"advert": fields},
    )
    out["_text"] = _("advert {advert} (seq {seq})").format(advert=out["advert_id"], seq=out["seq"])
    return out


def _lab_path(lab: str | None) -> str:
    return "self" if lab is None else quote(lab)


def cmd_show(args: argparse.Namespace) -> dict[str, Any]:
    lab = None if args.lab is None else id_from_text(args.lab)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: capabilities.advert_json(capabilities.advert_of(ctx, lab)),
        "GET",
        f"/api/v1/capabilities/{_lab_path(args.lab)}",
    )
    out["_text"] = _advert_text(out)
    return out


def cmd_list(args: argparse.Namespace) -> dict[str, Any]:
    near = None if args.near is None else parse_near(args.near)
    params = {
        k: v
        for k, v in (
            ("near", args.near),
            ("radius_km", None if args.radius_km is None else str(args.radius_km)),
            ("process", args.process),
            ("material", args.material),
        )
        if v is not None
    }
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: capabilities.find(ctx, near, args.radius_km, args.process, args.material),
        "GET",
        "/api/v1/capabilities?" + urlencode(params),
    )
    out["_text"] = "\n".join(_advert_text(r) for r in out["adverts"]) or _("(no adverts)")
    return out


def _part(text: str) -> dict[str, Any]:
    fields = text.split(",")
    if len(fields) != 4 or not all(f.strip().isdigit() for f in fields):
        raise localized(
            LocalMisuseError, "misuse.bad-part", N_("{part}: want X,Y,Z,VOL (mm, mm³)"),
            part=repr(text),
        )  # fmt: skip
    x, y, z, volume = (int(f) for f in fields)
    return {"size_um": [x * 1000, y * 1000, z * 1000], "volume_mm3": volume}


def cmd_match(args: argparse.Namespace) -> dict[str, Any]:
    near = None if args.near is None else parse_near(args.near)
    query = {
        "design": args.design,
        "parts": [_part(p) for p in args.part],
        "processes": args.process,
        "material": args.material,
        "tolerance": args.tolerance,
        "near": None if near is None else near.model_dump(),
        "radius_km": args.radius_km,
        "quantity": args.quantity,
    }
    parsed = MatchQuery.model_validate(query)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: capabilities.match_query(ctx, parsed, slicer_from_env(ctx.home.path)),
        "POST",
        "/api/v1/match",
        query,
    )
    lines = []
    for c in out["candidates"]:
        lines.append(f"{c['lab']}  {c['advert']['name']}  {quote_text(c['quote'])}")
        # Print-readiness warnings beside the quote (specs/0010 §3.4): advice, not refusals.
        warning = _("warning, part {part}: {text}")
        lines += [
            "    " + warning.format(part=w["part"] + 1, text=warning_text(w))
            for w in c.get("warnings", [])
        ]
    excluded = _("excluded: {reasons}")
    lines += [
        f"{e['lab']}  {e['name']}  " + excluded.format(reasons=", ".join(e["reasons"]))
        for e in out["excluded"]
    ]
    out["_text"] = "\n".join(lines) or _("(no labs)")
    return out


def cmd_import_okw(args: argparse.Namespace) -> dict[str, Any]:
    path = args.file.absolute()
    body = okw_files.read_okw_file(path)  # a clear error here, before any node is asked
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: capabilities.set_advert(ctx, body)[0],
        "POST",
        "/api/v1/capabilities/import-okw",
        {"path": str(path)},
    )
    out["_text"] = _("advert {advert} (seq {seq}) from {file}").format(
        advert=out["advert_id"], seq=out["seq"], file=path.name
    )
    return out


def cmd_export_okw(args: argparse.Namespace) -> dict[str, Any]:
    lab = None if args.lab is None else id_from_text(args.lab)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: okw_files.export_json(capabilities.advert_of(ctx, lab)),
        "GET",
        f"/api/v1/capabilities/{_lab_path(args.lab)}/okw",
    )
    if args.output is not None:
        args.output.write_text(out["yaml"], encoding="utf-8")
        out["file"] = str(args.output)
    out["_text"] = (
        out["yaml"] if args.output is None else _("wrote {file}").format(file=args.output)
    )
    return out


def cmd_seal(args: argparse.Namespace) -> dict[str, Any]:
    path = args.file.absolute()
    lab = id_from_text(args.lab)

    def local(ctx: Any) -> dict[str, Any]:
        key = capabilities.lab_seal_key(ctx, lab)
        return sealing.seal_to_blob(ctx.home, path, key)

    out: dict[str, Any] = via_node(
        args, local, "POST", "/api/v1/sealed", {"path": str(path), "lab": args.lab}
    )
    out["_text"] = out["blob"]
    return out


def cmd_open(args: argparse.Namespace) -> dict[str, Any]:
    blob_id = id_from_text(args.blob)
    out_path = args.output.absolute()
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: sealing.open_blob(NodeHome(args.home), blob_id, out_path),
        "POST",
        f"/api/v1/sealed/{quote(args.blob)}/open",
        {"out": str(out_path)},
    )
    text = ngettext("wrote {n} byte to {file}", "wrote {n} bytes to {file}", out["size"])
    out["_text"] = text.format(n=current().number(out["size"]), file=out["file"])
    return out
