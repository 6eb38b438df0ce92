"""Open Know-How manifests into design drafts, and back (specs/0010-designs.md §5).

`import_manifest` reads a manifest's bytes (its size, then UTF-8) with one of them:
`import_losh_toml` reads an OKH-LOSH TOML manifest, `import_okh_v1_yaml` an OKH v1
YAML one (`okh*.yml`), each into a `DesignDraft` (licenses.okh_draft); keys are
accepted in kebab-case, camelCase and snake_case. `export_losh_toml` writes a draft or
a design body as OKH-LOSH TOML, and importing that gives the same draft back.

What a careful person would do, done (licenses.okh_fields): stray quotes and newlines
in names, `UNVERSIONED`, `image` as a string or a list, a licensor written `. Name`,
languages written `English-UK`; licence strings go through
licenses.okh_licence.normalise_okh_licence, with the whole manifest as context, so
`LicenseRef-CC BY-SA-4.0` becomes `CC-BY-SA-4.0` and a bare `LicenseRef-CERN` is refused
with a question, never guessed. The importer may answer it with `licence_override`.
Every rewrite is recorded in the draft's notes.

Guarantees: text in, a draft or a `DecodeError` out — `decode.bad-manifest` (or
`decode.bad-licence` from the licence reader), always with `field` (the manifest key at
fault, or `manifest` for the document as a whole) and `source`; never another
exception. The size is checked before parsing; YAML aliases are refused.
Pure: no I/O; fetching the referenced files is the node's business.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable
from typing import Any, Final, Literal

import yaml

from licenses.okh_draft import DesignDraft, design_body
from licenses.okh_export import export_losh_toml
from licenses.okh_fields import bad, canonical_keys
from licenses.okh_reader import ManifestReader
from protocol import yamlsafe
from protocol.errors import DecodeError

__all__ = [
    "MAX_MANIFEST_BYTES",
    "export_losh_toml",
    "import_losh_toml",
    "import_manifest",
    "import_okh_v1_yaml",
]

#: Largest manifest read, in UTF-8 bytes, checked before parsing.
MAX_MANIFEST_BYTES: Final = 256 * 1024


def import_manifest(
    data: bytes,
    form: Literal["losh", "v1"],
    *,
    source: str,
    licence_override: str | None = None,
) -> DesignDraft:
    """A manifest's bytes as a draft (specs/0010 §5.1): OKH-LOSH TOML (`losh`) or OKH v1
    YAML (`v1`); raises DecodeError (module docstring)."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise DecodeError(
            "decode.too-large",
            f"manifest of more than {MAX_MANIFEST_BYTES} bytes",
            field="manifest",
            source=source,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecodeError(
            "decode.bad-manifest", "not UTF-8", field="manifest", source=source
        ) from e
    reader = import_losh_toml if form == "losh" else import_okh_v1_yaml
    return reader(text, source=source, licence_override=licence_override)


def import_losh_toml(text: str, *, source: str, licence_override: str | None = None) -> DesignDraft:
    """An OKH-LOSH TOML manifest as a draft; raises DecodeError (module docstring)."""

    def parse() -> Any:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise bad("manifest", f"not TOML: {e}") from e

    return _import(text, source, parse, lambda t: ManifestReader(t, text, licence_override).losh())


def import_okh_v1_yaml(
    text: str, *, source: str, licence_override: str | None = None
) -> DesignDraft:
    """An OKH v1 YAML manifest as a draft; raises DecodeError (module docstring)."""

    def parse() -> Any:
        try:
            return yamlsafe.load(_without_directives(text))
        except yaml.YAMLError as e:
            raise bad("manifest", f"not YAML: {str(e).splitlines()[0]}") from e

    return _import(text, source, parse, lambda t: ManifestReader(t, text, licence_override).v1())


def _import(
    text: str,
    source: str,
    parse: Callable[[], Any],
    read: Callable[[dict[str, Any]], DesignDraft],
) -> DesignDraft:
    try:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_MANIFEST_BYTES:
            raise DecodeError(
                "decode.too-large",
                f"manifest of {size} bytes, limit {MAX_MANIFEST_BYTES}",
                field="manifest",
            )
        data = parse()
        if not isinstance(data, dict):
            raise bad("manifest", "the manifest is not a table of keys")
        fields = read(canonical_keys(data, ""))
        draft = dataclasses.replace(fields, source=source)
        design_body(draft)  # every bound of a body holds
        return draft
    except DecodeError as e:
        e.details.setdefault("source", source)
        e.details.setdefault("field", "manifest")
        raise
    except RecursionError as e:
        raise DecodeError(
            "decode.bad-manifest", "nested too deeply", field="manifest", source=source
        ) from e


def _without_directives(text: str) -> str:
    """OKH v1 begins with `%Open Know-How Manifest 1.0`, which is not a YAML directive."""
    lines = text.split("\n")
    while lines and lines[0].lstrip().startswith("%"):
        lines.pop(0)
    return "\n".join(lines)
