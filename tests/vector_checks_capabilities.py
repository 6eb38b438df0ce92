"""Checkers of the capabilities area of the conformance vectors (specs/vectors/capabilities/).

capabilities/advert  input.kind, input.body (tagged) -> protocol.kinds.check_body;
                     expect.body_status {valid, code}.
capabilities/match   input.adverts [{lab_hex, seq, entry_id_hex, body (tagged)}],
                     input.request {parts, processes, material, tolerance, near,
                     radius_m, quantity} -> ledger.matching.match; expect.candidates
                     [{lab_hex, machine_index, distance_m, quote}] in rank order and
                     expect.excluded [{lab_hex, reasons, distance_m}] in lab order.
capabilities/quote   input.machine (tagged), currency, parts [{volume_mm3}], quantity,
                     material, outcome -> ledger.quotes.machine_quote with the outcome
                     keyed by ledger.quotes.slice_settings; expect.quote.
capabilities/advert-toml  input.toml (or toml_hex when not UTF-8) ->
                     protocol.capability.advert_from_toml; expect.advert (tagged).
capabilities/okw     input.okw_hex -> protocol.okw.advert_from_okw; expect.advert (tagged).
capabilities/sealed  input.sealed_hex, suite, private_key_hex -> protocol.sealed.open_sealed;
                     expect.plaintext_hex (or plaintext_sha256_hex for long files).
"""

from __future__ import annotations

import hashlib
from typing import Any

from ledger.matching import LabAdvert, Part, Request, match
from ledger.quotes import (
    NotSliced,
    PartFigures,
    Sliced,
    SliceOutcome,
    machine_quote,
    slice_settings,
)
from protocol.capability import AdvertBody, Location, Machine, advert_body_map, advert_from_toml
from protocol.jsonform import from_json
from protocol.jsonform import to_json as tagged
from protocol.kinds import check_body
from protocol.okw import advert_from_okw
from protocol.sealed import SealPrivateKey, open_sealed
from tests.vector_support import Checker, expect_error, same


def check_advert(data: dict[str, Any], expect: dict[str, Any]) -> None:
    status = check_body(data["kind"], from_json(data["body"]))
    assert same({"ok": True, "body_status": {"valid": status.valid, "code": status.code}}, expect)


def _request(r: dict[str, Any]) -> Request:
    return Request(
        parts=tuple(Part(tuple(p["size_um"]), p["volume_mm3"]) for p in r["parts"]),
        processes=frozenset(r["processes"]),
        material=r["material"],
        tolerance=r["tolerance"],
        near=None if r["near"] is None else Location.model_validate(r["near"], strict=True),
        radius_m=r["radius_m"],
        quantity=r["quantity"],
    )


def check_match(data: dict[str, Any], expect: dict[str, Any]) -> None:
    adverts = [
        LabAdvert(
            bytes.fromhex(a["lab_hex"]),
            a["seq"],
            bytes.fromhex(a["entry_id_hex"]),
            AdvertBody.model_validate(from_json(a["body"]), strict=True),
        )
        for a in data["adverts"]
    ]
    frozen = frozenset(bytes.fromhex(h) for h in data["frozen_hex"])
    result = match(_request(data["request"]), adverts, frozen)
    got = {
        "ok": True,
        "candidates": [
            {
                "lab_hex": c.advert.lab.hex(),
                "machine_index": c.machine_index,
                "distance_m": c.distance_m,
                "quote": c.quote.to_json(),
            }
            for c in result.candidates
        ],
        "excluded": [
            {"lab_hex": e.advert.lab.hex(), "reasons": list(e.reasons), "distance_m": e.distance_m}
            for e in result.excluded
        ],
    }
    assert same(got, expect)


def _outcome(data: dict[str, Any] | None) -> SliceOutcome | None:
    if data is None:
        return None
    if "not_sliced" in data:
        return NotSliced(data["not_sliced"]["reason"], data["not_sliced"]["detail"])
    parts = tuple(
        PartFigures(p["print_seconds"], p["filament_mg"]) for p in data["sliced"]["parts"]
    )
    return Sliced(data["sliced"]["slicer"], parts)


def check_quote(data: dict[str, Any], expect: dict[str, Any]) -> None:
    machine = Machine.model_validate(from_json(data["machine"]), strict=True)
    parts = [Part((1, 1, 1), p["volume_mm3"]) for p in data["parts"]]
    settings = slice_settings(machine, data["material"])
    outcome = _outcome(data["outcome"])
    slices = {} if settings is None or outcome is None else {settings: outcome}
    got = machine_quote(
        machine, data["currency"], parts, data["quantity"], data["material"], slices
    )
    assert same({"ok": True, "quote": got.to_json()}, expect)


def check_sealed(data: dict[str, Any], expect: dict[str, Any]) -> None:
    sealed = bytes.fromhex(data["sealed_hex"])
    key = SealPrivateKey(data["suite"], bytes.fromhex(data["private_key_hex"]))
    if not expect["ok"]:
        expect_error(expect, lambda: open_sealed(sealed, key))
        return
    plaintext = open_sealed(sealed, key)
    if "plaintext_hex" in expect:
        assert plaintext.hex() == expect["plaintext_hex"]
    else:
        assert hashlib.sha256(plaintext).hexdigest() == expect["plaintext_sha256_hex"]


def check_okw(data: dict[str, Any], expect: dict[str, Any]) -> None:
    document = bytes.fromhex(data["okw_hex"])
    if not expect["ok"]:
        expect_error(expect, lambda: advert_from_okw(document))
        return
    body = advert_body_map(advert_from_okw(document))
    assert same({"ok": True, "advert": tagged(body)}, expect)


def check_advert_toml(data: dict[str, Any], expect: dict[str, Any]) -> None:
    text = data["toml"]
    file = bytes.fromhex(data["toml_hex"]) if text is None else text.encode()
    if not expect["ok"]:
        error = expect_error(expect, lambda: advert_from_toml(file))
        assert "field" in expect or "field" not in error.details
        return
    body = advert_body_map(advert_from_toml(file))
    assert same({"ok": True, "advert": tagged(body)}, expect)


CAPABILITY_CHECKERS: dict[tuple[str, str], Checker] = {
    ("capabilities", "advert-toml"): check_advert_toml,
    ("capabilities", "okw"): check_okw,
    ("capabilities", "advert"): check_advert,
    ("capabilities", "match"): check_match,
    ("capabilities", "quote"): check_quote,
    ("capabilities", "sealed"): check_sealed,
}
