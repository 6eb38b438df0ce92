"""Names for ids: what people read instead of a lab's or a member's id (issue 14).

A name comes only from what the ledger holds, signed by the identity it names: first
the `name` of its newest capability advert (a lab, specs/0011 §2), then the `name` of
its admission request (`member.apply`, specs/0008 §3.2). Nothing else names an
identity (a design's licensors are free text, not ids). `names(ctx)` resolves every
identity that has one; `label` gives one id's name or, unknown, a short id. Names are
not unique and prove nothing: wherever a name is shown the id stays at hand (the page's
title and copy button, the CLI's JSON). Reads the ledger, signs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from node.ops import capabilities
from node.ops.context import LedgerContext
from protocol.ids import id_to_text

#: Characters of an id's text kept when no name is known ("fc1abcdef…").
SHORT_ID_CHARS: Final = 12


def names(ctx: LedgerContext) -> dict[bytes, str]:
    """Identity id -> its name: advert names over application names."""
    found: dict[bytes, str] = {}
    if ctx.governance is not None:
        for author, application in ctx.governance.applications.items():
            found[author] = application.name
    for advert in capabilities.adverts(ctx):
        found[advert.lab] = advert.body.name
    return found


def names_json(ctx: LedgerContext) -> dict[str, Any]:
    """GET /api/v1/names: {"names": {id text: name}}, sorted by id."""
    return {"names": {id_to_text(k): v for k, v in sorted(names(ctx).items())}}


def short_id(id_text: str) -> str:
    """An id's text cut to SHORT_ID_CHARS, marked as cut."""
    return id_text if len(id_text) <= SHORT_ID_CHARS else id_text[:SHORT_ID_CHARS] + "…"


def label(known: Mapping[str, str], id_text: str) -> str:
    """The name of an id (text form) among `known`, else its short id."""
    return known.get(id_text) or short_id(id_text)
