"""Text field types shared by entry kinds that must not depend on protocol.design.

protocol.kinds imports every module that registers a kind at its end, so a kind module
that imports another kind module can meet it half loaded; the one-line text types the
capability and job kinds share with designs live here, in a leaf that imports nothing
of the protocol. Same rules as specs/0010-designs.md §2: no control characters, no
leading or trailing white space. Pure.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from pydantic import AfterValidator, Field

MAX_NAME_CHARS: Final = 200
MAX_MATERIAL_CHARS: Final = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(value: str) -> str:
    """A one-line text: no control characters, trimmed."""
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    if value != value.strip():
        raise ValueError("no leading or trailing white space")
    return value


def sorted_unique(value: list[Any]) -> list[Any]:
    if value != sorted(set(value)):
        raise ValueError("must be sorted and without repeats")
    return value


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(one_line)]
Material = Annotated[
    str, Field(min_length=1, max_length=MAX_MATERIAL_CHARS), AfterValidator(one_line)
]
