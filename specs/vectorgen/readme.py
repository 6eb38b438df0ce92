"""specs/vectors/README.md: the vector file format, every suite's fields, the case counts.

The README is generated with the vectors, so the counts never go stale. Its text is
specs/vectorgen/readme_format.md, the one definition of the files (specs/0001 §7 points
to the README); tests/specs/test_vectors.py checks the real code against every file as
it describes, and that the files follow its conventions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from specs.vectorgen.common import Case

FORMAT = Path(__file__).with_name("readme_format.md")


def readme(cases: Sequence[Case]) -> str:
    """readme_format.md, then one row per suite with its case counts."""
    counts: dict[tuple[str, str], list[int]] = {}
    for c in cases:
        row = counts.setdefault((c.area, c.suite), [0, 0])
        row[0 if c.expect["ok"] else 1] += 1
    lines = ["", "| suite | valid | invalid | cases |", "|---|---:|---:|---:|"]
    for (area, suite), (valid, invalid) in sorted(counts.items()):
        lines.append(f"| `{area}/{suite}/` | {valid} | {invalid} | {valid + invalid} |")
    valid_total = sum(v for v, _ in counts.values())
    lines.append(f"| **total** | {valid_total} | {len(cases) - valid_total} | {len(cases)} |")
    return FORMAT.read_text(encoding="utf-8") + "\n".join(lines) + "\n"
