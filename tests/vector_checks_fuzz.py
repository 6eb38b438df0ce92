"""Checkers of the fuzz-regressions vectors: the decoder raises the expected typed error,
and the fuzz target that once crashed on the input now passes (specs/0012 §3)."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from ledger.store import decode_head
from licenses.spdx import parse_expression
from node.api import app as api
from node.api import capabilities as capability_api
from tests.fuzz import targets
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


#: The request-body model of each route the api regressions name.
API_MODELS: dict[str, type[pydantic.BaseModel]] = {
    "/api/v1/notes": api.NoteIn,
    "/api/v1/designs": api.DesignIn,
    "/api/v1/designs/import-okh": api.ImportOkhIn,
    "/api/v1/capabilities/import-okw": capability_api.PathIn,
}


def check_api(data: dict[str, Any], expect: dict[str, Any]) -> None:
    """Offline half: the route's model refuses the body (which the API answers with 422
    decode.bad-request); tests/integration/test_api_fuzz.py sends each to a running node."""
    assert data["method"] == "POST" and expect == {
        "ok": False, "error": "decode.bad-request", "status": 422
    }  # fmt: skip
    body = bytes.fromhex(data["body_hex"])
    model = API_MODELS[data["path"]]
    with pytest.raises(pydantic.ValidationError):
        model.model_validate_json(body)
    TARGETS["api-body"].run(bytes([targets.API_MODELS.index(model)]) + body)


FUZZ_CHECKERS: dict[tuple[str, str], Checker] = {
    (AREA, "head"): check_head,
    (AREA, "spdx"): check_spdx,
    (AREA, "api"): check_api,
}
