"""licences/check and licences/derive: SPDX expressions, families, derivative verdicts.

Every expectation is written here by hand from specs/0006-licences.md (the family table
§3, the expression rules §4, the derivative rules §5), never computed by the licenses
package under test. Reasons are text for people and are not part of the vectors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from specs.vectorgen.common import Case, error, ok

BAD = "decode.bad-licence"
S, W, P = "strong-copyleft", "weak-copyleft", "permissive"
BLOCKED, UNKNOWN = "blocked", "unknown"


def cases() -> Iterator[Case]:
    yield from check_cases()
    yield from derive_cases()


def check_cases() -> Iterator[Case]:
    for name, description, text, expect in _checks():
        yield Case("licences", "check", name, description, {"expression": text}, expect)


def derive_cases() -> Iterator[Case]:
    for name, description, parents, child, expect in _derivations():
        data = {"parents": parents, "child": child}
        yield Case("licences", "derive", name, description, data, expect)


def _open(expression: str, family: str) -> dict[str, Any]:
    return ok(expression=expression, open=family in (S, W, P), family=family)


def _checks() -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        ("mit-lower-case", "An id in lower case takes its SPDX spelling.", "mit", _open("MIT", P)),
        (
            "precedence-and-over-or",
            "AND binds tighter than OR; the normal form says so with parentheses.",
            "MIT OR Apache-2.0 AND BSD-2-Clause",
            _open("MIT OR (Apache-2.0 AND BSD-2-Clause)", P),
        ),
        (
            "precedence-or-picks-copyleft",
            "(NC AND MIT) OR CERN-OHL-S-2.0: the licensee may pick the open option.",
            "CC-BY-NC-4.0 AND MIT OR CERN-OHL-S-2.0",
            _open("(CC-BY-NC-4.0 AND MIT) OR CERN-OHL-S-2.0", S),
        ),
        (
            "parentheses-and-binds-nc",
            "Parentheses make the NC licence bind whichever option is picked.",
            "CC-BY-NC-4.0 AND (MIT OR CERN-OHL-S-2.0)",
            _open("CC-BY-NC-4.0 AND (MIT OR CERN-OHL-S-2.0)", BLOCKED),
        ),
        (
            "lower-case-operators",
            "Operators in lower case are written in upper case.",
            "mit and cc0-1.0",
            _open("MIT AND CC0-1.0", P),
        ),
        (
            "nested-or-flattened",
            "A nested OR group is flattened into its parent.",
            "MIT OR (Apache-2.0 OR BSD-2-Clause)",
            _open("MIT OR Apache-2.0 OR BSD-2-Clause", P),
        ),
        ("duplicate-dropped", "MIT AND MIT is MIT.", "MIT AND MIT", _open("MIT", P)),
        (
            "solderpad",
            "Apache-2.0 WITH SHL-2.1 is the Solderpad Hardware Licence: permissive.",
            "apache-2.0 with shl-2.1",
            _open("Apache-2.0 WITH SHL-2.1", P),
        ),
        (
            "gpl-with-exception",
            "An exception only adds permissions: the family is the licence's.",
            "GPL-2.0-only WITH Classpath-exception-2.0",
            _open("GPL-2.0-only WITH Classpath-exception-2.0", S),
        ),
        (
            "cern-ohl-s",
            "CERN-OHL-S-2.0 is strong copyleft.",
            "CERN-OHL-S-2.0",
            _open("CERN-OHL-S-2.0", S),
        ),
        (
            "cern-ohl-w",
            "CERN-OHL-W-2.0 is weak copyleft.",
            "CERN-OHL-W-2.0",
            _open("CERN-OHL-W-2.0", W),
        ),
        (
            "cern-ohl-p",
            "CERN-OHL-P-2.0 is permissive.",
            "CERN-OHL-P-2.0",
            _open("CERN-OHL-P-2.0", P),
        ),
        (
            "cern-ohl-no-variant",
            "A CERN OHL 2.0 with no variant means the -S variant.",
            "CERN-OHL-2.0",
            _open("CERN-OHL-S-2.0", S),
        ),
        (
            "cern-ohl-1-2",
            "CERN-OHL-1.2 has no variant: it is read as strong copyleft, and keeps its id.",
            "CERN-OHL-1.2",
            _open("CERN-OHL-1.2", S),
        ),
        ("tapr-ohl", "TAPR-OHL-1.0 is strong copyleft.", "TAPR-OHL-1.0", _open("TAPR-OHL-1.0", S)),
        (
            "gpl-deprecated-id",
            "The deprecated GPL-3.0 is GPL-3.0-only.",
            "GPL-3.0",
            _open("GPL-3.0-only", S),
        ),
        (
            "gpl-plus",
            "The deprecated GPL-2.0+ is GPL-2.0-or-later.",
            "GPL-2.0+",
            _open("GPL-2.0-or-later", S),
        ),
        ("lgpl", "LGPL-2.1-only is weak copyleft.", "LGPL-2.1-only", _open("LGPL-2.1-only", W)),
        ("mpl", "MPL-2.0 is weak copyleft.", "MPL-2.0", _open("MPL-2.0", W)),
        (
            "cc-by-sa-3",
            "CC-BY-SA-3.0 is strong copyleft.",
            "CC-BY-SA-3.0",
            _open("CC-BY-SA-3.0", S),
        ),
        ("cc-by-4", "CC-BY-4.0 is permissive.", "CC-BY-4.0", _open("CC-BY-4.0", P)),
        ("cc0", "CC0-1.0 is permissive.", "CC0-1.0", _open("CC0-1.0", P)),
        ("bsd-3-clause", "BSD-3-Clause is permissive.", "BSD-3-Clause", _open("BSD-3-Clause", P)),
        (
            "cc-by-nc",
            "NonCommercial terms: blocked.",
            "CC-BY-NC-4.0",
            _open("CC-BY-NC-4.0", BLOCKED),
        ),
        (
            "cc-by-nd",
            "NoDerivatives terms: blocked.",
            "CC-BY-ND-4.0",
            _open("CC-BY-ND-4.0", BLOCKED),
        ),
        (
            "cc-by-nc-sa",
            "NonCommercial ShareAlike: blocked.",
            "CC-BY-NC-SA-4.0",
            _open("CC-BY-NC-SA-4.0", BLOCKED),
        ),
        (
            "field-of-use",
            "A licence that forbids nuclear uses restricts fields of use: blocked.",
            "BSD-3-Clause-No-Nuclear-License",
            _open("BSD-3-Clause-No-Nuclear-License", BLOCKED),
        ),
        (
            "or-most-open",
            "Under OR the most open option counts.",
            "CC-BY-NC-4.0 OR CC-BY-SA-4.0",
            _open("CC-BY-NC-4.0 OR CC-BY-SA-4.0", S),
        ),
        (
            "or-weak-over-strong",
            "Weak copyleft is more open than strong.",
            "GPL-3.0-only OR LGPL-3.0-only",
            _open("GPL-3.0-only OR LGPL-3.0-only", W),
        ),
        (
            "and-most-restrictive",
            "Under AND the most restrictive part counts.",
            "CC-BY-SA-4.0 AND CC-BY-ND-4.0",
            _open("CC-BY-SA-4.0 AND CC-BY-ND-4.0", BLOCKED),
        ),
        (
            "and-copyleft-over-permissive",
            "MIT AND GPL-3.0-only is strong copyleft.",
            "MIT AND GPL-3.0-only",
            _open("MIT AND GPL-3.0-only", S),
        ),
        (
            "licenseref-kept",
            "A LicenseRef is kept as written; its openness is not assessed.",
            "LicenseRef-PANAKA-OHL-1.0",
            _open("LicenseRef-PANAKA-OHL-1.0", UNKNOWN),
        ),
        (
            "licenseref-prefix-case",
            "Only the LicenseRef- prefix takes its SPDX spelling.",
            "licenseref-Fab-1.0",
            _open("LicenseRef-Fab-1.0", UNKNOWN),
        ),
        (
            "unknown-family",
            "An SPDX licence outside the table is unknown, so not open.",
            "EPL-2.0",
            _open("EPL-2.0", UNKNOWN),
        ),
        ("bare-shl", "SHL-2.1 is an exception, not a licence.", "SHL-2.1", error(BAD)),
        ("with-a-licence", "WITH must name an exception.", "Apache-2.0 WITH MIT", error(BAD)),
        (
            "with-licenseref",
            "WITH must name an SPDX exception.",
            "MIT WITH LicenseRef-x",
            error(BAD),
        ),
        ("unknown-id", "FOO-1.0 is not an SPDX id.", "FOO-1.0", error(BAD)),
        (
            "licenseref-with-space",
            "A LicenseRef is one idstring: no spaces.",
            "LicenseRef-CC BY-SA-4.0",
            error(BAD),
        ),
        ("empty", "The empty string is no expression.", "", error(BAD)),
        ("dangling-operator", "OR needs two operands.", "MIT OR", error(BAD)),
        ("unbalanced", "A parenthesis is not closed.", "(MIT OR CC0-1.0", error(BAD)),
        ("comma-list", "A comma is not an operator.", "MIT, Apache-2.0", error(BAD)),
        ("non-ascii", "Ids are ASCII.", "CC-BY-SA-4.0 OR MÏT", error(BAD)),
        (
            "too-long",
            "An expression over 1,024 characters is refused before parsing.",
            " OR ".join(["MIT"] * 205) + " OR CC0-1.0",
            error("decode.too-large"),
        ),
        *_more_checks(),
    ]


def _more_checks() -> list[tuple[str, str, str, dict[str, Any]]]:
    """The grammar's edges (§2): length in characters, the character set, operator case,
    deprecated ids, `+`, duplicates and grouping."""
    ref_1024 = "LicenseRef-" + "a" * 1013
    return [
        (
            "length-limit-exact",
            "1,024 characters is the limit, and allowed.",
            ref_1024,
            _open(ref_1024, UNKNOWN),
        ),
        (
            "length-limit-plus-one",
            "1,025 characters is over the limit.",
            ref_1024 + "a",
            error("decode.too-large"),
        ),
        (
            "too-long-before-characters",
            "The length is checked before the characters: 1,025 characters outside the "
            "grammar are too large.",
            "Ï" * 1025,
            error("decode.too-large"),
        ),
        (
            "length-in-characters",
            "1,024 characters (more UTF-8 bytes) are not too large; Ï is a bad character.",
            "MIT OR " + "Ï" * 1017,
            error(BAD),
        ),
        ("newline", "A newline is not a separator.", "MIT\nOR CC0-1.0", error(BAD)),
        ("blank", "Spaces and tabs alone are no expression.", " \t ", error(BAD)),
        (
            "tabs-and-spaces",
            "Tabs separate tokens; spaces at either end are ignored.",
            " MIT\tAND\tCC0-1.0 ",
            _open("MIT AND CC0-1.0", P),
        ),
        (
            "operators-any-case",
            "Operators are matched in any case; a WITH pair is one operand.",
            "MIT oR apache-2.0 wItH shl-2.1",
            _open("MIT OR Apache-2.0 WITH SHL-2.1", P),
        ),
        ("redundant-parentheses", "((MIT)) is MIT.", "((MIT))", _open("MIT", P)),
        (
            "duplicate-after-spelling",
            "GPL-3.0 and gpl-3.0-only are the same licence once normalised.",
            "GPL-3.0 OR gpl-3.0-only",
            _open("GPL-3.0-only", S),
        ),
        (
            "compound-duplicates-in-order",
            "Compound operands are duplicates only with their operands in the same order.",
            "(MIT AND CC0-1.0) OR (CC0-1.0 AND MIT)",
            _open("(MIT AND CC0-1.0) OR (CC0-1.0 AND MIT)", P),
        ),
        (
            "with-after-group",
            "WITH follows one licence, never a group.",
            "(MIT OR Apache-2.0) WITH Classpath-exception-2.0",
            error(BAD),
        ),
        (
            "deprecated-bsd-id",
            "The deprecated BSD-2-Clause-NetBSD is read as BSD-2-Clause.",
            "BSD-2-Clause-NetBSD",
            _open("BSD-2-Clause", P),
        ),
        (
            "deprecated-with-id",
            "An id deprecated in favour of WITH is refused.",
            "GPL-2.0-with-classpath-exception",
            error(BAD),
        ),
        ("plus-kept", "MIT+ is MIT's row, written MIT+.", "mit+", _open("MIT+", P)),
        (
            "plus-after-only",
            "+ cannot follow an id that says which versions apply.",
            "GPL-3.0-only+",
            error(BAD),
        ),
        (
            "bsd-digit-dot",
            "BSD-4.3TAHOE starts with BSD- and a digit: permissive.",
            "BSD-4.3TAHOE",
            _open("BSD-4.3TAHOE", P),
        ),
        (
            "cc-by-sa-port",
            "A Creative Commons port is in its licence's family.",
            "CC-BY-SA-2.1-JP",
            _open("CC-BY-SA-2.1-JP", S),
        ),
        (
            "documentref",
            "A DocumentRef prefix takes its spelling too; the reference is unknown.",
            "documentref-spec:licenseref-Board",
            _open("DocumentRef-spec:LicenseRef-Board", UNKNOWN),
        ),
    ]


def _verdict(verdict: str, *attribution: str) -> dict[str, Any]:
    return ok(verdict=verdict, attribution=list(attribution))


def _derivations() -> list[tuple[str, str, list[str], str, dict[str, Any]]]:
    cern, by_sa = "CERN-OHL-S-2.0", "CC-BY-SA-4.0"
    return [
        ("cern-s-keeps", "CERN-OHL-S-2.0 → itself.", [cern], cern, _verdict("allowed", cern)),
        (
            "cern-s-to-w",
            "CERN-OHL-S-2.0 requires a CERN-OHL-S-2.0 child.",
            [cern],
            "CERN-OHL-W-2.0",
            _verdict("forbidden", cern),
        ),
        (
            "cern-s-to-gpl",
            "CERN-OHL-S-2.0 → GPL-3.0-only is another copyleft: forbidden.",
            [cern],
            "GPL-3.0-only",
            _verdict("forbidden", cern),
        ),
        (
            "cern-1-2-to-s",
            "CERN-OHL-1.2 → CERN-OHL-S-2.0 depends on the parent's 'or later' notice.",
            ["CERN-OHL-1.2"],
            cern,
            _verdict("review", "CERN-OHL-1.2"),
        ),
        (
            "by-sa-4-to-gpl-3-only",
            "CC-BY-SA-4.0 may become GPL-3.0-only (one way).",
            [by_sa],
            "GPL-3.0-only",
            _verdict("allowed", by_sa),
        ),
        (
            "by-sa-4-to-gpl-3-or-later",
            "CC-BY-SA-4.0 may become GPL-3.0-or-later (one way).",
            [by_sa],
            "GPL-3.0-or-later",
            _verdict("allowed", by_sa),
        ),
        (
            "gpl-3-to-by-sa-4",
            "GPL-3.0-only may not become CC-BY-SA-4.0: the compatibility is one way.",
            ["GPL-3.0-only"],
            by_sa,
            _verdict("forbidden", "GPL-3.0-only"),
        ),
        (
            "by-sa-3-to-4",
            "CC-BY-SA-3.0 allows a later version with the same elements.",
            ["CC-BY-SA-3.0"],
            by_sa,
            _verdict("allowed", "CC-BY-SA-3.0"),
        ),
        (
            "by-sa-4-to-3",
            "CC-BY-SA-4.0 does not allow an earlier version.",
            [by_sa],
            "CC-BY-SA-3.0",
            _verdict("forbidden", by_sa),
        ),
        (
            "mit-to-cern-s",
            "A permissive parent allows any open child, with attribution.",
            ["MIT"],
            cern,
            _verdict("allowed", "MIT"),
        ),
        ("cc0-to-mit", "CC0-1.0 asks for no attribution.", ["CC0-1.0"], "MIT", _verdict("allowed")),
        (
            "apache-to-gpl-2-only",
            "Apache-2.0 → GPL-2.0-only: the patent terms clash; review.",
            ["Apache-2.0"],
            "GPL-2.0-only",
            _verdict("review", "Apache-2.0"),
        ),
        (
            "lgpl-to-gpl",
            "LGPL-2.1-only may become GPL-2.0-only.",
            ["LGPL-2.1-only"],
            "GPL-2.0-only",
            _verdict("allowed", "LGPL-2.1-only"),
        ),
        (
            "cern-w-to-mit",
            "A weak copyleft parent under another licence: which files stay under it? review.",
            ["CERN-OHL-W-2.0"],
            "MIT",
            _verdict("review", "CERN-OHL-W-2.0"),
        ),
        (
            "nd-parent",
            "NoDerivatives: no derivative.",
            ["CC-BY-ND-4.0"],
            "CC-BY-4.0",
            _verdict("forbidden", "CC-BY-ND-4.0"),
        ),
        (
            "nc-parent",
            "NonCommercial terms carry to the child, which cannot be open.",
            ["CC-BY-NC-SA-4.0"],
            by_sa,
            _verdict("forbidden", "CC-BY-NC-SA-4.0"),
        ),
        (
            "nc-child",
            "A child that is not open cannot be published.",
            ["MIT"],
            "CC-BY-NC-4.0",
            _verdict("forbidden"),
        ),
        (
            "unknown-child",
            "A child under a LicenseRef needs review.",
            ["MIT"],
            "LicenseRef-Fab-1.0",
            _verdict("review"),
        ),
        (
            "unknown-parent",
            "A parent under a licence outside the table needs review.",
            ["EPL-2.0"],
            "MIT",
            _verdict("review"),
        ),
        (
            "mixed-copyleft-one-side",
            "Parents under two copylefts, the child under one of them: review.",
            [cern, by_sa],
            cern,
            _verdict("review", cern, by_sa),
        ),
        (
            "mixed-copyleft-both",
            "Parents under two copylefts, the child under both: review.",
            [cern, by_sa],
            f"{cern} AND {by_sa}",
            _verdict("review", cern, by_sa),
        ),
        (
            "mixed-copyleft-neither",
            "Parents under two copylefts, the child under neither: forbidden.",
            [cern, by_sa],
            "MIT",
            _verdict("forbidden", cern, by_sa),
        ),
        (
            "same-compound",
            "A child keeping its parent's compound licence exactly.",
            [f"{cern} AND {by_sa}"],
            f"{cern} AND {by_sa}",
            _verdict("allowed", cern, by_sa),
        ),
        (
            "two-parents-common-child",
            "GPL-3.0-only suits both a GPL-3.0-only and a CC-BY-SA-4.0 parent.",
            ["GPL-3.0-only", by_sa],
            "GPL-3.0-only",
            _verdict("allowed", "GPL-3.0-only", by_sa),
        ),
        (
            "two-permissive-parents",
            "Both parents' attribution is carried.",
            ["MIT", "CC-BY-4.0"],
            cern,
            _verdict("allowed", "MIT", "CC-BY-4.0"),
        ),
        (
            "parent-or-choice",
            "A dual-licensed parent: the licensee takes the MIT option.",
            ["MIT OR GPL-3.0-only"],
            "MIT",
            _verdict("allowed", "MIT"),
        ),
        (
            "child-or-must-all-suit",
            "Every option of the child must suit the parent.",
            [by_sa],
            f"{by_sa} OR MIT",
            _verdict("forbidden", by_sa),
        ),
        (
            "child-and-partial",
            "The child adds MIT beside the parent's GPL: review.",
            ["GPL-3.0-only"],
            "GPL-3.0-only AND MIT",
            _verdict("review", "GPL-3.0-only"),
        ),
        ("bad-parent", "A parent that does not parse.", ["SHL-2.1"], "MIT", error(BAD)),
        ("bad-child", "A child that does not parse.", ["MIT"], "MIT OR", error(BAD)),
        ("no-parent", "A derivative needs a parent.", [], "MIT", error(BAD)),
        *_more_derivations(),
    ]


def _more_derivations() -> list[tuple[str, str, list[str], str, dict[str, Any]]]:
    """§5.1's lists and rule 4, §5.2's outcomes (ties, blocked licences, mixed
    copyleft), §5.3's attribution, and the order of parsing."""
    cern, by_sa, nc = "CERN-OHL-S-2.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0"
    classpath = "GPL-2.0-only WITH Classpath-exception-2.0"
    return [
        (
            "gpl-2-or-later-to-3-only",
            "GPL-2.0-or-later allows GPL-3.0-only.",
            ["GPL-2.0-or-later"],
            "GPL-3.0-only",
            _verdict("allowed", "GPL-2.0-or-later"),
        ),
        (
            "by-sa-1-to-2",
            "CC-BY-SA-1.0 allows no other version.",
            ["CC-BY-SA-1.0"],
            "CC-BY-SA-2.0",
            _verdict("forbidden", "CC-BY-SA-1.0"),
        ),
        (
            "by-sa-port-to-unported",
            "A port allows the unported licence of its version.",
            ["CC-BY-SA-2.0-UK"],
            "CC-BY-SA-2.0",
            _verdict("allowed", "CC-BY-SA-2.0-UK"),
        ),
        (
            "mpl-to-gpl",
            "MPL-2.0 lists no other child: a weak parent needs review.",
            ["MPL-2.0"],
            "GPL-3.0-only",
            _verdict("review", "MPL-2.0"),
        ),
        (
            "with-parent-kept",
            "A parent with an exception, kept exactly: allowed; it is named whole.",
            [classpath],
            classpath,
            _verdict("allowed", classpath),
        ),
        (
            "with-parent-dropped",
            "The child drops the parent's exception: review.",
            [classpath],
            "GPL-2.0-only",
            _verdict("review", classpath),
        ),
        (
            "permissive-parent-child-and",
            "Against a parent that is not copyleft, a child's AND takes the worst part.",
            ["Apache-2.0"],
            "GPL-2.0-only AND MIT",
            _verdict("review", "Apache-2.0"),
        ),
        (
            "same-compound-any-order",
            "A compound parent equal to the child with its operands in another order.",
            [f"{by_sa} AND {cern}"],
            f"{cern} AND {by_sa}",
            _verdict("allowed", by_sa, cern),
        ),
        (
            "mixed-copyleft-weak-review",
            "A weak parent's review counts as suiting: mixed copyleft, review.",
            ["CERN-OHL-W-2.0", cern],
            "MIT",
            _verdict("review", "CERN-OHL-W-2.0", cern),
        ),
        (
            "unknown-parent-binds-no-copyleft",
            "An unknown parent binds no copyleft: one copyleft binds, so no mixing.",
            ["EPL-2.0", cern],
            "GPL-3.0-only",
            _verdict("forbidden", cern),
        ),
        (
            "blocked-part-of-and-parent",
            "A blocked licence in a parent's AND binds whatever its place: no mixing.",
            [f"GPL-3.0-only AND {nc}", cern],
            cern,
            _verdict("forbidden", "GPL-3.0-only", nc, cern),
        ),
        (
            "parent-or-tie-first-blocked",
            "Both options forbidden: the first is chosen, and it is blocked.",
            [f"{nc} OR GPL-3.0-only", cern],
            cern,
            _verdict("forbidden", nc, cern),
        ),
        (
            "parent-or-tie-first-copyleft",
            "Both options forbidden: the first, a copyleft, is chosen; mixed copyleft.",
            [f"GPL-3.0-only OR {nc}", cern],
            cern,
            _verdict("review", "GPL-3.0-only", cern),
        ),
        (
            "parents-parsed-before-child",
            "Parents are parsed before the child: the bad parent's error, not the long child's.",
            ["SHL-2.1"],
            " OR ".join(["MIT"] * 300),
            error(BAD),
        ),
        (
            "second-parent-too-long",
            "Each parent in order: the second parent is too large.",
            ["MIT", " OR ".join(["MIT"] * 300), "SHL-2.1"],
            "MIT",
            error("decode.too-large"),
        ),
    ]
