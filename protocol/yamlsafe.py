"""YAML read safely: the safe loader with aliases refused (specs/0012-robustness.md).

A few bytes of YAML aliases can expand to gigabytes ("billion laughs"); no document
this project reads (OKH manifests, OKW documents) needs them. `load` raises
yaml.YAMLError like yaml.load; callers turn it into their typed decode error.
"""

from __future__ import annotations

from typing import Any

import yaml


class NoAliasLoader(yaml.SafeLoader):
    """The safe loader, refusing aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None,
                None,
                "aliases are not allowed",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        return super().compose_node(parent, index)


def load(text: str) -> Any:
    """One YAML document, safely, without aliases."""
    return yaml.load(text, Loader=NoAliasLoader)
