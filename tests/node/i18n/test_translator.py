"""node.i18n: which language the environment asks for, and how each locale writes
messages, plurals, dates, numbers and distances."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from node.i18n import (
    N_,
    _,
    aligned,
    current,
    language_from_env,
    localized,
    message,
    ngettext,
    text_of,
    translator,
    use,
)
from protocol.errors import JobError, LocalMisuseError

#: 15 December 2026, noon UTC: the same day in every time zone the tests may run in.
MID_DECEMBER_MS = int(datetime(2026, 12, 15, 12, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("environ", "locale"),
    [
        ({}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "POSIX"}, "en"),
        ({"LANG": "es_ES.UTF-8"}, "es_ES"),
        ({"LANG": "fr_FR.UTF-8", "LC_MESSAGES": "de_DE.UTF-8"}, "de_DE"),
        ({"LANG": "fr_FR.UTF-8", "LC_MESSAGES": "de_DE", "LC_ALL": "es_CO.UTF-8"}, "es_CO"),
        ({"LANG": "de_AT.UTF-8@euro"}, "de_AT"),
        ({"LANG": "pt_BR.UTF-8"}, "pt_BR"),  # no catalog: English words, Brazil's formats
        ({"LANG": "xx_YY"}, "en"),  # unknown to Babel
        ({"LANG": "de_DE.UTF-8", "LANGUAGE": "pt:fr:es"}, "fr"),  # GNU's preference list
        ({"LANG": "fr_CA.UTF-8", "LANGUAGE": "fr"}, "fr_CA"),  # the same language
        ({"LANG": "C", "LANGUAGE": "es"}, "en"),  # the C locale: LANGUAGE ignored, as GNU
    ],
)
def test_the_environment_names_the_language(environ: dict[str, str], locale: str) -> None:
    assert language_from_env(environ) == locale


@pytest.mark.parametrize(
    ("locale", "stopped", "files", "date", "number", "distance"),
    [
        ("en", "node stopped", "2 files", "Dec 15, 2026", "12,345.6", "12.3 km"),
        ("es_ES", "nodo detenido", "2 archivos", "15 dic 2026", "12.345,6", "12,3 km"),
        ("fr_FR", "nœud arrêté", "2 fichiers", "15 déc. 2026", "12\u202f345,6", "12,3\u202fkm"),
        ("de_DE", "Knoten angehalten", "2 Dateien", "15.12.2026", "12.345,6", "12,3 km"),
        ("pt_BR", "node stopped", "2 files", "15 de dez. de 2026", "12.345,6", "12,3 km"),
    ],
)
def test_each_locale_writes_its_own_words_and_formats(
    locale: str, stopped: str, files: str, date: str, number: str, distance: str
) -> None:
    tr = translator(locale)
    assert tr.gettext("node stopped") == stopped
    assert tr.ngettext("{n} file", "{n} files", 2).format(n=2) == files
    assert tr.date_time(MID_DECEMBER_MS).startswith(date)
    assert tr.number(12345.6) == number
    assert tr.distance_m(12_345) == distance


def test_plural_forms_follow_each_language() -> None:
    """French counts 0 as singular, English and German do not."""
    one = {lang: translator(lang).ngettext("{n} file", "{n} files", 0) for lang in ("fr", "de")}
    assert one == {"fr": "{n} fichier", "de": "{n} Dateien"}
    assert translator("es").ngettext("{n} file", "{n} files", 1) == "{n} archivo"


def test_use_sets_the_readers_language_and_message_translates_fixed_sentences() -> None:
    try:
        assert use("de_DE").language == "de" and current().locale == "de_DE"
        assert _("node stopped") == "Knoten angehalten"
        assert ngettext("{n} log", "{n} logs", 3) == "{n} Protokolle"
        assert message("the slicer failed") == "der Slicer ist fehlgeschlagen"  # marked N_()
        assert message("a sentence no catalog holds") == "a sentence no catalog holds"
        assert message("") == ""
    finally:
        use("en")
    assert _("node stopped") == "node stopped"


def test_aligned_pads_translated_labels() -> None:
    assert aligned([("a", "1"), ("longer", "2")]) == ["a       1", "longer  2"]
    assert aligned([("a", "1")], min_width=3, gap=1) == ["a   1"]


def test_a_localized_error_tells_scripts_in_english_and_people_in_their_language() -> None:
    try:
        use("es_ES")
        error = localized(
            LocalMisuseError,
            "misuse.node-not-running",
            N_("no node is running on {home}"),
            home="/srv/lab",
        )
        assert error.to_json() == {
            "code": "misuse.node-not-running",
            "message": "no node is running on /srv/lab",
        }
        assert text_of(error, error.message) == "no hay ningún nodo en marcha en /srv/lab"
        plain = JobError("job.out-of-turn", "the bid was already awarded")  # N_() in node.ops
        assert text_of(plain, plain.message) == "la oferta ya fue adjudicada"
    finally:
        use("en")
