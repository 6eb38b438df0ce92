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
    yield from api_cases()


#: Request bodies schemathesis once answered with a 500 (specs/0012 §4). JSON text may
#: escape a lone surrogate, which no UTF-8 text holds; a path may hold a NUL, which names
#: no file. Each is now a 422 decode.bad-request, refused by the route's model.
_API = (
    ("note-lone-surrogate", "/api/v1/notes", b'{"text": "\\ud822"}'),
    ("note-many-lone-surrogates", "/api/v1/notes", b'{"text": "' + b"\\ud822" * 5000 + b'"}'),
    ("design-path-lone-surrogate", "/api/v1/designs", b'{"path": "\\ud822"}'),
    ("design-path-nul", "/api/v1/designs", b'{"path": "a\\u0000b"}'),
    ("okh-path-nul-only", "/api/v1/designs/import-okh", b'{"paths": ["\\u0000"]}'),
    ("okh-path-nul", "/api/v1/designs/import-okh", b'{"paths": ["x\\u0000"]}'),
    ("okw-path-nul", "/api/v1/capabilities/import-okw", b'{"path": "x\\u0000"}'),
    ("note-not-json", "/api/v1/notes", b'{"text": '),
)


def api_cases() -> Iterator[Case]:
    for name, path, body in _API:
        yield Case(
            AREA,
            "api",
            name,
            f"POST {path} with this body once got a 500 from the local API (specs/0012 "
            "§4): the request does not match the route's model, so it is refused with "
            "422 decode.bad-request before any node work.",
            {"method": "POST", "path": path, "body_hex": body.hex()},
            error("decode.bad-request", status=422),
        )
