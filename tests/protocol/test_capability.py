"""The capability.advert kind (specs/0011-capabilities.md §1-3)."""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest

from protocol.capability import (
    ADVERT,
    PROCESSES,
    AdvertBody,
    processes_for_token,
    tolerance_holds,
)
from protocol.kinds import check_body


def advert_map(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Fab Lab Barcelona",
        "website": "https://fablabbcn.org",
        "location": {"lat_microdeg": 41_396_900, "lon_microdeg": 2_194_200},
        "currency": "EUR",
        "lead_time_days": 5,
        "availability": "open",
        "machines": [
            {
                "process": "3dp-fdm",
                "make": "Prusa",
                "model": "MK4",
                "build_volume_um": [250_000, 210_000, 220_000],
                "materials": ["PETG", "PLA"],
                "tolerance": "m",
                "throughput_mm3_per_hour": 15_000,
                "price": {"setup_fee_minor": 500, "per_cm3_minor": 12, "per_hour_minor": 400},
            }
        ],
        "seal_key": {"suite": "x25519-hkdf-sha256-chacha20poly1305", "public_key": b"\x01" * 32},
    }
    body.update(overrides)
    return body


def test_a_full_advert_is_valid() -> None:
    status = check_body(ADVERT, advert_map())
    assert status.valid
    assert isinstance(status.model, AdvertBody)


def _machine(**changes: Any) -> dict[str, Any]:
    machine: dict[str, Any] = copy.deepcopy(advert_map()["machines"][0])
    machine.update(changes)
    return machine


@pytest.mark.parametrize(
    "overrides",
    [
        {"currency": "eur"},
        {"lead_time_days": -1},
        {"availability": "maybe"},
        {"machines": []},
        {"location": {"lat_microdeg": 90_000_001, "lon_microdeg": 0}},
        {"location": {"lat_microdeg": 1.5, "lon_microdeg": 0}},
        {"seal_key": {"suite": "x25519-hkdf-sha256-chacha20poly1305", "public_key": b"1" * 33}},
        {"machines": [_machine(process="3d-printing")]},
        {"machines": [_machine(materials=["PLA", "PETG"])]},
        {"machines": [_machine(materials=[])]},
        {"machines": [_machine(tolerance="fine")]},
        {"machines": [_machine(build_volume_um=[0, 1, 1])]},
        {"machines": [_machine(price={"setup_fee_minor": -1, "per_cm3_minor": 0})]},
        {"website": "not a url"},
        {"extra": 1},
    ],
)
def test_bad_adverts_are_invalid(overrides: dict[str, Any]) -> None:
    status = check_body(ADVERT, advert_map(**overrides))
    assert not status.valid
    assert status.code == "body.invalid"


def test_design_tokens_map_onto_the_vocabulary() -> None:
    assert processes_for_token("fdm") == {"3dp-fdm"}
    assert processes_for_token("3d-printing") >= {"3dp-fdm", "3dp-sla", "3dp-sls"}
    assert processes_for_token("pcb-fabrication") == {"circuit-production"}
    assert processes_for_token("cnc-machining") >= {"cnc-milling", "precision-milling"}
    assert processes_for_token("knitting") == frozenset()
    assert all(processes_for_token(p) == {p} for p in PROCESSES)


def test_tolerance_classes_are_ordered_finest_first() -> None:
    assert tolerance_holds("f", "m")
    assert tolerance_holds("m", "m")
    assert not tolerance_holds("c", "m")
    assert tolerance_holds("v", "v")


@pytest.mark.parametrize(
    "module",
    [
        "protocol.design",
        "protocol.capability",
        "protocol.processes",
        "protocol.sealed",
        "protocol.okw",
        "ledger.matching",
    ],
)
def test_each_module_imports_first(module: str) -> None:
    """protocol.kinds imports the kind modules at its end: whichever module a program
    imports first, the registry must load without meeting a half-loaded module."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import {module}; import protocol.kinds as k; print(k.known_kinds())",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "capability.advert" in done.stdout
