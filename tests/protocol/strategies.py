"""Hypothesis strategies for valid protocol values, near their caps (tests/protocol).

`texts(n)` reaches both ends of a text field: short arbitrary text, and one character
repeated up to `n` times, so the UTF-8 length of a maximal field (up to 4 bytes per
character) is tried as well as its character count. `bodies()` gives a (kind, body)
for every registered entry kind, its text fields drawn by `texts`; the body may be
invalid for its kind (tests `assume` validity). `refused` asserts that an encoder
raises LocalMisuseError with a given code. Nothing here reads a clock or a random
source of its own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import strategies as st

from protocol import governance, jobs, kinds
from protocol.capability import ADVERT
from protocol.design import DESIGN
from protocol.design import WITHDRAW as DESIGN_WITHDRAW
from protocol.errors import LocalMisuseError
from protocol.governance import Charter

#: One character of each UTF-8 length, and some that text formats escape.
WIDE = st.sampled_from(["a", "é", "€", "😀", '"', "\\", "\t", "\n", "\x01", "\ufeff"])
ID = st.binary(min_size=32, max_size=32)
ID_A, ID_B, ID_C = b"\xaa" * 32, b"\xbb" * 32, b"\xcc" * 32


#: The same without control characters: what one-line text fields accept.
PRINTABLE = st.sampled_from(["a", "é", "€", "😀", '"', "\\", "\ufeff"])
#: One character of each UTF-8 length.
WIDTHS = ("a", "é", "€", "😀")


def texts(max_chars: int, chars: st.SearchStrategy[str] = WIDE) -> st.SearchStrategy[str]:
    """Short arbitrary text, or one character repeated up to `max_chars` times (often
    exactly, or about a quarter of it: where 4-byte characters cross a byte cap)."""
    edges = st.sampled_from([max_chars, max_chars // 4, max_chars // 4 + 1])
    repeated = st.builds(lambda ch, n: ch * n, chars, edges | st.integers(0, max_chars))
    if chars is WIDE:
        return st.text(max_size=24) | repeated
    plain = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=24)
    return plain.map(str.strip) | repeated


def _money(amount: int = 1500) -> dict[str, Any]:
    return {"amount_minor": amount, "currency": "EUR"}


MACHINE: dict[str, Any] = {
    "process": "3dp-fdm",
    "make": "Prusa",
    "model": "MK4",
    "build_volume_um": [250_000, 210_000, 220_000],
    "materials": ["PLA"],
    "tolerance": "m",
    "throughput_mm3_per_hour": 15_000,
    "price": {"setup_fee_minor": 500, "per_cm3_minor": 12, "per_hour_minor": 400},
}
ADVERT_BODY: dict[str, Any] = {
    "name": "Fab Lab",
    "website": "https://fablab.example",
    "location": {"lat_microdeg": 41_396_900, "lon_microdeg": 2_194_200},
    "currency": "EUR",
    "lead_time_days": 5,
    "availability": "open",
    "machines": [MACHINE],
    "seal_key": {"suite": "x25519-hkdf-sha256-chacha20poly1305", "public_key": ID_A},
}
DESIGN_BODY: dict[str, Any] = {
    "name": "Cube",
    "summary": "A 20 mm cube.",
    "version": "1.0",
    "supersedes": None,
    "licence": "CERN-OHL-S-2.0",
    "licence_as_stated": None,
    "licensors": ["Ada"],
    "organisation": None,
    "language": "en",
    "files": [],
    "links": [{"rel": "repo", "url": "https://example.org/cube"}],
    "derived_from": [],
    "tags": ["cube"],
    "processes": ["3d-printing"],
    "materials": ["PLA"],
    "outer_dimensions_um": [20_000, 20_000, 20_000],
    "oshwa_uid": None,
}
OFFER_BODY: dict[str, Any] = {
    "title": "Bracket",
    "design": ID_A,
    "sealed": False,
    "part": {"size_um": [40_000, 20_000, 10_000], "volume_mm3": 4_000},
    "quantity": 10,
    "process": "3dp-fdm",
    "material": "PLA",
    "tolerance": None,
    "deadline_ms": 1_700_000_000_000,
    "location": {"lat_microdeg": 52_520_000, "lon_microdeg": 13_405_000},
    "radius_km": 50,
    "budget": _money(),
    "ttl_s": 86_400,
    "note": "",
}
_STEP = {"job": ID_A, "after": ID_B}
_BID = {"job": ID_A, "price": _money(), "ready_ms": 1_700_000_000_000, "note": ""}
_TITLE = {"title": "A proposal"}

#: A valid body of every kind, and the paths of its text fields with their caps.
SAMPLES: dict[str, tuple[dict[str, Any], list[tuple[tuple[Any, ...], int]]]] = {
    kinds.INCEPTION: ({"signing_key": ID_A, "recovery_key": ID_B}, []),
    kinds.ROTATION: ({"prev_key_event": ID_A, "next_key": ID_B}, []),
    kinds.REVOCATION: ({"prev_key_event": ID_A, "revoke_from_seq": 3, "next_key": ID_B}, []),
    kinds.NOTE: ({"text": "hello"}, [(("text",), 4096)]),
    ADVERT: (
        ADVERT_BODY,
        [(("name",), 200), (("machines", 0, "make"), 200), (("machines", 0, "materials", 0), 64)],
    ),
    DESIGN: (DESIGN_BODY, [(("name",), 200), (("summary",), 8192), (("licensors", 0), 200)]),
    governance.PROPOSAL: (
        {"proposal": {"action": "charter.amend", **_TITLE, "text": "Amended."}},
        [(("proposal", "title"), 256), (("proposal", "text"), 16_384)],
    ),
    DESIGN_WITHDRAW: ({"design": ID_A, "reason": "unsafe"}, [(("reason",), 1024)]),
    governance.VOTE: ({"proposal": ID_A, "choice": "yes"}, []),
    governance.VOUCH: ({"candidate": ID_A}, []),
    governance.UNVOUCH: ({"candidate": ID_A}, []),
    governance.APPLY: ({"name": "New lab", "text": "Hi"}, [(("name",), 128), (("text",), 4096)]),
    jobs.OFFER: (OFFER_BODY, [(("title",), 200), (("note",), 2000), (("material",), 64)]),
    jobs.BID: (_BID, [(("note",), 2000)]),
    jobs.COUNTER: ({**_BID, "bid": ID_B}, [(("note",), 2000)]),
    jobs.WITHDRAW: ({"job": ID_A, "bid": ID_B}, []),
    jobs.FILES: ({"job": ID_A, "blobs": [ID_B, ID_C]}, []),
    jobs.MESSAGE: (
        {
            "job": ID_A,
            "to": ID_B,
            "sealed": ID_C,
            "attachments": [ID_B],
            "seal_key": {"suite": "x25519-hkdf-sha256-chacha20poly1305", "public_key": ID_A},
        },
        [],
    ),
    jobs.AWARD: ({**_STEP, "bid": ID_C}, []),
    jobs.CANCEL: ({**_STEP, "reason": "no"}, [(("reason",), 2000)]),
    jobs.START: (_STEP, []),
    jobs.SHIP: ({**_STEP, "tracking": "T1"}, [(("tracking",), 200)]),
    jobs.DELIVER: (_STEP, []),
    jobs.CONFIRM: (_STEP, []),
    jobs.DISPUTE: ({**_STEP, "reason": "warped", "evidence": [ID_C]}, [(("reason",), 2000)]),
    jobs.REFUND: ({**_STEP, "note": ""}, [(("note",), 2000)]),
    jobs.REVIEW: ({**_STEP, "score": 5, "text": "Good"}, [(("text",), 2000)]),
}


def put(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


@st.composite
def bodies(draw: st.DrawFn, kind: str | None = None) -> tuple[str, dict[str, Any]]:
    """A (kind, body) of the registered kinds, its text fields drawn near their caps."""
    name = kind or draw(st.sampled_from(sorted(SAMPLES)))
    sample, fields = SAMPLES[name]
    body = copy.deepcopy(sample)
    for path, cap in fields:
        if draw(st.booleans()):
            put(body, path, draw(texts(cap, PRINTABLE)))
    return name, body


@st.composite
def adverts(draw: st.DrawFn) -> dict[str, Any]:
    """Advert bodies from one machine to the maximum of 64, their text up to its caps
    in characters of 1 to 4 bytes (the largest far over an OKW document's 256 KiB)."""
    _, body = draw(bodies(ADVERT))
    ch = draw(st.sampled_from(["a", "é", "€", "😀"]))
    width = draw(st.sampled_from([3, 64]))
    machine = body["machines"][0]
    machine["materials"] = [
        ch * (width - 2) + f"{i:02d}" for i in range(draw(st.sampled_from([1, 32])))
    ]
    if draw(st.booleans()):
        machine["make"] = machine["model"] = ch * 200
    if draw(st.booleans()):  # slicer settings (specs/0011 §2.2): a density per material
        machine["slicer"] = {
            "layer_height_um": draw(st.integers(10, 400)), "infill_percent": 100,
            "perimeters": 50, "supports": draw(st.booleans()), "nozzle_um": 400,
            "filament_diameter_um": 1750,
            "density_mg_per_cm3": dict.fromkeys(machine["materials"], 25_000),
        }  # fmt: skip
    body["machines"] = [machine] * draw(st.sampled_from([1, 2, 64]))
    return body


RULES: dict[str, Any] = {
    "quorum_permille": 500,
    "pass_threshold_permille": 500,
    "veto_threshold_permille": 1000,
    "voting_period_s": 7 * 86_400,
    "effect_delay_s": 0,
    "admission_vouches": 1,
    "licences": ["CERN-OHL-S-2.0", "MIT"],
    "max_entry_bytes": 65_536,
    "max_str_bytes": 16_384,
    "max_blob_bytes": 1 << 30,
    "job_offer_ttl_s": 86_400,
    "witness_count": 1,
}
LICENCE = st.from_regex(r"[A-Za-z0-9.+-]{1,64}", fullmatch=True)


@st.composite
def charters(draw: st.DrawFn) -> Charter:
    """Charters from small to maximal: 1,000 members, 256 licences, 16 KiB of text."""
    big = draw(st.booleans())
    count = 1000 if big else draw(st.integers(2, 5))
    members = sorted(i.to_bytes(32, "big") for i in range(count))
    licences = [f"L-{i:060d}" for i in range(256)] if big else draw(st.lists(LICENCE, max_size=4))
    text = draw(texts(governance.MAX_CHARTER_TEXT_BYTES))
    value = {
        "version": 1,
        "name": draw(texts(128).filter(bool)),
        "members": members,
        "rules": {**RULES, "licences": sorted(set(licences))},
        "text": text.encode()[: governance.MAX_CHARTER_TEXT_BYTES].decode(errors="ignore"),
        "test": draw(st.booleans()),
    }
    return Charter.model_validate(value, strict=True)


def refused(code: str, encoder: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """The encoder raises LocalMisuseError with `code` (and so produces nothing)."""
    with pytest.raises(LocalMisuseError) as info:
        encoder(*args, **kwargs)
    assert info.value.code == code
