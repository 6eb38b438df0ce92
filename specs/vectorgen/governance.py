"""governance/charter, governance/tally and governance/evolve (specs/0008-governance.md).

Expectations come from how each case is built: which votes the case means to count and
why the others are excluded, the counts those give, and the thresholds of §5 computed
here in integers; for evolve, which proposals the case means to pass and when they take
effect (§6). Nothing is read back from ledger.governance.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from protocol import canonical
from protocol.identity import network_id
from protocol.ids import id_to_text
from protocol.jsonform import to_json
from specs.vectorgen.common import Case, error, identity, ok

LABS = [identity(f"lab-{c}").id for c in "abcde"]
MEMBERS = sorted(LABS)
OUTSIDER = identity("lab-x").id
A, B, C, D, E = MEMBERS
T0_S = 1_767_225_600
PERIOD_S = 86_400
DELAY_S = 3_600
RULES: dict[str, Any] = {
    "quorum_permille": 600,
    "pass_threshold_permille": 500,
    "veto_threshold_permille": 334,
    "voting_period_s": PERIOD_S,
    "effect_delay_s": DELAY_S,
    "admission_vouches": 2,
    "licences": ["CC-BY-SA-4.0", "CERN-OHL-S-2.0"],
    "max_entry_bytes": 32_768,
    "max_str_bytes": 4_096,
    "max_blob_bytes": 104_857_600,
    "job_offer_ttl_s": 604_800,
    "witness_count": 3,
}


def charter_cases() -> Iterator[Case]:
    def case(name: str, description: str, toml: str, expect: dict[str, Any]) -> Case:
        return Case("governance", "charter", name, description, {"toml": toml}, expect)

    good = _charter_toml(RULES)
    value = {"version": 1, "name": "Vector Commons", "members": MEMBERS, "rules": RULES,
             "text": "We share designs."}  # fmt: skip
    raw = canonical.encode(value)
    yield case(
        "five-founders",
        "Five founding labs; the network id is the digest of the canonical charter.",
        good,
        ok(network_id=id_to_text(network_id(raw)), charter_hex=raw.hex()),
    )
    reversed_members = good.replace(_members_toml(MEMBERS), _members_toml(MEMBERS[::-1]))
    yield case(
        "members-in-any-order",
        "The same charter with members listed in reverse: same bytes, same network id.",
        reversed_members,
        ok(network_id=id_to_text(network_id(raw)), charter_hex=raw.hex()),
    )
    test_raw = canonical.encode({**value, "test": True})
    yield case(
        "test-federation",
        "A test federation (0008 §1.2): `test = true` is hashed, so its id differs.",
        good.replace('text = "We share designs."', 'text = "We share designs."\ntest = true'),
        ok(network_id=id_to_text(network_id(test_raw)), charter_hex=test_raw.hex()),
    )
    bad: list[tuple[str, str, str]] = [
        ("float-threshold", "A threshold written as a float.", "quorum_permille = 33.4"),
        ("above-hard-cap", "max_entry_bytes above the hard cap.", "max_entry_bytes = 65537"),
        ("threshold-out-of-range", "A 1000 per-mille threshold.", "pass_threshold_permille = 1000"),
        ("unknown-rule", "A rule this version does not know.", "quorum_percent = 40"),
        ("too-many-witnesses", "witness_count above the founders.", "witness_count = 6"),
    ]
    for name, description, line in bad:
        field = "charter" if name == "too-many-witnesses" else "rules." + line.split(" = ")[0]
        key = line.split(" = ")[0]
        rules_toml = "\n".join(
            line if ln.startswith(key + " =") else ln for ln in _rules_toml(RULES).splitlines()
        )
        if not any(ln.startswith(key + " =") for ln in _rules_toml(RULES).splitlines()):
            rules_toml += "\n" + line
        text = good.replace(_rules_toml(RULES), rules_toml)
        yield case(name, description, text, error("decode.bad-charter", field=field))
    duplicate = good.replace(_members_toml(MEMBERS), _members_toml([*MEMBERS, A]))
    yield case(
        "duplicate-member",
        "A founding member listed twice.",
        duplicate,
        error("decode.bad-charter", field="members"),
    )
    yield case(
        "not-toml", "Text that is not TOML.", "name = ", error("decode.bad-charter", field="toml")
    )
    yield case(
        "witness-count-equals-founders",
        "witness_count 5 with five founders: it must be below their number.",
        good.replace("witness_count = 3", "witness_count = 5"),
        error("decode.bad-charter", field="charter"),
    )
    bad_id = _members_toml(MEMBERS).replace(id_to_text(B), "b" + "a" * 51)
    yield case(
        "member-not-an-id",
        "The second member is not an id text: the field names its 0-based index.",
        good.replace(_members_toml(MEMBERS), bad_id),
        error("decode.bad-charter", field="members.1"),
    )
    yield case(
        "unknown-key",
        "A top-level key this version does not know: the field is the key.",
        'motto = "Make things"\n' + good,
        error("decode.bad-charter", field="motto"),
    )
    yield case(
        "bad-licence-id",
        "A licence id with a space: the field names the licence's 0-based index.",
        good.replace('"CERN-OHL-S-2.0"', '"CERN OHL"'),
        error("decode.bad-charter", field="rules.licences.1"),
    )
    no_text = canonical.encode({**value, "text": ""})
    yield case(
        "text-omitted",
        "No text: the charter's text is empty.",
        good.replace('text = "We share designs."\n', ""),
        ok(network_id=id_to_text(network_id(no_text)), charter_hex=no_text.hex()),
    )
    yield case(
        "test-false",
        "`test = false` is the same charter as no `test` at all.",
        good.replace('text = "We share designs."', 'text = "We share designs."\ntest = false'),
        ok(network_id=id_to_text(network_id(raw)), charter_hex=raw.hex()),
    )
    licences_reversed = good.replace(
        '["CC-BY-SA-4.0", "CERN-OHL-S-2.0"]', '["CERN-OHL-S-2.0", "CC-BY-SA-4.0"]'
    )
    yield case(
        "licences-in-any-order",
        "Licences listed in reverse: sorted in the charter bytes, same network id.",
        licences_reversed,
        ok(network_id=id_to_text(network_id(raw)), charter_hex=raw.hex()),
    )


#: The charter of charter_cases' `five-founders`, as its canonical map.
CHARTER: dict[str, Any] = {"version": 1, "name": "Vector Commons", "members": MEMBERS,
                           "rules": RULES, "text": "We share designs."}  # fmt: skip
CHARTER_RAW = canonical.encode(CHARTER)


def charter_exchange_cases() -> Iterator[Case]:
    """What a peer wrote on /fabcommons/charter/1 before closing, asked for the network of
    CHARTER (0008 §1.3, its checks in order)."""
    wanted = network_id(CHARTER_RAW)

    def case(name: str, description: str, answer: bytes, expect: dict[str, Any]) -> Case:
        data = {"network_hex": wanted.hex(), "answer_hex": answer.hex()}
        return Case("governance", "charter-exchange", name, description, data, expect)

    members = [id_to_text(m) for m in MEMBERS]
    yield case(
        "the-charter",
        "The charter whose digest is the network id asked for.",
        CHARTER_RAW,
        ok(name="Vector Commons", members=members, test=False),
    )
    test_raw = canonical.encode({**CHARTER, "test": True})
    yield case(
        "another-federation",
        "A valid charter, but of a test federation with the same founders: another id.",
        test_raw,
        error("remote.wrong-charter"),
    )
    yield case(
        "nothing",
        "The peer closed without writing: it holds no charter of that network.",
        b"",
        error("remote.charter-unavailable"),
    )
    yield case(
        "over-the-cap",
        "131,073 zero bytes: one more than a charter may have.",
        bytes(128 * 1024 + 1),
        error("decode.too-large"),
    )
    yield case(
        "truncated",
        "The charter without its last byte.",
        CHARTER_RAW[:-1],
        error("decode.malformed"),
    )
    yield case(
        "trailing-byte",
        "The charter followed by one zero byte.",
        CHARTER_RAW + b"\x00",
        error("decode.trailing-bytes"),
    )
    no_name = {k: v for k, v in CHARTER.items() if k != "name"}
    yield case(
        "no-name",
        "A map with every field of the charter but its name.",
        canonical.encode(no_name),
        error("decode.bad-charter", field="name"),
    )
    yield case(
        "test-false-spelled",
        "The charter with `test: false` spelled out: not the canonical encoding of it.",
        canonical.encode({**CHARTER, "test": False}),
        error("decode.bad-charter", field="charter"),
    )


def _members_toml(members: list[bytes]) -> str:
    return "members = [\n" + "".join(f'  "{id_to_text(m)}",\n' for m in members) + "]\n"


def _rules_toml(rules: dict[str, Any]) -> str:
    lines = []
    for key, value in rules.items():
        shown = "[" + ", ".join(f'"{v}"' for v in value) + "]" if isinstance(value, list) else value
        lines.append(f"{key} = {shown}")
    return "\n".join(lines)


def _charter_toml(rules: dict[str, Any]) -> str:
    head = 'version = 1\nname = "Vector Commons"\ntext = "We share designs."\n'
    return head + _members_toml(MEMBERS) + "\n[rules]\n" + _rules_toml(rules) + "\n"


# --- tallies -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class V:
    """One vote a case casts: who, what, at which seq, when witnessed, and its fate."""

    voter: bytes
    choice: str
    seq: int
    witnessed_s: int | None  # None: no checkpoint covers it
    fate: str  # "counted" or an exclusion reason
    claimed_s: int | None = None  # the voter's own timestamp (default: witnessed time)
    salt: str = ""  # tells apart two votes at the same seq (a forked log)
    proposal: bytes | None = None  # the proposal it names (default: the one tallied)

    @property
    def id(self) -> bytes:
        return _id("vote", self.voter, self.seq, *((self.salt,) if self.salt else ()))


PROPOSER_SEQ = 2
OPENED_S = T0_S + 100
DEADLINE_S = OPENED_S + PERIOD_S


def _id(*parts: Any) -> bytes:
    return hashlib.sha256(repr(parts).encode()).digest()


PROPOSAL_ID = _id("proposal", A)


def _cosigners(author: bytes, electorate: list[bytes]) -> list[bytes]:
    return [m for m in electorate if m != author][:3]


def _tally_input(
    votes: list[V],
    electorate: list[bytes],
    now_s: int,
    extra: tuple[dict[str, Any], ...] = (),
    opened: bool = True,
) -> dict[str, Any]:
    """`extra`: checkpoints besides those of each vote with a `witnessed_s`; `opened`:
    whether a checkpoint witnesses the proposal."""
    checkpoints = [_checkpoint(A, PROPOSER_SEQ, OPENED_S, electorate)] if opened else []
    rows = []
    for v in votes:
        claimed = v.claimed_s if v.claimed_s is not None else (v.witnessed_s or T0_S)
        named = PROPOSAL_ID if v.proposal is None else v.proposal
        rows.append({"id_hex": v.id.hex(), "voter_hex": v.voter.hex(), "seq": v.seq,
                     "proposal_hex": named.hex(), "choice": v.choice,
                     "timestamp_ms": claimed * 1000})  # fmt: skip
        if v.witnessed_s is not None:
            checkpoints.append(_checkpoint(v.voter, v.seq, v.witnessed_s, electorate))
    checkpoints += extra
    action = {"action": "member.admit", "title": "Admit lab X", "member": OUTSIDER}
    proposal = {"id_hex": PROPOSAL_ID.hex(), "author_hex": A.hex(), "seq": PROPOSER_SEQ,
                "action": to_json(action)}  # fmt: skip
    return {"electorate_hex": [m.hex() for m in electorate], "rules": RULES, "proposal": proposal,
            "votes": rows, "checkpoints": checkpoints, "now_s": now_s}  # fmt: skip


def _checkpoint(author: bytes, size: int, at_s: int, electorate: list[bytes]) -> dict[str, Any]:
    """Three cosigners (not the author) at at_s - 1, at_s, at_s + 1: upper median at_s."""
    stamps = {
        w.hex(): at_s + d for w, d in zip(_cosigners(author, electorate), (-1, 0, 1), strict=True)
    }
    cosignatures = [{"witness_hex": w, "timestamp_s": t} for w, t in sorted(stamps.items())]
    return {"author_hex": author.hex(), "size": size, "cosignatures": cosignatures}


def _expect(votes: list[V], electorate: list[bytes], now_s: int) -> dict[str, Any]:
    return ok(**_tally_expect(votes, electorate, now_s, OPENED_S))


def _tally_expect(
    votes: list[V], electorate: list[bytes], now_s: int, opened_s: int
) -> dict[str, Any]:
    deadline_s = opened_s + PERIOD_S
    counted = [v for v in votes if v.fate == "counted"]
    n = {c: sum(1 for v in counted if v.choice == c) for c in ("yes", "no", "abstain", "veto")}
    voted, size = len(counted), len(electorate)
    quorum = voted * 1000 >= RULES["quorum_permille"] * size
    vetoed = voted > 0 and n["veto"] * 1000 >= RULES["veto_threshold_permille"] * voted
    against = n["yes"] + n["no"] + n["veto"]
    met = against > 0 and n["yes"] * 1000 > RULES["pass_threshold_permille"] * against
    if now_s < deadline_s:
        outcome = "voting"
    else:
        outcome = (
            "no-quorum" if not quorum else "vetoed" if vetoed else "passed" if met else "rejected"
        )
    excluded = {id_to_text(v.id): v.fate for v in votes if v.fate != "counted"}
    counted_ids = [id_to_text(v.id) for v in _by_voter(counted)]
    return {"outcome": outcome, "opened_at_s": opened_s, "deadline_s": deadline_s,
            "effective_at_s": deadline_s + DELAY_S, "electorate_size": size, "counts": n,
            "quorum_reached": quorum, "threshold_met": met, "vetoed": vetoed,
            "counted": counted_ids, "excluded": dict(sorted(excluded.items()))}  # fmt: skip


def _in_time(choice: str) -> Any:
    def vote(voter: bytes, seq: int = 2) -> V:
        return V(voter, choice, seq, OPENED_S + 60, "counted")

    return vote


yes, no, veto, abstain = (_in_time(c) for c in ("yes", "no", "veto", "abstain"))


def _by_voter(votes: list[V]) -> list[V]:
    return sorted(votes, key=lambda v: v.voter)


def tally_cases() -> Iterator[Case]:
    t = OPENED_S + 60
    after = DEADLINE_S + DELAY_S
    base = [yes(A, 3), yes(B), no(C)]  # 2 yes, 1 no: passes; a further no makes it 2-2
    specs: list[tuple[str, str, list[V], list[bytes], int]] = [
        ("passes", "Three yes and one no of five: quorum 4/5, 3/4 yes.",
         [*base[:2], yes(C), no(D)], MEMBERS, after),
        ("exactly-at-threshold", "Two yes, two no: 1/2 does not exceed 500 per mille.",
         [*base, no(D)], MEMBERS, after),
        ("quorum-missed-by-one", "Two of five vote; quorum 600 per mille needs three.",
         base[:2], MEMBERS, after),
        ("quorum-exactly-met", "Three of five vote: 600 per mille, quorum reached.",
         [*base[:2], abstain(C)], MEMBERS, after),
        ("vetoed", "Three yes, two veto: vetoes 400 per mille, at or above 334.",
         [*base[:2], yes(C), veto(D), veto(E)], MEMBERS, after),
        ("veto-under-threshold", "Four yes, one veto: 200 per mille of vetoes; passes.",
         [*base[:2], yes(C), yes(D), veto(E)], MEMBERS, after),
        ("all-abstain", "Quorum reached by abstentions alone: nothing to pass on.",
         [abstain(B), abstain(C), abstain(D)], MEMBERS, after),
        ("replaced-vote", "B votes no, then yes at a higher seq in time: the yes counts.",
         [yes(A, 3), V(B, "no", 2, t, "replaced"), V(B, "yes", 3, t + 10, "counted"), no(C)],
         MEMBERS, after),
        ("late-vote", "D's vote is witnessed exactly at the deadline: late.",
         [*base, V(D, "no", 2, DEADLINE_S, "late")], MEMBERS, after),
        ("backdated-vote", "D's vote claims a time before the deadline, witnessed after it.",
         [*base, V(D, "no", 2, DEADLINE_S + 600, "late", claimed_s=t)], MEMBERS, after),
        ("late-vote-does-not-replace", "C votes yes in time, then no too late: yes counts.",
         [yes(A, 3), no(B), yes(C), V(C, "no", 3, DEADLINE_S + 1, "late")], MEMBERS, after),
        ("removed-member", "E is not in the electorate given (removed before the proposal "
         "opened; evolve/removed-member-votes removes it by vote): E's vote is excluded.",
         [*base, V(E, "no", 2, t, "not-in-electorate")], [A, B, C, D], after),
        ("outsider-vote", "A lab that is not a member votes.",
         [*base[:2], yes(C), V(OUTSIDER, "no", 2, t, "not-in-electorate")], MEMBERS, after),
        ("unwitnessed-vote", "C's vote is covered by no cosigned checkpoint.",
         [*base[:2], yes(D), V(C, "no", 2, None, "not-witnessed")], MEMBERS, after),
        ("still-voting", "Before the deadline the outcome is 'voting' whatever the counts.",
         [*base[:2], yes(C)], MEMBERS, t + 100),
    ]  # fmt: skip
    for name, description, votes, electorate, now_s in specs:
        yield Case(
            "governance",
            "tally",
            name,
            description,
            _tally_input(votes, electorate, now_s),
            _expect(votes, electorate, now_s),
        )
    yield from _more_tally_cases()


def _cosigned(author: bytes, size: int, stamps: dict[bytes, int]) -> dict[str, Any]:
    """A checkpoint of `author`'s log with exactly these cosignatures."""
    cosignatures = [{"witness_hex": w.hex(), "timestamp_s": t} for w, t in sorted(stamps.items())]
    return {"author_hex": author.hex(), "size": size, "cosignatures": cosignatures}


def _more_tally_cases() -> Iterator[Case]:
    """Exclusion order, forks, the outcome at the deadline, and the witness clock (§4)."""
    t = OPENED_S + 60
    after = DEADLINE_S + DELAY_S

    def case(name: str, description: str, votes: list[V], now_s: int = after,
             extra: tuple[dict[str, Any], ...] = ()) -> Case:  # fmt: skip
        data = _tally_input(votes, MEMBERS, now_s, extra)
        return Case("governance", "tally", name, description, data, _expect(votes, MEMBERS, now_s))

    base = [yes(A, 3), yes(B), no(C)]
    yield case(
        "other-proposal",
        "D's vote names another proposal: excluded, whatever else holds of it.",
        [*base, V(D, "yes", 2, t, "other-proposal", proposal=_id("proposal", B))],
    )
    yield case(
        "final-at-deadline",
        "now_s equals the deadline: the outcome is final, no longer 'voting'.",
        [*base[:2], yes(C)],
        DEADLINE_S,
    )
    yield case(
        "vote-witnessed-after-now",
        "Before the deadline, a vote witnessed after now_s (but before the deadline) counts.",
        [*base[:2], V(C, "yes", 2, t + 200, "counted")],
        t + 100,
    )
    first, second = V(B, "no", 2, t, "", salt="a"), V(B, "yes", 2, t, "", salt="b")
    kept, lost = (first, second) if first.id > second.id else (second, first)
    yield case(
        "equal-seq-fork",
        "B's forked log holds two votes at seq 2: the larger entry id counts.",
        [yes(A, 3), V(B, kept.choice, 2, t, "counted", salt=kept.salt),
         V(B, lost.choice, 2, t, "replaced", salt=lost.salt), no(C)],
    )  # fmt: skip
    stamps = dict(zip([A, B, C, E], range(DEADLINE_S - 2, DEADLINE_S + 2), strict=True))
    yield case(
        "upper-median-of-four",
        "Four cosigners at deadline -2, -1, +0, +1: the upper median is the deadline, so late.",
        [*base, V(D, "no", 2, None, "late")],
        extra=(_cosigned(D, 2, stamps),),
    )

    def at(when: int, who: bytes) -> dict[bytes, int]:
        return {w: when + d for w, d in zip(_cosigners(who, MEMBERS), (-1, 0, 1), strict=True)}

    yield case(
        "smallest-median-of-covering-checkpoints",
        "D's vote (seq 3) is covered by checkpoints of size 3 (median after the deadline) and "
        "5 (median in time): the smaller median counts. E's vote (seq 3) is covered by none: "
        "a checkpoint of size 2 does not cover it.",
        [*base, V(D, "no", 3, None, "counted"), V(E, "no", 3, None, "not-witnessed")],
        extra=(_cosigned(D, 3, at(DEADLINE_S + 10, D)), _cosigned(D, 5, at(t, D)),
               _cosigned(E, 2, at(t, E))),
    )  # fmt: skip
    yield case(
        "ineligible-cosigners",
        "D's vote is cosigned by D itself, an outsider, A and B: two eligible witnesses, "
        "fewer than k = 3, so not witnessed.",
        [*base, V(D, "no", 2, None, "not-witnessed")],
        extra=(_cosigned(D, 2, {D: t, OUTSIDER: t, A: t, B: t}),),
    )
    votes = [yes(B), no(C), yes(D)]  # none by A: a checkpoint of A's log would cover it
    data = _tally_input(votes, MEMBERS, after, opened=False)
    expect = ok(outcome="not-opened", opened_at_s=None, deadline_s=None, effective_at_s=None,
                electorate_size=len(MEMBERS), counts=dict.fromkeys(("yes", "no", "abstain",
                "veto"), 0), quorum_reached=False, threshold_met=False, vetoed=False,
                counted=[], excluded={})  # fmt: skip
    yield Case(
        "governance",
        "tally",
        "not-opened",
        "No checkpoint witnesses the proposal: 'not-opened', no vote looked at.",
        data,
        expect,
    )


# --- the state in force -------------------------------------------------------------


def _evolve_row(proposal: bytes, author: bytes, seq: int, action: dict[str, Any]) -> Any:
    return {"id_hex": proposal.hex(), "author_hex": author.hex(), "seq": seq,
            "action": to_json(action)}  # fmt: skip


def _vote_rows(proposal: bytes, votes: list[V]) -> list[dict[str, Any]]:
    return [{"id_hex": v.id.hex(), "voter_hex": v.voter.hex(),
             "seq": v.seq, "proposal_hex": proposal.hex(), "choice": v.choice,
             "timestamp_ms": (v.witnessed_s or T0_S) * 1000} for v in votes]  # fmt: skip


def evolve_cases() -> Iterator[Case]:
    """removed-member-votes: E is removed by a passed proposal, then votes on a proposal
    opened after the removal took effect (the tally suite's removed-member gives the
    electorate directly)."""
    removed_at = DEADLINE_S + DELAY_S
    later_id, later_opened = _id("proposal", B), removed_at + 100
    at_s = later_opened + PERIOD_S + DELAY_S + 100
    remaining = [A, B, C, D]
    remove = {"action": "member.remove", "title": "Remove lab E", "member": E}
    amend = {"action": "charter.amend", "title": "Say more", "text": "We share more."}
    t1, t2 = OPENED_S + 60, later_opened + 60
    first = [V(A, "yes", 3, t1, "counted"), *(V(m, "yes", 2, t1, "counted") for m in (B, C, D))]
    later = [V(A, "yes", 4, t2, "counted"), V(B, "yes", 4, t2, "counted"),
             V(C, "no", 3, t2, "counted"), V(D, "no", 3, t2, "counted"),
             V(E, "yes", 2, t2, "not-in-electorate")]  # fmt: skip
    checkpoints = [_checkpoint(A, PROPOSER_SEQ, OPENED_S, MEMBERS),
                   _checkpoint(B, 3, later_opened, remaining)]  # fmt: skip
    checkpoints += [_checkpoint(v.voter, v.seq, t1, MEMBERS) for v in first]
    checkpoints += [_checkpoint(v.voter, v.seq, t2, remaining) for v in later]
    data = {"members_hex": [m.hex() for m in MEMBERS], "rules": RULES,
            "text": "We share designs.",
            "proposals": [_evolve_row(PROPOSAL_ID, A, PROPOSER_SEQ, remove),
                          _evolve_row(later_id, B, 3, amend)],
            "votes": _vote_rows(PROPOSAL_ID, first) + _vote_rows(later_id, later),
            "vouches": [], "forks": [], "checkpoints": checkpoints, "at_s": at_s}  # fmt: skip
    tallies = {
        id_to_text(PROPOSAL_ID): _tally_expect(first, MEMBERS, at_s, OPENED_S),
        id_to_text(later_id): _tally_expect(later, remaining, at_s, later_opened),
    }
    assert tallies[id_to_text(later_id)]["outcome"] == "rejected"  # E's yes would pass it
    expect = ok(members=[id_to_text(m) for m in sorted(remaining)], rules=RULES,
                text="We share designs.", unfrozen=[], blocked=[],
                applied=[{"proposal": id_to_text(PROPOSAL_ID), "effective_at_s": removed_at}],
                skipped=[], tallies=dict(sorted(tallies.items())))  # fmt: skip
    yield Case(
        "governance",
        "evolve",
        "removed-member-votes",
        "E is removed by a passed vote, then votes on a later proposal: not in its electorate.",
        data,
        expect,
    )


class World:
    """An evolve case: entries of each author's log in seq order, each witnessed at a
    given second by a checkpoint of its own size (three cosigners, median at that second)."""

    def __init__(self) -> None:
        self.next_seq: dict[bytes, int] = {}
        self.last_s: dict[bytes, int] = {}
        self.proposals: list[dict[str, Any]] = []
        self.votes: list[dict[str, Any]] = []
        self.vouches: list[dict[str, Any]] = []
        self.forks: list[dict[str, Any]] = []
        self.checkpoints: list[dict[str, Any]] = []

    def entry(self, author: bytes, at_s: int | None, witnesses: list[bytes]) -> int:
        """The next seq of `author`'s log; witnessed at `at_s` by `witnesses` (None: not)."""
        seq = self.next_seq.get(author, 2)  # seq 1 is the inception
        self.next_seq[author] = seq + 1
        if at_s is not None:
            assert at_s >= self.last_s.get(author, 0)  # a later checkpoint never covers earlier
            self.last_s[author] = at_s
            self.checkpoints.append(_checkpoint(author, seq, at_s, witnesses))
        return seq

    def propose(self, author: bytes, action: dict[str, Any], at_s: int | None,
                witnesses: list[bytes] = MEMBERS) -> bytes:  # fmt: skip
        seq = self.entry(author, at_s, witnesses)
        proposal = _id("proposal", author, seq)
        self.proposals.append(_evolve_row(proposal, author, seq, action))
        return proposal

    def vote(self, proposal: bytes, voter: bytes, choice: str, at_s: int, fate: str = "counted",
             witnesses: list[bytes] = MEMBERS) -> V:  # fmt: skip
        v = V(voter, choice, self.entry(voter, at_s, witnesses), at_s, fate)
        self.votes += _vote_rows(proposal, [v])
        return v

    def vouch(self, voucher: bytes, candidate: bytes, at_s: int, on: bool = True,
              seq: int | None = None) -> None:  # fmt: skip
        if seq is None:
            seq = self.entry(voucher, at_s, MEMBERS)
        self.vouches.append({"voucher_hex": voucher.hex(), "seq": seq,
                             "candidate_hex": candidate.hex(), "vouch": on})  # fmt: skip

    def fork(self, author: bytes, at_s: int) -> bytes:
        """A fork proof of `author`'s log at its next seq, that seq witnessed at `at_s`."""
        seq = self.entry(author, at_s, MEMBERS)
        proof = _id("fork-proof", author, seq)
        self.forks.append({"proof_hex": proof.hex(), "author_hex": author.hex(),
                           "position": seq})  # fmt: skip
        return proof

    def case(self, name: str, description: str, at_s: int, expect: dict[str, Any]) -> Case:
        data = {"members_hex": [m.hex() for m in MEMBERS], "rules": RULES,
                "text": "We share designs.", "proposals": self.proposals, "votes": self.votes,
                "vouches": self.vouches, "forks": self.forks, "checkpoints": self.checkpoints,
                "at_s": at_s}  # fmt: skip
        return Case("governance", "evolve", name, description, data, expect)


def _state(
    members: list[bytes],
    applied: list[tuple[bytes, int]],
    skipped: list[tuple[bytes, str]],
    tallies: dict[bytes, dict[str, Any]],
    text: str = "We share designs.",
    rules: dict[str, Any] = RULES,
    unfrozen: tuple[bytes, ...] = (),
    blocked: tuple[bytes, ...] = (),
) -> dict[str, Any]:
    return ok(
        members=[id_to_text(m) for m in sorted(members)],
        rules=rules,
        text=text,
        unfrozen=[id_to_text(u) for u in sorted(unfrozen)],
        blocked=[id_to_text(b) for b in sorted(blocked)],
        applied=[{"proposal": id_to_text(p), "effective_at_s": t} for p, t in applied],
        skipped=[{"proposal": id_to_text(p), "reason": r} for p, r in skipped],
        tallies={id_to_text(p): r for p, r in tallies.items()},  # JSON sorts the keys
    )


def _passing(w: World, proposal: bytes, opened_s: int, at_s: int) -> dict[str, Any]:
    """A, B, C and D vote yes a minute after the opening: the tally's expectation."""
    votes = [w.vote(proposal, m, "yes", opened_s + 60) for m in (A, B, C, D)]
    return _tally_expect(votes, MEMBERS, at_s, opened_s)


FORK_PROOF = _id("fork-proof")


def more_evolve_cases() -> Iterator[Case]:
    effect_s = DEADLINE_S + DELAY_S
    at_s = effect_s + 100
    w = World()
    w.vouch(A, C, OPENED_S - 50)  # so admitting C fails on already-member, checked second
    w.vouch(B, C, OPENED_S - 50)
    title = {"title": "A change"}
    plans: list[tuple[dict[str, Any], str | None]] = [
        ({"action": "rules.change", "changes": {"witness_count": 5}},
         "witness-count-above-members"),
        ({"action": "rules.change", "changes": {"quorum_permille": 0}}, "rules-out-of-bounds"),
        ({"action": "member.admit", "member": C}, "already-member"),
        ({"action": "member.remove", "member": OUTSIDER}, "not-a-member"),
        ({"action": "member.admit", "member": OUTSIDER}, "too-few-vouches"),
        ({"action": "rules.change", "changes": {"voting_period_s": 2 * PERIOD_S}}, None),
        ({"action": "charter.amend", "text": "We share more."}, None),
        ({"action": "fork.unfreeze", "fork_proof": FORK_PROOF}, None),
    ]  # fmt: skip
    ids = [w.propose(A, {**action, **title}, OPENED_S) for action, _ in plans]
    tallies = {p: _passing(w, p, OPENED_S, at_s) for p in ids}
    order = sorted(zip(ids, (why for _, why in plans), strict=True))
    yield w.case(
        "void-actions",
        "Eight proposals pass and take effect at the same second, in proposal id order: five "
        "are void (each reason once), a rules change, an amendment and an unfreeze apply.",
        at_s,
        _state(
            MEMBERS,
            [(p, effect_s) for p, why in order if why is None],
            [(p, why) for p, why in order if why is not None],
            tallies,
            text="We share more.",
            rules={**RULES, "voting_period_s": 2 * PERIOD_S},
            unfrozen=(FORK_PROOF,),
        ),
    )
    w = World()
    ids = [w.propose(A, {"action": "member.remove", "member": m, "title": "Remove"}, OPENED_S)
           for m in (D, E)]  # fmt: skip
    tallies = {p: _passing(w, p, OPENED_S, at_s) for p in ids}
    first, second = sorted(ids)
    gone = D if first == ids[0] else E
    yield w.case(
        "second-removal-void",
        "Two removals take effect at the same second: the first by proposal id applies; the "
        "second would leave 3 members for witness_count 3, so it is void.",
        at_s,
        _state(
            [m for m in MEMBERS if m != gone],
            [(first, effect_s)],
            [(second, "too-few-members-to-witness")],
            tallies,
        ),
    )
    w = World()
    remove = w.propose(A, {"action": "member.remove", "member": E, "title": "Remove E"}, OPENED_S)
    removal = _passing(w, remove, OPENED_S, effect_s + PERIOD_S + DELAY_S)
    remaining = [A, B, C, D]
    amend = {"action": "charter.amend", "title": "Say more", "text": "We share more."}
    later = w.propose(B, amend, effect_s, remaining)
    t = effect_s + 60
    votes = [w.vote(later, m, c, t, witnesses=remaining)
             for m, c in ((A, "yes"), (B, "yes"), (C, "yes"), (D, "no"))]  # fmt: skip
    votes.append(w.vote(later, E, "no", t, "not-in-electorate", witnesses=remaining))
    end_s = effect_s + PERIOD_S + DELAY_S
    yield w.case(
        "opening-at-the-effect-second",
        "B's proposal opens at the very second E's removal takes effect: the effect applies "
        "first, so E is not in its electorate.",
        end_s,
        _state(
            remaining,
            [(remove, effect_s), (later, end_s)],
            [],
            {remove: removal, later: _tally_expect(votes, remaining, end_s, effect_s)},
            text="We share more.",
        ),
    )
    yield from _not_in_state_case()
    yield from _vouch_cases()
    yield from _blocklist_case()
    yield from _frozen_cases()


def _blocklist_case() -> Iterator[Case]:
    """Two rounds of blocklist proposals (specs/0008 §3, §3.1, §6)."""
    first_s = DEADLINE_S + DELAY_S
    second_opened = first_s + 100
    second_s = second_opened + PERIOD_S + DELAY_S
    at_s = second_s + 100
    x, y, z = sorted(_id("blob", name) for name in ("x", "y", "z"))
    w = World()
    block = w.propose(
        A,
        {
            "action": "blobs.block",
            "title": "Remove illegal files",
            "blobs": [x, y],
            "reason": "court order 12/2026",
        },
        OPENED_S,
    )
    stray = w.propose(B, {"action": "blobs.unblock", "title": "Unblock z", "blobs": [z]},
                      OPENED_S)  # fmt: skip
    tallies = {p: _passing(w, p, OPENED_S, at_s) for p in (block, stray)}
    unblock = w.propose(
        C,
        {"action": "blobs.unblock", "title": "y was legal after all", "blobs": [y]},
        second_opened,
    )
    again = w.propose(D, {"action": "blobs.block", "title": "Block x again", "blobs": [x],
                          "reason": "a second notice"}, second_opened)  # fmt: skip
    tallies |= {p: _passing(w, p, second_opened, at_s) for p in (unblock, again)}
    first = sorted([(block, None), (stray, "not-blocked")])
    second = sorted([(unblock, None), (again, "already-blocked")])
    order = [(p, why, first_s) for p, why in first] + [(p, why, second_s) for p, why in second]
    yield w.case(
        "blocklist",
        "Blobs x and y are blocked by vote and an unblock of z (never blocked) is void; later "
        "y is unblocked and blocking x again is void: the blocklist holds x.",
        at_s,
        _state(
            MEMBERS,
            [(p, t) for p, why, t in order if why is None],
            [(p, why) for p, why, _ in order if why is not None],
            tallies,
            blocked=(x,),
        ),
    )


def _frozen_cases() -> Iterator[Case]:
    at_s = DEADLINE_S + DELAY_S
    w = World()
    w.fork(D, OPENED_S - 50)
    amend = {"action": "charter.amend", "title": "Say more", "text": "We share more."}
    proposal = w.propose(A, amend, OPENED_S)
    t = OPENED_S + 60
    votes = [w.vote(proposal, m, c, t) for m, c in ((A, "yes"), (B, "yes"), (C, "no"))]
    votes.append(w.vote(proposal, D, "yes", t, "not-in-electorate"))
    electorate = [A, B, C, E]
    yield w.case(
        "frozen-member",
        "D's log forked at a seq witnessed before the opening: D is frozen, so not in the "
        "electorate (4, not 5) and its vote is not counted; 3 of 4 voted, 2 of 3 yes: passed.",
        at_s,
        _state(
            MEMBERS,
            [(proposal, at_s)],
            [],
            {proposal: _tally_expect(votes, electorate, at_s, OPENED_S)},
            text="We share more.",
        ),
    )


def _not_in_state_case() -> Iterator[Case]:
    at_s = DEADLINE_S + DELAY_S - 1
    w = World()
    amend = {"action": "charter.amend", "title": "Say more", "text": "We share more."}
    due = w.propose(D, amend, OPENED_S)
    tally = _passing(w, due, OPENED_S, at_s)
    outsider = w.propose(OUTSIDER, amend, OPENED_S)
    for m in (A, B, C, D):
        w.vote(outsider, m, "yes", OPENED_S + 60)
    w.propose(B, amend, None)  # never witnessed: no later entry of B's log is either
    w.propose(C, amend, at_s + 1)  # witnessed after at_s
    yield w.case(
        "not-in-the-state",
        "At one second before a passed amendment takes effect: it is tallied (passed) but "
        "not applied; a proposal by an outsider, one never witnessed and one witnessed after "
        "at_s have no tally.",
        at_s,
        _state(MEMBERS, [], [], {due: tally}),
    )


def _vouch_cases() -> Iterator[Case]:
    at_s = DEADLINE_S + DELAY_S
    w = World()
    w.vouch(B, OUTSIDER, OPENED_S - 50)
    w.vouch(C, OUTSIDER, OPENED_S - 50)
    w.vouch(C, OUTSIDER, OPENED_S - 40, on=False)
    w.vouch(E, OUTSIDER, OPENED_S - 50)
    w.vouch(OUTSIDER, OUTSIDER, OPENED_S - 50)
    admit = w.propose(A, {"action": "member.admit", "title": "Admit X", "member": OUTSIDER},
                      OPENED_S)  # fmt: skip
    tally = _passing(w, admit, OPENED_S, at_s)
    w.vouch(D, OUTSIDER, DEADLINE_S)
    yield w.case(
        "admit-with-vouches",
        "B and E vouch for X; C vouched then unvouched (higher seq); D's vouch is witnessed at "
        "the deadline (too late) and X's own does not count: two referees, X is admitted.",
        at_s,
        _state([*MEMBERS, OUTSIDER], [(admit, at_s)], [], {admit: tally}),
    )
    w = World()
    w.vouch(B, OUTSIDER, OPENED_S - 50)
    fork = w.entry(C, OPENED_S - 50, MEMBERS)
    w.vouch(C, OUTSIDER, OPENED_S - 50, seq=fork)
    w.vouch(C, OUTSIDER, OPENED_S - 50, on=False, seq=fork)
    admit = w.propose(A, {"action": "member.admit", "title": "Admit X", "member": OUTSIDER},
                      OPENED_S)  # fmt: skip
    tally = _passing(w, admit, OPENED_S, at_s)
    yield w.case(
        "forked-unvouch",
        "C's forked log holds a vouch and an unvouch of X at the same seq: the unvouch wins, "
        "so only B stands and the admission is void.",
        at_s,
        _state(MEMBERS, [], [(admit, "too-few-vouches")], {admit: tally}),
    )


def cases() -> Iterator[Case]:
    yield from charter_cases()
    yield from charter_exchange_cases()
    yield from tally_cases()
    yield from evolve_cases()
    yield from more_evolve_cases()
