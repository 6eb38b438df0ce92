"""`fabnode job …`, `fabnode lab reputation` and `fabnode contributions` (README "Jobs").

Each command runs through the running node's API when a node runs on the home, else
directly on the home (node.ops.jobs), as `fabnode design …` does. Places are given in
decimal degrees and sent as integer micro-degrees; dates as ISO 8601 (UTC when no
zone is given) and sent as milliseconds; money in minor units (cents).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from node.cli.ledger import known_names, via_node
from node.cli.money import money_text
from node.cli.quotes import quote_text
from node.i18n import N_, _, current, localized, message
from node.ops import jobs, myjobs
from node.ops.names import label
from node.ops.slicing import slicer_from_env
from protocol.errors import LocalMisuseError
from protocol.ids import id_from_text
from protocol.processes import Location

STEPS_HELP = {
    "award": "award the job to a bid (customer)",
    "cancel": "cancel the job before production (customer)",
    "start": "the job is in production (awarded lab)",
    "ship": "the parts are shipped (awarded lab)",
    "deliver": "the parts are delivered (awarded lab)",
    "confirm": "confirm delivery (customer)",
    "dispute": "dispute the job, with evidence blobs (customer)",
    "refund": "refund a disputed job (awarded lab)",
    "review": "review a confirmed job, score 1-5 (customer)",
}


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    job = sub.add_parser("job", help=_("job offers, bids and their lifecycle (specs/0007)"))
    actions = job.add_subparsers(metavar="ACTION")
    _offer_parser(actions, common)
    _other_parsers(actions, common)
    _step_parsers(actions, common)
    lab = sub.add_parser("lab", help=_("labs")).add_subparsers(metavar="ACTION")
    p = lab.add_parser("reputation", parents=[common], help=_("a lab's figures from the ledger"))
    p.add_argument("lab_id", metavar="LAB")
    p.set_defaults(handler=cmd_reputation)
    p = sub.add_parser("contributions", parents=[common], help=_("what an identity contributed"))
    p.add_argument("identity", metavar="ID")
    p.set_defaults(handler=cmd_contributions)


def _offer_parser(actions: Any, common: argparse.ArgumentParser) -> None:
    p = actions.add_parser("offer", parents=[common], help=_("offer a job; print matching labs"))
    p.add_argument("--title", required=True)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--design", metavar="ID", help=_("the design to make"))
    what.add_argument("--sealed", action="store_true", help=_("private files, attached later"))
    p.add_argument("--size-mm", nargs=3, type=Decimal, metavar=("X", "Y", "Z"),
                   help=_("the part's bounding box (default: the design's meshes)"))  # fmt: skip
    p.add_argument("--volume-mm3", type=int, help=_("the part's volume (with --size-mm)"))
    p.add_argument("--quantity", type=int, default=1)
    p.add_argument("--process", required=True, help=_("e.g. 3dp-fdm, cnc-milling"))
    p.add_argument("--material", required=True)
    p.add_argument("--tolerance", choices=["f", "m", "c", "v"], help=_("ISO 2768-1 class"))
    p.add_argument("--deadline", required=True, help=_("ISO 8601 date or time"))
    p.add_argument("--at", required=True, metavar="LAT,LON", help=_("delivery place (degrees)"))
    p.add_argument("--radius-km", type=int, required=True)
    p.add_argument("--budget-minor", type=int, help=_("budget in minor units (cents)"))
    p.add_argument("--currency", default="EUR")
    p.add_argument("--ttl-s", type=int, help=_("offer lifetime (default: the rule)"))
    p.add_argument("--note", default="")
    p.set_defaults(handler=cmd_offer)


def _other_parsers(actions: Any, common: argparse.ArgumentParser) -> None:
    p = actions.add_parser("list", parents=[common], help=_("jobs, newest first"))
    p.add_argument("--open", action="store_true", help=_("only open offers"))
    p.add_argument("--near", metavar="LAT,LON", help=_("only jobs near here, nearest first"))
    p.add_argument("--radius-km", type=int, help=_("with --near (default: each offer's radius)"))
    p.add_argument("--party", metavar="ID", help=_("only jobs with this customer or lab"))
    p.set_defaults(handler=cmd_list)
    p = actions.add_parser(
        "mine", parents=[common], help=_("jobs we are a party to, with what comes next")
    )
    p.set_defaults(handler=cmd_mine)
    for name, handler in (("show", cmd_show), ("candidates", cmd_candidates)):
        p = actions.add_parser(name, parents=[common], help=f"{name} of one job")
        p.add_argument("job_id", metavar="JOB")
        p.set_defaults(handler=handler)
    p = actions.add_parser("bid", parents=[common], help=_("bid on an open job (a lab)"))
    p.add_argument("job_id", metavar="JOB")
    _price_args(p)
    p.set_defaults(handler=cmd_bid)
    p = actions.add_parser("counter", parents=[common], help=_("counter a bid (customer)"))
    p.add_argument("job_id", metavar="JOB")
    p.add_argument("bid_id", metavar="BID")
    _price_args(p)
    p.set_defaults(handler=cmd_counter)
    p = actions.add_parser("withdraw", parents=[common], help=_("withdraw our bid"))
    p.add_argument("job_id", metavar="JOB")
    p.add_argument("bid_id", metavar="BID")
    p.set_defaults(handler=cmd_withdraw)
    p = actions.add_parser("message", parents=[common], help=_("send a sealed message on a job"))
    p.add_argument("job_id", metavar="JOB")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--lab", metavar="LAB", help=_("the bidding lab to write to (customer)"))
    p.add_argument("--attach", nargs="+", type=Path, default=[], metavar="FILE",
                   help=_("files sealed to the same two parties"))  # fmt: skip
    p.set_defaults(handler=cmd_message)
    p = actions.add_parser("thread", parents=[common], help=_("a job's messages, opened"))
    p.add_argument("job_id", metavar="JOB")
    p.set_defaults(handler=cmd_thread)
    p = actions.add_parser("files", parents=[common], help=_("attach sealed blobs (customer)"))
    p.add_argument("job_id", metavar="JOB")
    p.add_argument("blobs", nargs="+", metavar="BLOB")
    p.set_defaults(handler=cmd_files)


def _step_parsers(actions: Any, common: argparse.ArgumentParser) -> None:
    for action, text in STEPS_HELP.items():
        p = actions.add_parser(action, parents=[common], help=text)
        p.add_argument("job_id", metavar="JOB")
        if action == "award":
            p.add_argument("bid", metavar="BID")
        if action in ("cancel", "dispute"):
            p.add_argument("--reason", required=action == "dispute")
        if action == "dispute":
            p.add_argument("--evidence", action="append", default=[], metavar="BLOB")
        if action == "ship":
            p.add_argument("--tracking")
        if action == "refund":
            p.add_argument("--note")
        if action == "review":
            p.add_argument("--score", type=int, required=True, choices=range(1, 6))
            p.add_argument("--text")
        p.set_defaults(handler=cmd_step, action=action)


def _price_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--price-minor", type=int, required=True, help=_("price in minor units"))
    p.add_argument("--currency", default="EUR")
    p.add_argument("--ready", required=True, help=_("ready by (ISO 8601 date or time)"))
    p.add_argument("--note", default="")


def parse_place(text: str) -> Location:
    """`LAT,LON` in decimal degrees -> integer micro-degrees (exact, no float)."""
    try:
        lat, lon = (Decimal(part.strip()) for part in text.split(","))
        return Location(
            lat_microdeg=int((lat * 1_000_000).to_integral_value()),
            lon_microdeg=int((lon * 1_000_000).to_integral_value()),
        )
    except (ValueError, InvalidOperation) as e:
        why = N_("want LAT,LON in degrees, got {text}")
        raise localized(LocalMisuseError, "misuse.bad-place", why, text=repr(text)) from e


def parse_time_ms(text: str) -> int:
    """An ISO 8601 date or date-time (UTC when no zone) -> POSIX milliseconds."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as e:
        why = N_("want an ISO 8601 date, got {text}")
        raise localized(LocalMisuseError, "misuse.bad-time", why, text=repr(text)) from e
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp()) * 1000


def _price(price: dict[str, Any], key: str = "amount_minor") -> str:
    """A JSON price (minor units) as money in the reader's locale (node.cli.money)."""
    return money_text(int(price[key]), str(price["currency"]))


def _job_text(job: dict[str, Any], known: dict[str, str]) -> str:
    offer = job["offer"]
    lines = [f"{job['id']}  {offer['title']}  [{job['state']}]"]
    lines.append("  " + _("{quantity} x {process} in {material}").format(**offer))
    bid = _("bid {bid} by {lab}: {price} ({status})")
    lines += ["  " + bid.format(bid=b["entry_id"], lab=label(known, b["lab"]),
                                price=_price(b["price"]), status=b["status"])
              for b in job["bids"]]  # fmt: skip
    counter = _("counter {counter} to bid {bid}: {price}")
    lines += ["  " + counter.format(counter=c["entry_id"], bid=b["entry_id"],
                                    price=_price(c["price"]))
              + (f" ({c['note']})" if c["note"] else "")
              for b in job["bids"] for c in b["counters"]]  # fmt: skip
    lines += [f"  {s['kind']} {s['entry_id']}" for s in job["steps"]]
    refused = _("refused {kind} {entry}: {code}")
    lines += ["  " + refused.format(kind=r["kind"], entry=r["entry_id"], code=r["code"])
              for r in job["refused"]]  # fmt: skip
    return "\n".join(lines)


def _match_text(out: dict[str, Any]) -> list[str]:
    lines = []
    for c in out["candidates"]:
        quote = c["quote"]
        lines.append(f"  {c['advert']['name']} ({c['lab']}): {quote_text(quote)}")
    excluded = _("not {lab}: {reasons}")
    lines += [
        "  " + excluded.format(lab=e["name"], reasons=", ".join(e["reasons"]))
        for e in out["excluded"]
    ]
    return lines


def cmd_offer(args: argparse.Namespace) -> dict[str, Any]:
    part = None
    if args.size_mm is not None:
        if args.volume_mm3 is None:
            raise LocalMisuseError("misuse.bad-job", N_("--size-mm needs --volume-mm3"))
        part = {"size_um": [int(v * 1000) for v in args.size_mm], "volume_mm3": args.volume_mm3}
    place = parse_place(args.at)
    budget = None
    if args.budget_minor is not None:
        budget = {"amount_minor": args.budget_minor, "currency": args.currency}
    fields = {
        "title": args.title, "design": args.design, "sealed": args.sealed, "part": part,
        "quantity": args.quantity, "process": args.process, "material": args.material,
        "tolerance": args.tolerance, "deadline_ms": parse_time_ms(args.deadline),
        "location": place.model_dump(), "radius_km": args.radius_km, "budget": budget,
        "ttl_s": args.ttl_s, "note": args.note,
    }  # fmt: skip
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: jobs.offer_with_candidates(ctx, fields, slicer_from_env(ctx.home.path))[0],
        "POST",
        "/api/v1/jobs",
        fields,
    )
    out["_text"] = "\n".join([_("job {job}").format(job=out["entry_id"]), *_match_text(out)])
    return out


def cmd_list(args: argparse.Namespace) -> dict[str, Any]:
    near = None if args.near is None else parse_place(args.near)
    party = None if args.party is None else id_from_text(args.party)
    params: dict[str, str] = {"open": "true" if args.open else "false"}
    if near is not None:
        params["near_lat_microdeg"] = str(near.lat_microdeg)
        params["near_lon_microdeg"] = str(near.lon_microdeg)
    if args.radius_km is not None:
        params["radius_km"] = str(args.radius_km)
    if args.party is not None:
        params["party"] = args.party
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: jobs.list_jobs(
            ctx, open_only=args.open, near=near, radius_km=args.radius_km, party=party
        ),
        "GET",
        "/api/v1/jobs?" + urlencode(params),
    )
    tr = current()
    rows = [f"{j['id']}  {j['title']}  [{j['state']}]" + (f"  {tr.distance_m(j['distance_m'])}"
            if "distance_m" in j else "") for j in out["jobs"]]  # fmt: skip
    out["_text"] = "\n".join(rows) or _("(no jobs)")
    return out


def _mine_text(out: dict[str, Any]) -> str:
    lines = []
    for j in out["jobs"]:
        you = _("you: {roles}").format(roles=", ".join(j["roles"]))
        lines.append(f"{j['id']}  {j['title']}  [{j['state']}]  {you}")
        ours = [n["action"] for n in j["next"] if n["yours"]]
        theirs = sorted({n["role"] for n in j["next"] if not n["yours"]})
        if ours:
            lines.append("  " + _("you may: {actions}").format(actions=", ".join(ours)))
        if theirs:
            lines.append("  " + _("waiting on: {roles}").format(roles=", ".join(theirs)))
    return "\n".join(lines) or _("(no jobs of ours)")


def cmd_mine(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = via_node(args, myjobs.mine, "GET", "/api/v1/jobs/mine")
    out["_text"] = _mine_text(out)
    return out


def cmd_show(args: argparse.Namespace) -> dict[str, Any]:
    job_id = id_from_text(args.job_id)
    out: dict[str, Any] = via_node(
        args, lambda ctx: jobs.show(ctx, job_id), "GET", f"/api/v1/jobs/{quote(args.job_id)}"
    )
    out["_text"] = _job_text(out, known_names(args))
    return out


def cmd_candidates(args: argparse.Namespace) -> dict[str, Any]:
    job_id = id_from_text(args.job_id)
    path = f"/api/v1/jobs/{quote(args.job_id)}/candidates"
    out: dict[str, Any] = via_node(
        args, lambda ctx: jobs.candidates(ctx, job_id, slicer_from_env(ctx.home.path)), "GET", path
    )
    out["_text"] = "\n".join(_match_text(out)) or _("(no labs)")
    return out


def _signed_text(out: dict[str, Any]) -> dict[str, Any]:
    state = _("job {state}").format(state=out["job"]["state"])
    out["_text"] = f"{out['kind']} {out['entry_id']}: {state}"
    return out


def cmd_bid(args: argparse.Namespace) -> dict[str, Any]:
    job_id = id_from_text(args.job_id)
    price = {"amount_minor": args.price_minor, "currency": args.currency}
    ready = parse_time_ms(args.ready)
    body = {"price": price, "ready_ms": ready, "note": args.note}
    return _signed_text(
        via_node(
            args,
            lambda ctx: jobs.bid(ctx, job_id, price, ready, args.note)[0],
            "POST",
            f"/api/v1/jobs/{quote(args.job_id)}/bids",
            body,
        )
    )


def cmd_counter(args: argparse.Namespace) -> dict[str, Any]:
    job_id, bid_id = id_from_text(args.job_id), id_from_text(args.bid_id)
    price = {"amount_minor": args.price_minor, "currency": args.currency}
    ready = parse_time_ms(args.ready)
    body = {"price": price, "ready_ms": ready, "note": args.note}
    return _signed_text(
        via_node(
            args,
            lambda ctx: jobs.counter(ctx, job_id, bid_id, price, ready, args.note)[0],
            "POST",
            f"/api/v1/jobs/{quote(args.job_id)}/bids/{quote(args.bid_id)}/counter",
            body,
        )
    )


def cmd_withdraw(args: argparse.Namespace) -> dict[str, Any]:
    job_id, bid_id = id_from_text(args.job_id), id_from_text(args.bid_id)
    return _signed_text(
        via_node(
            args,
            lambda ctx: jobs.withdraw(ctx, job_id, bid_id)[0],
            "POST",
            f"/api/v1/jobs/{quote(args.job_id)}/bids/{quote(args.bid_id)}/withdraw",
        )
    )


def cmd_files(args: argparse.Namespace) -> dict[str, Any]:
    job_id = id_from_text(args.job_id)
    blobs = [id_from_text(b) for b in args.blobs]
    return _signed_text(
        via_node(
            args,
            lambda ctx: jobs.attach_files(ctx, job_id, blobs)[0],
            "POST",
            f"/api/v1/jobs/{quote(args.job_id)}/files",
            {"blobs": args.blobs},
        )
    )


def cmd_message(args: argparse.Namespace) -> dict[str, Any]:
    from node.ops import jobmessages  # noqa: PLC0415 (sealing only when it runs)

    job_id = id_from_text(args.job_id)
    to = None if args.lab is None else id_from_text(args.lab)
    paths = [p.absolute() for p in args.attach]
    body = {"text": args.text, "to": args.lab, "paths": [str(p) for p in paths]}
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: jobmessages.send_message(ctx, job_id, to, args.text, paths)[0],
        "POST",
        f"/api/v1/jobs/{quote(args.job_id)}/messages",
        body,
    )
    sealed = _("sealed {names}").format(names=", ".join(out["sealed"]))
    out["_text"] = f"{out['kind']} {out['entry_id']}: {sealed}"
    return out


def _thread_text(out: dict[str, Any], known: dict[str, str]) -> str:
    lines = []
    for m in out["messages"]:
        who, to = known.get(m["author"], m["author"]), known.get(m["to"], m["to"])
        when = current().date_time(int(m["timestamp_ms"]))
        lines.append(f"{when}  {who} -> {to}")
        if m["error"] is not None:
            lines.append(f"  [{m['error']['code']}] {message(m['error']['message'])}")
            continue
        lines += [f"  {line}" for line in m["text"].splitlines()]
        for name, blob in zip(m["names"], m["attachments"], strict=False):
            lines.append("  " + _("attached: {name} ({blob})").format(name=name, blob=blob))
    return "\n".join(lines) or _("(no messages)")


def cmd_thread(args: argparse.Namespace) -> dict[str, Any]:
    from node.ops import jobmessages  # noqa: PLC0415 (sealing only when it runs)

    job_id = id_from_text(args.job_id)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: jobmessages.thread(ctx, job_id),
        "GET",
        f"/api/v1/jobs/{quote(args.job_id)}/thread",
    )
    out["_text"] = _thread_text(out, known_names(args))
    return out


def cmd_step(args: argparse.Namespace) -> dict[str, Any]:
    job_id = id_from_text(args.job_id)
    fields = {
        key: getattr(args, key, None)
        for key in ("bid", "reason", "tracking", "note", "score", "text")
    }
    fields["evidence"] = getattr(args, "evidence", [])
    body = {k: v for k, v in fields.items() if v is not None}
    path = f"/api/v1/jobs/{quote(args.job_id)}/steps/{args.action}"
    return _signed_text(
        via_node(
            args,
            lambda ctx: jobs.step_from_json(ctx, job_id, args.action, body)[0],
            "POST",
            path,
            body,
        )
    )


def cmd_reputation(args: argparse.Namespace) -> dict[str, Any]:
    lab = id_from_text(args.lab_id)
    path = f"/api/v1/labs/{quote(args.lab_id)}/reputation"
    out: dict[str, Any] = via_node(args, lambda ctx: jobs.reputation(ctx, lab), "GET", path)
    mean = out["reviews"]["mean_milli"]
    text = _(
        "{lab}: {completed} completed of {awarded}, on time {on_time}/{of}, "
        "disputes {disputes}, reviews {reviews}"
    ).format(
        lab=out["lab"],
        completed=out["completed"]["count"],
        awarded=out["awarded"]["count"],
        on_time=out["on_time"]["count"],
        of=out["on_time"]["of"],
        disputes=out["disputes"]["count"],
        reviews=out["reviews"]["count"],
    )
    if mean is not None:
        text += " " + _("(mean {mean})").format(mean=current().number(mean / 1000))
    out["_text"] = text
    return out


def cmd_contributions(args: argparse.Namespace) -> dict[str, Any]:
    who = id_from_text(args.identity)
    path = f"/api/v1/contributions/{quote(args.identity)}"
    out: dict[str, Any] = via_node(args, lambda ctx: jobs.contributions_of(ctx, who), "GET", path)
    counts = [f"{key} {len(out[key])}" for key in out if isinstance(out[key], list)]
    out["_text"] = f"{out['identity']}: " + ", ".join(counts)
    return out
