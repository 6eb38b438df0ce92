"""Field types the API's request models share (specs/0012 §2).

`LocalPath` is a path on this machine as a request names it: 1 to 4,096 characters,
and none that no file name can hold. JSON text may carry a NUL (`\\u0000`), which
`open()` refuses with ValueError, or a lone surrogate (`\\ud800`), which no file
system encoding takes; both are refused here, as a 422 of the request, before a
route touches the file system.
"""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import AfterValidator, Field


def _names_a_file(text: str) -> str:
    if "\x00" in text:
        raise ValueError("a path holds no NUL character")
    try:
        os.fsencode(text)
    except UnicodeEncodeError as e:
        raise ValueError("a path is text the file system can encode") from e
    return text


LocalPath = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(_names_a_file)]
