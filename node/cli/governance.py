"""`fabnode federation …`, `join`, `propose`, `vote`, `tally`, `proposals`, `rules …`,
`member …`: a federation's charter and its governance (specs/0008-governance.md).

`federation create` and `join` work on the home (no node may be running on it);
the others go through the running node's API when one runs (so what they sign is
announced at once), else work on the home directly (ledger_cli.via_node).
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from node.cli.client import NodeClient
from node.cli.ledger import known_names, via_node
from node.i18n import N_, _, localized
from node.ops import governance as ops
from node.ops.files import read_bounded
from node.ops.governance import API_PREFIX as PREFIX
from node.ops.names import label
from node.store.home import NodeHome
from protocol.errors import DecodeError, LocalMisuseError
from protocol.governance import (
    MAX_CHARTER_TOML_BYTES,
    RULE_FIELDS,
    charter_network_id,
    parse_charter_toml,
)
from protocol.ids import id_from_text, id_to_text


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    fed = sub.add_parser("federation", help=_("a federation's charter (specs/0008)"))
    actions = fed.add_subparsers(metavar="ACTION")
    p = actions.add_parser(
        "create", parents=[common], help=_("found a federation from a charter (TOML)")
    )
    p.add_argument("charter", type=Path, metavar="CHARTER.toml")
    p.set_defaults(handler=cmd_create)
    p = actions.add_parser("show", parents=[common], help=_("the charter this home follows"))
    p.set_defaults(handler=cmd_show)
    p = actions.add_parser(
        "test-clock", parents=[common], help=_("move a test federation's clock (tests only)")
    )
    p.add_argument("offset_s", type=int, metavar="OFFSET_S")
    p.set_defaults(handler=cmd_test_clock)

    p = sub.add_parser("propose", help=_("open a proposal")).add_subparsers(metavar="ACTION")
    q = p.add_parser("rules", parents=[common], help=_("change rules: --set NAME=VALUE …"))
    q.add_argument("--set", action="append", required=True, metavar="NAME=VALUE")
    q.set_defaults(handler=cmd_propose, action="rules.change")
    for name, action, what in (
        ("admit", "member.admit", "MEMBER"),
        ("remove", "member.remove", "MEMBER"),
        ("unfreeze", "fork.unfreeze", "FORK_PROOF"),
    ):
        q = p.add_parser(name, parents=[common], help=f"{action} {what}")
        q.add_argument("target", metavar=what)
        q.set_defaults(handler=cmd_propose, action=action)
    q = p.add_parser("amend", parents=[common], help=_("replace the charter text"))
    q.add_argument("--text-file", type=Path, required=True)
    q.set_defaults(handler=cmd_propose, action="charter.amend")
    _add_blocklist_commands(p, common)
    for q in p.choices.values():
        q.add_argument("--title", required=True)

    p = sub.add_parser("vote", parents=[common], help=_("vote on a proposal"))
    p.add_argument("proposal", metavar="PROPOSAL")
    p.add_argument("choice", choices=["yes", "no", "abstain", "veto"])
    p.set_defaults(handler=cmd_vote)
    p = sub.add_parser("tally", parents=[common], help=_("a proposal's tally (live, then final)"))
    p.add_argument("proposal", metavar="PROPOSAL")
    p.set_defaults(handler=cmd_tally)
    p = sub.add_parser("proposals", parents=[common], help=_("every proposal with its tally"))
    p.set_defaults(handler=cmd_proposals)

    rules = sub.add_parser("rules", help=_("the rules in force")).add_subparsers(metavar="ACTION")
    p = rules.add_parser("show", parents=[common], help=_("the rules now, at a time, or history"))
    p.add_argument("--at", metavar="TIME", help=_("POSIX seconds or ISO 8601 (UTC if no zone)"))
    p.add_argument("--history", action="store_true", help=_("every change and its proposal"))
    p.set_defaults(handler=cmd_rules)

    member = sub.add_parser("member", help=_("membership")).add_subparsers(metavar="ACTION")
    p = member.add_parser("list", parents=[common], help=_("members, vouched, applications"))
    p.set_defaults(handler=cmd_members)
    for name, on in (("vouch", True), ("unvouch", False)):
        p = member.add_parser(name, parents=[common], help=f"{name} for an identity")
        p.add_argument("candidate", metavar="IDENTITY")
        p.set_defaults(handler=cmd_vouch, on=on)
    p = member.add_parser("apply", parents=[common], help=_("ask the federation to admit us"))
    p.add_argument("--name", required=True, help=_("the lab's name"))
    p.add_argument("--text", default="", help=_("a short presentation"))
    p.set_defaults(handler=cmd_apply)


# -- charter --------------------------------------------------------------------------


def refuse_running(home: NodeHome) -> None:
    if NodeClient.discover(home) is not None:
        raise LocalMisuseError("misuse.home-busy", N_("stop the node running on this home first"))


def cmd_create(args: argparse.Namespace) -> dict[str, Any]:
    data = read_bounded(args.charter, MAX_CHARTER_TOML_BYTES)
    if len(data) > MAX_CHARTER_TOML_BYTES:
        raise DecodeError(
            "decode.too-large", f"a charter file is at most {MAX_CHARTER_TOML_BYTES} bytes"
        )
    try:
        text = data.decode()
    except UnicodeDecodeError as e:
        raise DecodeError("decode.bad-charter", "the charter is not UTF-8", field="toml") from e
    charter = parse_charter_toml(text)
    home = NodeHome(args.home)
    refuse_running(home)
    network = home.adopt_charter(charter, [])
    out = charter_out(home)
    text = _("network id {network} ({name})")
    out["_text"] = text.format(network=id_to_text(network), name=charter.name)
    return out


def charter_out(home: NodeHome) -> dict[str, Any]:
    charter = home.charter()
    if charter is None:
        why = N_("{home} follows no charter")
        raise localized(LocalMisuseError, "misuse.no-federation", why, home=home.path)
    ident = home.identity() if home.exists() else None
    return {
        "network": id_to_text(charter_network_id(charter)),
        "name": charter.name,
        "test": charter.test,
        "founders": sorted(id_to_text(m) for m in charter.members),
        "rules": charter.rules.model_dump(),
        "bootstrap": home.bootstrap(),
        "founder": ident is not None and ident.id in charter.members,
    }


def cmd_show(args: argparse.Namespace) -> dict[str, Any]:
    home = NodeHome(args.home)
    out = charter_out(home)
    out.update(_text_in_force(args, home))
    out["_text"] = json.dumps(out, indent=2)
    return out


def _text_in_force(args: argparse.Namespace, home: NodeHome) -> dict[str, Any]:
    """The charter text as amended by passed `charter.amend`s in force (specs/0008 §7.4),
    from the running node or the home's ledger; a home with no identity holds no
    ledger, so only the founding text."""
    charter = home.charter()
    assert charter is not None  # (_charter_out checked)
    if not home.exists():
        return {"text": charter.text, "founding_text": charter.text, "amendments": []}
    found = via_node(args, ops.charter, "GET", f"{PREFIX}/charter")
    return {key: found[key] for key in ("text", "founding_text", "amendments")}


def cmd_test_clock(args: argparse.Namespace) -> dict[str, Any]:
    client = NodeClient.running(NodeHome(args.home), N_("the test clock lives in the node"))
    out: dict[str, Any] = client.call("POST", f"{PREFIX}/test-clock", {"offset_s": args.offset_s})
    return out


# -- proposals and votes -----------------------------------------------------------------


def _parse_rule(item: str) -> tuple[str, Any]:
    name, sep, value = item.partition("=")
    if not sep or name not in RULE_FIELDS:
        why = N_("--set NAME=VALUE, NAME one of the rules: {item}")
        raise localized(LocalMisuseError, "misuse.bad-argument", why, item=item)
    if name == "licences":
        return name, sorted({v.strip() for v in value.split(",") if v.strip()})
    try:
        return name, int(value)
    except ValueError as e:
        why = N_("{name} is an integer: {value}")
        raise localized(LocalMisuseError, "misuse.bad-argument", why, name=name, value=value) from e


def _action(args: argparse.Namespace) -> dict[str, Any]:
    action: dict[str, Any] = {"action": args.action, "title": args.title}
    if args.action == "rules.change":
        action["changes"] = dict(_parse_rule(s) for s in args.set)
    elif args.action in ("member.admit", "member.remove"):
        action["member"] = args.target
    elif args.action == "fork.unfreeze":
        action["fork_proof"] = args.target
    elif args.action in ("blobs.block", "blobs.unblock"):
        action["blobs"] = sorted(set(args.blobs), key=id_from_text)  # the body's order
        if args.action == "blobs.block":
            action["reason"] = args.reason
    else:
        try:
            action["text"] = args.text_file.read_text()
        except OSError as e:
            why = N_("cannot read {path}")
            raise localized(LocalMisuseError, "misuse.bad-file", why, path=args.text_file) from e
    return action


def _add_blocklist_commands(propose: Any, common: argparse.ArgumentParser) -> None:
    """`propose block BLOB… --reason TEXT`, `propose unblock BLOB…` (specs/0008 §3)."""
    q = propose.add_parser("block", parents=[common], help=_("put blobs on the blocklist"))
    q.add_argument("blobs", nargs="+", metavar="BLOB")
    q.add_argument("--reason", required=True)
    q.set_defaults(handler=cmd_propose, action="blobs.block")
    q = propose.add_parser("unblock", parents=[common], help=_("take blobs off the blocklist"))
    q.add_argument("blobs", nargs="+", metavar="BLOB")
    q.set_defaults(handler=cmd_propose, action="blobs.unblock")


def cmd_propose(args: argparse.Namespace) -> dict[str, Any]:
    action = _action(args)  # ids as text: the API form
    local = dict(action)
    for key in ("member", "fork_proof"):
        if key in local:
            local[key] = id_from_text(local[key])
    if "blobs" in local:
        local["blobs"] = [id_from_text(b) for b in local["blobs"]]
    out: dict[str, Any] = via_node(
        args, lambda ctx: ops.propose(ctx, local)[0], "POST", f"{PREFIX}/proposals", action
    )
    out["_text"] = out["proposal"]
    return out


def cmd_vote(args: argparse.Namespace) -> dict[str, Any]:
    pid = id_from_text(args.proposal)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: ops.vote(ctx, pid, args.choice)[0],
        "POST",
        f"{PREFIX}/proposals/{quote(args.proposal)}/votes",
        {"choice": args.choice},
    )
    choice = _(CHOICE_TEXT.get(args.choice, args.choice))
    out["_text"] = _("voted {choice}: {vote}").format(choice=choice, vote=out["vote"])
    return out


def cmd_tally(args: argparse.Namespace) -> dict[str, Any]:
    pid = id_from_text(args.proposal)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: ops.tally(ctx, pid),
        "GET",
        f"{PREFIX}/proposals/{quote(args.proposal)}/tally",
    )
    counts = out.get("counts", {})
    text = f"{out.get('title', '')}: {outcome_text(out)}"
    if not out["final"]:
        text += " " + _("(live)")
    if counts:
        text += " — " + _(
            "yes {yes}, no {no}, abstain {abstain}, veto {veto} of {electorate}"
        ).format(**counts, electorate=out["electorate_size"])
    out["_text"] = text
    return out


#: What a vote's choice, a tally's outcome and a void reason say to a reader.
CHOICE_TEXT: Final = {"yes": N_("yes"), "no": N_("no"), "abstain": N_("abstain"),
                      "veto": N_("veto")}  # fmt: skip
OUTCOME_TEXT: Final = {
    "not-opened": N_("not opened"),
    "voting": N_("voting"),
    "no-quorum": N_("no quorum"),
    "vetoed": N_("vetoed"),
    "rejected": N_("rejected"),
    "passed": N_("passed"),
}
VOID_TEXT: Final = {
    "too-few-members-to-witness": N_("too few members to witness"),
    "too-few-vouches": N_("too few vouches"),
}


def outcome_text(tally: dict[str, Any]) -> str:
    """A tally's outcome as people read it: "passed, void: too few vouches" when a
    passed proposal changes nothing (specs/0008 §3.1)."""
    outcome = tally["outcome"]
    said = _(OUTCOME_TEXT[outcome]) if outcome in OUTCOME_TEXT else outcome
    void = tally.get("void_reason")
    if not void:
        return said
    why = _(VOID_TEXT[void]) if void in VOID_TEXT else void.replace("-", " ")
    return _("{outcome}, void: {why}").format(outcome=said, why=why)


def cmd_proposals(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = via_node(args, ops.proposals, "GET", f"{PREFIX}/proposals")
    known = known_names(args)
    lines = [
        f"{p['id']}  {outcome_text(p['tally']):<10} {p['title']}  "
        + _("by {author}").format(author=label(known, p["author"]))
        for p in out["proposals"]
    ]
    out["_text"] = "\n".join(lines) or _("(no proposals)")
    return out


def parse_time(text: str) -> int:
    """POSIX seconds, or an ISO 8601 date-time (UTC when it names no zone)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError as e:
        raise localized(
            LocalMisuseError, "misuse.bad-argument", N_("not a time: {text}"), text=text
        ) from e
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return int(when.timestamp())


def cmd_rules(args: argparse.Namespace) -> dict[str, Any]:
    if args.history:
        out: dict[str, Any] = via_node(args, ops.rules_history, "GET", f"{PREFIX}/rules/history")
        charter = _("charter")
        out["_text"] = "\n".join(
            f"{h['effective_at_s'] or charter}  {h['rules_hash'][:16]}  {h.get('title', '')}"
            for h in out["history"]
        )
        return out
    at = None if args.at is None else parse_time(args.at)
    query = "" if at is None else f"?at={at}"
    out = via_node(args, lambda ctx: ops.rules(ctx, at), "GET", f"{PREFIX}/rules{query}")
    out["_text"] = "\n".join(f"{k} = {v}" for k, v in out["rules"].items())
    return out


# -- membership -------------------------------------------------------------------------


def cmd_members(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = via_node(args, ops.members, "GET", f"{PREFIX}/members")
    known = known_names(args)
    lines = [f"{label(known, m)}  {m}" for m in out["members"]]
    lines += [
        _("applied: {name}  {identity}  vouched by {n}").format(
            name=a["name"], identity=a["identity"], n=len(a["vouched_by"])
        )
        for a in out["applications"]
        if not a["member"]
    ]
    out["_text"] = "\n".join(lines)
    return out


def cmd_vouch(args: argparse.Namespace) -> dict[str, Any]:
    candidate = id_from_text(args.candidate)
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: ops.vouch(ctx, candidate, args.on)[0],
        "POST",
        f"{PREFIX}/vouches",
        {"candidate": args.candidate, "withdraw": not args.on},
    )
    out["_text"] = out["entry_id"]
    return out


def cmd_apply(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = via_node(
        args,
        lambda ctx: ops.apply(ctx, args.name, args.text)[0],
        "POST",
        f"{PREFIX}/applications",
        {"name": args.name, "text": args.text},
    )
    out["_text"] = _("applied as {identity}").format(identity=out["identity"])
    return out
