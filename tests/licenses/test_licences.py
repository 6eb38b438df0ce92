"""SPDX expressions, licence families, derivative rules, the allow-list and
`fabnode licence` (specs/0006-licences.md). Errors are checked by type and code."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licenses.allowlist import decode_allow_list, default_allow_list, is_allowed
from licenses.derive import COMPATIBLE_CHILDREN, derive
from licenses.families import TABLE, Family, assess
from licenses.spdx import (
    MAX_EXPRESSION_CHARS,
    AllOf,
    AnyOf,
    Licence,
    known_exceptions,
    licence_ids,
    normalise,
    parse_expression,
)
from node.cli import licences as licence_cli
from protocol.errors import CommonsError, DecodeError, RuleViolationError


def family(text: str) -> str:
    return assess(parse_expression(text)).family.value


# --- parsing and the normal form -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("mit", "MIT"),
        ("MIT OR Apache-2.0 AND BSD-2-Clause", "MIT OR (Apache-2.0 AND BSD-2-Clause)"),
        ("(MIT OR Apache-2.0) AND BSD-2-Clause", "(MIT OR Apache-2.0) AND BSD-2-Clause"),
        ("MIT AND Apache-2.0 OR BSD-2-Clause", "(MIT AND Apache-2.0) OR BSD-2-Clause"),
        ("mit and cc0-1.0", "MIT AND CC0-1.0"),
        ("MIT OR (Apache-2.0 OR BSD-2-Clause)", "MIT OR Apache-2.0 OR BSD-2-Clause"),
        ("((MIT))", "MIT"),
        ("MIT OR MIT", "MIT"),
        ("apache-2.0 with shl-2.1", "Apache-2.0 WITH SHL-2.1"),
        ("GPL-2.0-or-later WITH Classpath-exception-2.0 OR MIT", None),
        ("GPL-3.0", "GPL-3.0-only"),
        ("GPL-2.0+", "GPL-2.0-or-later"),
        ("Apache-1.1+", "Apache-1.1+"),
        ("CERN-OHL-2.0", "CERN-OHL-S-2.0"),
        ("cern-ohl-1.2", "CERN-OHL-1.2"),
        ("licenseref-Fab-1.0", "LicenseRef-Fab-1.0"),
        ("LicenseRef-gpl-3.0", "LicenseRef-gpl-3.0"),  # a LicenseRef is never an alias
        ("documentref-spec:licenseref-x", "DocumentRef-spec:LicenseRef-x"),
        ("MPL-2.0-no-copyleft-exception", "MPL-2.0-no-copyleft-exception"),
        ("MIT  OR\tCC0-1.0", "MIT OR CC0-1.0"),
    ],
)
def test_normal_form(text: str, want: str | None) -> None:
    got = normalise(text)
    assert got == (want or text)
    assert normalise(got) == got


def test_precedence_with_and_or() -> None:
    expr = parse_expression("MIT OR Apache-2.0 WITH SHL-2.1 AND CC0-1.0").expression
    assert expr == AnyOf(
        (Licence("MIT"), AllOf((Licence("Apache-2.0", "SHL-2.1"), Licence("CC0-1.0"))))
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SHL-2.1", "decode.bad-licence"),
        ("MIT OR shl-2.0", "decode.bad-licence"),
        ("Classpath-exception-2.0", "decode.bad-licence"),
        ("Apache-2.0 WITH MIT", "decode.bad-licence"),
        ("MIT WITH LicenseRef-x", "decode.bad-licence"),
        ("MIT WITH Nonsense-exception", "decode.bad-licence"),
        ("FOO-1.0", "decode.bad-licence"),
        ("GPL-3.0-only+", "decode.bad-licence"),
        ("LicenseRef-CC BY-SA-4.0", "decode.bad-licence"),
        ("GPL 2.0", "decode.bad-licence"),
        ("", "decode.bad-licence"),
        ("   ", "decode.bad-licence"),
        ("MIT OR", "decode.bad-licence"),
        ("AND", "decode.bad-licence"),
        ("(MIT", "decode.bad-licence"),
        ("MIT)", "decode.bad-licence"),
        ("NOT MIT", "decode.bad-licence"),
        ("MIT, Apache-2.0", "decode.bad-licence"),
        ("MIT/Apache-2.0", "decode.bad-licence"),
        ("MÏT", "decode.bad-licence"),
        ("(MIT OR CC0-1.0) WITH SHL-2.1", "decode.bad-licence"),
        ("MIT " * 300, "decode.too-large"),
    ],
)
def test_refused(text: str, code: str) -> None:
    with pytest.raises(DecodeError) as info:
        parse_expression(text)
    assert info.value.code == code


def test_bare_shl_points_to_solderpad() -> None:
    with pytest.raises(DecodeError) as info:
        parse_expression("SHL-2.1")
    assert info.value.details["symbol"] == "SHL-2.1"


def test_notes_say_what_normalising_changed() -> None:
    assert parse_expression("CERN-OHL-2.0").notes
    assert parse_expression("GPL-3.0").notes
    assert parse_expression("cern-ohl-s-2.0").notes == ()


# --- families ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("CERN-OHL-S-2.0", "strong-copyleft"),
        ("TAPR-OHL-1.0", "strong-copyleft"),
        ("GPL-2.0-only", "strong-copyleft"),
        ("GPL-3.0-or-later", "strong-copyleft"),
        ("CC-BY-SA-3.0", "strong-copyleft"),
        ("CC-BY-SA-4.0", "strong-copyleft"),
        ("CC-BY-SA-2.0-UK", "strong-copyleft"),
        ("CERN-OHL-1.1", "strong-copyleft"),
        ("CERN-OHL-1.2", "strong-copyleft"),
        ("CERN-OHL-W-2.0", "weak-copyleft"),
        ("LGPL-2.1-or-later", "weak-copyleft"),
        ("MPL-2.0", "weak-copyleft"),
        ("CERN-OHL-P-2.0", "permissive"),
        ("CC-BY-4.0", "permissive"),
        ("CC-BY-3.0-US", "permissive"),
        ("MIT", "permissive"),
        ("Apache-2.0", "permissive"),
        ("BSD-2-Clause", "permissive"),
        ("BSD-3-Clause", "permissive"),
        ("Apache-2.0 WITH SHL-2.1", "permissive"),
        ("CC0-1.0", "permissive"),
        ("Unlicense", "permissive"),
        ("CC-BY-NC-4.0", "blocked"),
        ("CC-BY-ND-4.0", "blocked"),
        ("CC-BY-NC-SA-4.0", "blocked"),
        ("CC-BY-NC-ND-3.0", "blocked"),
        ("CC-BY-NC-SA-2.0-FR", "blocked"),
        ("PolyForm-Noncommercial-1.0.0", "blocked"),
        ("BSD-3-Clause-No-Nuclear-License", "blocked"),
        ("EPL-2.0", "unknown"),
        ("LicenseRef-PANAKA-OHL-1.0", "unknown"),
        # OR: the most open choice; AND: the most restrictive part
        ("CC-BY-NC-4.0 OR CC-BY-SA-4.0", "strong-copyleft"),
        ("GPL-3.0-only OR LGPL-3.0-only OR MIT", "permissive"),
        ("GPL-3.0-only OR LGPL-3.0-only", "weak-copyleft"),
        ("CC-BY-SA-4.0 AND CC-BY-ND-4.0", "blocked"),
        ("MIT AND GPL-3.0-only", "strong-copyleft"),
        ("MIT AND LicenseRef-x", "unknown"),
        ("LicenseRef-x OR MIT", "permissive"),
        ("CC-BY-NC-4.0 OR LicenseRef-x", "unknown"),
        ("CC-BY-NC-4.0 AND MIT OR CERN-OHL-S-2.0", "strong-copyleft"),
        ("CC-BY-NC-4.0 AND (MIT OR CERN-OHL-S-2.0)", "blocked"),
        ("GPL-2.0-only WITH Classpath-exception-2.0", "strong-copyleft"),
        ("Apache-1.1+", "unknown"),
        ("BSD-2-Clause+", "permissive"),
    ],
)
def test_family(text: str, want: str) -> None:
    found = assess(parse_expression(text))
    assert found.family.value == want
    assert found.open is (want in {"strong-copyleft", "weak-copyleft", "permissive"})
    assert found.reason


def test_cern_without_variant_says_so() -> None:
    for text in ("CERN-OHL-1.2", "CERN-OHL-2.0"):
        assert "variant" in assess(parse_expression(text)).reason


def test_table_rows_are_spdx_ids() -> None:
    ids = licence_ids()
    for key in TABLE:
        base, _, exception = key.partition(" WITH ")
        assert base in ids, key
        assert not exception or exception in known_exceptions(), key


# --- derivatives ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("parents", "child", "verdict"),
    [
        (["CERN-OHL-S-2.0"], "CERN-OHL-S-2.0", "allowed"),
        (["CERN-OHL-S-2.0"], "CERN-OHL-W-2.0", "forbidden"),
        (["CERN-OHL-S-2.0"], "MIT", "forbidden"),
        (["CERN-OHL-2.0"], "CERN-OHL-S-2.0", "allowed"),
        (["CERN-OHL-1.2"], "CERN-OHL-1.2", "allowed"),
        (["CERN-OHL-1.2"], "CERN-OHL-S-2.0", "review"),
        (["TAPR-OHL-1.0"], "CERN-OHL-S-2.0", "forbidden"),
        (["CC-BY-SA-4.0"], "CC-BY-SA-4.0", "allowed"),
        (["CC-BY-SA-4.0"], "GPL-3.0-only", "allowed"),
        (["CC-BY-SA-4.0"], "GPL-3.0-or-later", "allowed"),
        (["GPL-3.0-only"], "CC-BY-SA-4.0", "forbidden"),  # one way
        (["GPL-3.0-or-later"], "CC-BY-SA-4.0", "forbidden"),
        (["CC-BY-SA-3.0"], "CC-BY-SA-4.0", "allowed"),
        (["CC-BY-SA-4.0"], "CC-BY-SA-3.0", "forbidden"),
        (["CC-BY-SA-3.0"], "GPL-3.0-only", "forbidden"),
        (["GPL-2.0-or-later"], "GPL-3.0-only", "allowed"),
        (["GPL-2.0-only"], "GPL-3.0-only", "forbidden"),
        (["LGPL-2.1-only"], "GPL-2.0-only", "allowed"),
        (["LGPL-2.1-only"], "MIT", "review"),
        (["CERN-OHL-W-2.0"], "CERN-OHL-W-2.0", "allowed"),
        (["CERN-OHL-W-2.0"], "CERN-OHL-S-2.0", "review"),
        (["MPL-2.0"], "Apache-2.0", "review"),
        (["MIT"], "CERN-OHL-S-2.0", "allowed"),
        (["CC-BY-4.0"], "GPL-3.0-only", "allowed"),
        (["Apache-2.0 WITH SHL-2.1"], "CERN-OHL-P-2.0", "allowed"),
        (["Apache-2.0"], "GPL-2.0-only", "review"),
        (["Apache-2.0"], "GPL-3.0-only", "allowed"),
        (["CC-BY-ND-4.0"], "CC-BY-ND-4.0", "forbidden"),
        (["CC-BY-NC-SA-4.0"], "CC-BY-SA-4.0", "forbidden"),
        (["MIT"], "CC-BY-NC-4.0", "forbidden"),
        (["MIT"], "LicenseRef-x", "review"),
        (["LicenseRef-x"], "MIT", "review"),
        (["EPL-2.0"], "EPL-2.0", "review"),
        # several parents, OR and AND
        (["GPL-3.0-only", "CC-BY-SA-4.0"], "GPL-3.0-only", "allowed"),
        (["CERN-OHL-S-2.0", "CC-BY-SA-4.0"], "CERN-OHL-S-2.0", "review"),
        (["CERN-OHL-S-2.0", "CC-BY-SA-4.0"], "CERN-OHL-S-2.0 AND CC-BY-SA-4.0", "review"),
        (["CERN-OHL-S-2.0", "CC-BY-SA-4.0"], "MIT", "forbidden"),
        (["CERN-OHL-S-2.0", "CC-BY-NC-4.0"], "CERN-OHL-S-2.0", "forbidden"),
        (["CERN-OHL-S-2.0 AND CC-BY-SA-4.0"], "CC-BY-SA-4.0 AND CERN-OHL-S-2.0", "allowed"),
        (["CERN-OHL-S-2.0 AND CC-BY-SA-4.0"], "CERN-OHL-S-2.0", "review"),
        (["LGPL-2.1-or-later"], "LGPL-3.0-only", "allowed"),
        (["MPL-2.0-no-copyleft-exception"], "MPL-2.0", "review"),
        (["CERN-OHL-S-2.0 AND CC-BY-SA-4.0"], "CERN-OHL-S-2.0 AND CC-BY-SA-4.0", "allowed"),
        (["MIT OR GPL-3.0-only"], "MIT", "allowed"),
        (["CC-BY-NC-4.0 OR CERN-OHL-S-2.0"], "CERN-OHL-S-2.0", "allowed"),
        (["CC-BY-SA-4.0"], "CC-BY-SA-4.0 OR MIT", "forbidden"),
        (["CC-BY-SA-4.0"], "CC-BY-SA-4.0 OR GPL-3.0-only", "allowed"),
        (["GPL-3.0-only"], "GPL-3.0-only AND MIT", "review"),
        (["MIT"], "GPL-3.0-only AND CC-BY-4.0", "allowed"),
        (["GPL-2.0-only WITH Classpath-exception-2.0"], "GPL-2.0-only", "review"),
    ],
)
def test_derive(parents: list[str], child: str, verdict: str) -> None:
    found = derive(parents, child)
    assert found.verdict == verdict, found.reason
    assert found.reason


@pytest.mark.parametrize(
    ("parents", "attribution"),
    [
        (["MIT"], ["MIT"]),
        (["CC0-1.0"], []),
        (["CC-BY-4.0", "MIT", "CC-BY-4.0"], ["CC-BY-4.0", "MIT"]),
        (["MIT OR CC0-1.0"], ["MIT"]),  # the first of the equally good options
        (["CC0-1.0 OR MIT"], []),
        (["MIT AND CC-BY-4.0"], ["MIT", "CC-BY-4.0"]),
    ],
)
def test_attribution_is_carried(parents: list[str], attribution: list[str]) -> None:
    assert derive(parents, "CERN-OHL-S-2.0").attribution == attribution


def test_derive_refuses_bad_input() -> None:
    for parents, child in [([], "MIT"), (["SHL-2.1"], "MIT"), (["MIT"], "MIT OR")]:
        with pytest.raises(DecodeError) as info:
            derive(parents, child)
        assert info.value.code == "decode.bad-licence"


def test_compatibility_table_names_open_spdx_ids() -> None:
    ids = licence_ids()
    for parent, children in COMPATIBLE_CHILDREN.items():
        assert parent in children, parent
        for child in {parent, *children}:
            assert child in ids and family(child) != "blocked", child


# --- allow-list ------------------------------------------------------------------


def test_default_allow_list_is_every_open_licence() -> None:
    allowed = default_allow_list()
    for text in ("CERN-OHL-S-2.0", "MIT", "Apache-2.0 WITH SHL-2.1", "CC-BY-SA-3.0"):
        assert text in allowed
    assert all(
        family(text) in {"strong-copyleft", "weak-copyleft", "permissive"} for text in allowed
    )
    assert "CC-BY-NC-4.0" not in allowed and "EPL-2.0" not in allowed


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("CC-BY-SA-4.0", True),
        ("CC-BY-NC-4.0", False),
        ("CC-BY-NC-4.0 OR MIT", True),
        ("CC-BY-NC-4.0 AND MIT", False),
        ("LicenseRef-x", False),
        ("GPL-2.0-only WITH Classpath-exception-2.0", True),
        ("BSD-2-Clause+", True),
    ],
)
def test_is_allowed_default(text: str, want: bool) -> None:
    assert is_allowed(text) is want


def test_custom_allow_list() -> None:
    rules = decode_allow_list(["cern-ohl-s-2.0", "LicenseRef-PANAKA-OHL-1.0"])
    assert rules == {"CERN-OHL-S-2.0", "LicenseRef-PANAKA-OHL-1.0"}
    assert is_allowed("LicenseRef-PANAKA-OHL-1.0", rules)
    assert not is_allowed("MIT", rules)
    assert is_allowed("MIT OR CERN-OHL-S-2.0", rules)
    assert not is_allowed("CC-BY-NC-4.0", frozenset({"CC-BY-NC-4.0"}))  # never, whatever a list


def test_allow_list_refuses_entries() -> None:
    with pytest.raises(RuleViolationError) as info:
        decode_allow_list(["MIT", "CC-BY-ND-4.0"])
    assert info.value.code == "rule.licence-not-open"
    with pytest.raises(DecodeError) as bad:
        decode_allow_list(["MIT OR CC0-1.0"])
    assert bad.value.code == "decode.bad-licence"


# --- properties ------------------------------------------------------------------


def _spelled(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.lower(), name.upper()])


_IDS = sorted(licence_ids())
_EXCEPTIONS = sorted(known_exceptions())
_leaf = st.one_of(
    st.sampled_from(_IDS).flatmap(_spelled),
    st.tuples(st.sampled_from(_IDS), st.sampled_from(_EXCEPTIONS)).flatmap(
        lambda pair: st.tuples(
            _spelled(pair[0]), st.sampled_from(["WITH", "with"]), _spelled(pair[1])
        ).map(" ".join)
    ),
    st.from_regex(r"LicenseRef-[A-Za-z0-9.\-]{1,12}", fullmatch=True),
)
_expressions = st.recursive(
    _leaf,
    lambda inner: st.tuples(
        st.lists(inner, min_size=2, max_size=3),
        st.sampled_from([" AND ", " OR ", " and ", " or "]),
    ).map(lambda t: "(" + t[1].join(t[0]) + ")"),
    max_leaves=8,
)


@settings(max_examples=300)
@given(_expressions)
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert parse_expression(once).expression == parse_expression(text).expression


_EXPRESSION_CHARS = "MITAPCHEGLBSDNORWmitandorwith-.+:()0123 \t"


@settings(max_examples=400)
@given(st.one_of(st.text(max_size=80), st.text(alphabet=_EXPRESSION_CHARS, max_size=40)))
def test_any_string_parses_or_raises_ours(text: str) -> None:
    try:
        got = normalise(text)
    except CommonsError as e:
        assert isinstance(e, DecodeError), e
    else:
        assert normalise(got) == got


# --- fabnode licence -------------------------------------------------------------


def test_cli_check() -> None:
    out = licence_cli.cmd_check(argparse.Namespace(expression="mit or cc-by-nc-4.0", json=True))
    assert out.pop("_text")
    assert out == {
        "expression": "MIT OR CC-BY-NC-4.0",
        "open": True,
        "family": "permissive",
        "reason": out["reason"],
    }
    closed = licence_cli.cmd_check(argparse.Namespace(expression="CC-BY-NC-SA-4.0", json=True))
    assert (closed["open"], closed["family"]) == (False, "blocked")


def test_cli_derive() -> None:
    args = argparse.Namespace(parent=["CC-BY-SA-4.0", "MIT"], child="GPL-3.0-only", json=True)
    out = licence_cli.cmd_derive(args)
    assert out.pop("_text")
    assert out["verdict"] == "allowed"
    assert out["attribution"] == ["CC-BY-SA-4.0", "MIT"]
    assert set(out) == {"verdict", "reason", "attribution"}


def test_cli_errors_are_ours() -> None:
    with pytest.raises(DecodeError):
        licence_cli.cmd_check(argparse.Namespace(expression="SHL-2.1", json=False))


def test_cli_arguments() -> None:
    parser = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    licence_cli.add_commands(parser.add_subparsers(), common)
    args = parser.parse_args(
        ["licence", "derive", "--parent", "MIT", "--parent", "CC0-1.0", "--child", "MIT", "--json"]
    )
    assert (args.parent, args.child, args.json) == (["MIT", "CC0-1.0"], "MIT", True)
    assert args.handler(args)["verdict"] == "allowed"
    args = parser.parse_args(["licence", "check", "CERN-OHL-2.0"])
    assert args.handler(args)["expression"] == "CERN-OHL-S-2.0"


def test_family_enum_matches_spec_names() -> None:
    assert [f.value for f in Family] == [
        "strong-copyleft",
        "weak-copyleft",
        "permissive",
        "blocked",
        "unknown",
    ]
    assert MAX_EXPRESSION_CHARS == 1024
