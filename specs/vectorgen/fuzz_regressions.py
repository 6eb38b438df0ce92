"""fuzz-regressions/<target>: inputs on which a fuzz target once crashed (specs/0012 §3).

Each case is the exact input the fuzzer found (tests/fuzz/targets.py names the targets),
kept byte for byte, with the typed error the spec says the decoder must raise on it. The
inputs are literal: a fuzzer's find is data, not something to rebuild from a model.
"""

from __future__ import annotations

from collections.abc import Iterator

from specs.vectorgen.common import Case, error

AREA = "fuzz-regressions"


def cases() -> Iterator[Case]:
    def case(suite: str, name: str, description: str, data: bytes, code: str) -> Case:
        return Case(AREA, suite, name, description, {"data_hex": data.hex()}, error(code))

    yield case(
        "head",
        "key-state-is-a-map",
        "Stored log state whose key-state field is a map, not a list of four "
        "(specs/0003 §5): damaged state, not a KeyError.",
        bytes.fromhex("9735802d3500802f"),
        "decode.bad-state",
    )
    yield case(
        "spdx",
        "operator-without-left-operand",
        "An SPDX expression with OR directly after a parenthesis (specs/0006 §2.4): "
        "the parser library asserts; the expression is a bad licence.",
        b"MIT OR (OR BSD-2-Clause)",
        "decode.bad-licence",
    )
