"""Text grammars match whole values: no regular expression lets a final newline through.

specs/0001 §8: a grammar given as a regular expression must match all of the value.
Python's `re.match` / `re.search` let `$` match before a final newline, so `"note\\n"`
passed `^[a-z]...$`. Two checks keep that from coming back:

- No pattern handed to Python's `re` in protocol/, ledger/, licenses/ or node/ uses `$`
  as an anchor: whole values are matched with `fullmatch` (or `\\Z`).
- Every `pattern=` constraint of a pydantic model (which pydantic runs with the Rust
  `regex` engine, where `$` is the end of the text) refuses a valid value followed by
  a newline; each pattern has a valid example here, so a new one needs one.
"""

from __future__ import annotations

import ast
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pydantic
import pytest

import protocol.kinds
import protocol.processes
from ledger import checkpoint
from protocol import entry
from tests.paths import ROOT

PURE = ("protocol", "ledger", "licenses")
RE_FUNCTIONS = {"compile", "match", "search", "fullmatch", "sub", "subn", "split", "findall"}
#: Patterns ending in `$` allowed with re.match: none (the last five were fixed with
#: issue 17: sync kinds and error codes, media types, upload names and ids).
KNOWN: dict[tuple[str, str], str] = {}
#: One valid value per pydantic pattern of the protocol's records.
PATTERN_EXAMPLES: dict[str, str] = {
    r"^[A-Z]{3}$": "EUR",
    r"^[A-Za-z0-9.+-]+$": "CERN-OHL-S-2.0",
    r"^[A-Z]{2}[0-9]{6}$": "CH000001",
    r"^[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|[0-9]{3}))?"
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*$": "en-GB",
    r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$": "model/stl",
    r"^[a-z][a-z0-9+.-]*://[^\s\x00-\x1f\x7f]+$": "https://fablabbcn.org",
    r"^[a-z0-9][a-z0-9-]{0,47}$": "3dp-fdm",
    r"^[A-Za-z0-9.+:()-]+(?: [A-Za-z0-9.+:()-]+)*$": "MIT OR Apache-2.0",
}


def end_anchors(pattern: str) -> list[int]:
    """Offsets of each `$` that is an anchor: not escaped, not inside a character class."""
    found, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            i += 1
            if pattern[i : i + 1] == "^":
                i += 1
            if pattern[i : i + 1] == "]":  # a leading ] is a member, not the end
                i += 1
            continue
        elif c == "$":
            found.append(i)
        i += 1
    return found


def _text_of(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, holes as "x"
        return "".join(
            v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "x"
            for v in node.values
        )
    return None


def re_patterns(path: Path) -> Iterator[str]:
    """The first argument of every call re.<function>(...) in the file, as text."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.func.attr in RE_FUNCTIONS
            and node.args
        ):
            text = _text_of(node.args[0], constants)
            if text is not None:
                yield text


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_the_anchor_finder_reads_character_classes() -> None:
    assert end_anchors(r"^a$") == [2]
    assert end_anchors(r"[$]a\$") == []
    assert end_anchors(r"[]$]$") == [4]
    assert end_anchors(r"[^]$]x") == []
    assert end_anchors(r"a|b$|c") == [3]


@pytest.mark.parametrize("package", [*PURE, "node"])
def test_no_re_pattern_anchors_with_dollar(package: str) -> None:
    found = {
        (path.relative_to(ROOT).as_posix(), pattern)
        for path in _files(package)
        for pattern in re_patterns(path)
        if end_anchors(pattern)
    }
    assert found <= set(KNOWN), "use fullmatch or \\Z (specs/0001 §8)"


def _patterns_in(annotation: Any) -> Iterator[str]:
    if typing.get_origin(annotation) is Annotated:
        base, *metadata = typing.get_args(annotation)
        for item in metadata:
            yield from _metadata_patterns([item, *getattr(item, "metadata", [])])
        yield from _patterns_in(base)
        return
    for arg in typing.get_args(annotation):
        yield from _patterns_in(arg)


def _metadata_patterns(items: list[Any]) -> Iterator[str]:
    for item in items:
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str):
            yield pattern


def _models() -> list[type[pydantic.BaseModel]]:
    assert protocol.kinds.known_kinds() and protocol.processes  # every record module loaded
    out, todo = [], list(pydantic.BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if model.__module__.split(".")[0] in PURE:
            out.append(model)
    return out


def pydantic_patterns() -> dict[str, list[str]]:
    """Every pattern constraint of the pure packages' models -> the fields that carry it."""
    found: dict[str, list[str]] = {}
    for model in _models():
        for name, field in model.model_fields.items():
            patterns = [*_metadata_patterns(field.metadata), *_patterns_in(field.annotation)]
            for pattern in patterns:
                found.setdefault(pattern, []).append(f"{model.__name__}.{name}")
    return found


def test_every_pydantic_pattern_has_an_example() -> None:
    patterns = pydantic_patterns()
    assert len(patterns) >= 5
    assert set(patterns) <= set(PATTERN_EXAMPLES), sorted(set(patterns) - set(PATTERN_EXAMPLES))


def test_models_keep_pydantics_rust_regex_engine() -> None:
    for model in _models():
        assert model.model_config.get("regex_engine", "rust-regex") == "rust-regex", model


@pytest.mark.parametrize("pattern", sorted(PATTERN_EXAMPLES))
def test_a_pattern_refuses_its_example_followed_by_a_newline(pattern: str) -> None:
    adapter = pydantic.TypeAdapter(Annotated[str, pydantic.Field(pattern=pattern)])
    example = PATTERN_EXAMPLES[pattern]
    assert adapter.validate_python(example, strict=True) == example
    for bad in (example + "\n", example + "\r\n", "\n" + example):
        with pytest.raises(pydantic.ValidationError):
            adapter.validate_python(bad, strict=True)
    assert re.fullmatch(pattern.removeprefix("^").removesuffix("$"), example)


def test_the_scan_sees_module_constants_and_inline_patterns() -> None:
    assert entry.KIND_PATTERN.pattern in set(re_patterns(ROOT / "protocol/entry.py"))
    assert checkpoint._DECIMAL.pattern in set(re_patterns(ROOT / "ledger/checkpoint.py"))
    inline = set(re_patterns(ROOT / "licenses/okh_licence.py"))
    assert r"\b(?:a|l)?gpl\b" in inline
