"""Checkers of the fuzz-regressions vectors: the decoder raises the expected typed error,
and the fuzz target that once crashed on the input now passes (specs/0012 §3)."""

from __future__ import annotations

from typing import Any

from ledger.store import decode_head
from licenses.spdx import parse_expression
from tests.fuzz.targets import TARGETS
from tests.vector_support import Checker, expect_error

AREA = "fuzz-regressions"


def check_head(data: dict[str, Any], expect: dict[str, Any]) -> None:
    raw = bytes.fromhex(data["data_hex"])
    expect_error(expect, lambda: decode_head(raw))
    TARGETS["head"].run(raw)


def check_spdx(data: dict[str, Any], expect: dict[str, Any]) -> None:
    raw = bytes.fromhex(data["data_hex"])
    expect_error(expect, lambda: parse_expression(raw.decode()))
    TARGETS["spdx"].run(raw)


FUZZ_CHECKERS: dict[tuple[str, str], Checker] = {
    (AREA, "head"): check_head,
    (AREA, "spdx"): check_spdx,
}
