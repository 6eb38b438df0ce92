"""Open Know-Where files on a node: read one into an advert, write an advert as one
(the document format is protocol.okw; specs/0011-capabilities.md §8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.matching import LabAdvert
from node.ops.files import read_bounded
from protocol.capability import AdvertBody
from protocol.ids import id_to_text
from protocol.okw import MAX_OKW_BYTES, advert_from_okw, advert_to_okw


def read_okw_file(path: Path) -> AdvertBody:
    """An advert body (seal_key nil) from an OKW YAML file; size checked first."""
    return advert_from_okw(read_bounded(path, MAX_OKW_BYTES))


def export_json(advert: LabAdvert) -> dict[str, Any]:
    """`capability export-okw`: the lab's newest advert as an OKW YAML document."""
    return {"lab": id_to_text(advert.lab), "yaml": advert_to_okw(advert.body)}
