"""What every vector checker shares: error families, JSON equality, expected errors.

Errors are checked by family (the class named by the code's prefix) and code, never by
message; the vector file format is in specs/vectors/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from protocol.errors import FAMILIES, CommonsError

Checker = Callable[[dict[str, Any], dict[str, Any]], None]


def same(got: Any, want: Any) -> bool:
    """JSON equality that tells true from 1 (Python's == does not)."""
    return json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)


def family_of(code: str) -> type[CommonsError]:
    return FAMILIES[code.split(".", maxsplit=1)[0]]


def expect_error(expect: dict[str, Any], call: Callable[[], object]) -> CommonsError:
    """Check that `call` raises the expected error (its family and code, and its `field`
    when the case gives one); return the error for further checks of its details."""
    code: str = expect["error"]
    with pytest.raises(family_of(code)) as info:
        call()
    assert info.value.code == code
    if "field" in expect:
        assert info.value.details.get("field") == expect["field"]
    return info.value


def failure(error: CommonsError, **fields: Any) -> dict[str, Any]:
    """An error as the vectors' expect form, after checking its class is its family's."""
    assert isinstance(error, family_of(error.code)), (type(error), error.code)
    return {"ok": False, "error": error.code, **fields}
