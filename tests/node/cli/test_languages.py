"""`fabnode` in the reader's language (README "Languages"): real commands in
subprocesses with LANG set as a lab manager's shell sets it. Messages, money,
distances and dates follow the locale; error codes and --json output never change.
"""

from __future__ import annotations

import gettext
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_datetime

from node.cli.blobs import status_text as blob_status_text
from node.cli.doctor import _advice, _advice_pairs
from node.cli.main import main
from node.cli.readiness import warning_text
from node.i18n import use
from tests.node.cli.test_designs import design_dir
from tests.node.ops.test_capabilities import advert_file

LOCALE_VARIABLES = ("LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LC_MONETARY")


def fabnode_in(lang: str, home: Path, *args: str | Path) -> tuple[int, str, str]:
    """`fabnode --home HOME ARGS` with LANG=lang (no other locale variable) in UTC;
    (exit status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARIABLES}
    env.update(LANG=lang, TZ="UTC", FABNODE_STATE_DIR=f"{home}-state")
    argv = [sys.executable, "-m", "node.cli", "--home", str(home), *[str(a) for a in args]]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, env=env)
    return done.returncode, done.stdout, done.stderr


def json_in(lang: str, home: Path, *args: str | Path) -> Any:
    status, out, err = fabnode_in(lang, home, *args, "--json")
    assert status == 0, out + err
    return json.loads(out)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with an identity (made in Spanish), an advert and a withdrawn design."""
    root = tmp_path_factory.mktemp("languages")
    home = root / "lab"
    status, out, _ = fabnode_in("es_ES.UTF-8", home, "init")
    assert status == 0
    assert out.startswith("identidad creada ") and "fuera de línea" in out
    json_in("C.UTF-8", home, "capability", "set", advert_file(root))
    design = json_in("C.UTF-8", home, "design", "publish", design_dir(root, "Cube", "MIT"))
    json_in("C.UTF-8", home, "design", "withdraw", design["design_id"], "--reason", "v2")
    (home.parent / "design-id").write_text(design["design_id"])
    return home


MATCH = ("capability", "match", "--part", "100,50,20,40000", "--process", "3d-printing",
         "--material", "pla", "--tolerance", "m")  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "quote", "basis"),
    [
        ("C.UTF-8", "€20.47 ", "by volume model (40000 mm³ at 15000 mm³/h; the lab publishes"),
        ("es_ES.UTF-8", "20,47\u00a0€ ", "por modelo de volumen (40000 mm³ a 15000 mm³/h; el"),
        ("fr_FR.UTF-8", "20,47\u00a0€ ", "par modèle volumique (40000 mm³ à 15000 mm³/h\u00a0;"),
        ("de_DE.UTF-8", "20,47\u00a0€ ", "per Volumenmodell (40000 mm³ bei 15000 mm³/h; das Lab"),
    ],
)
def test_a_quote_reads_in_the_readers_language_and_money(
    lab: Path, lang: str, quote: str, basis: str
) -> None:
    status, out, err = fabnode_in(lang, lab, *MATCH)
    assert status == 0, err
    assert f"  {quote}{basis}" in out


@pytest.mark.parametrize(
    ("lang", "distance"),
    [("C.UTF-8", r"0\.\d km"), ("es_ES.UTF-8", r"0,\d km"), ("fr_FR.UTF-8", "0,\\d\u202fkm")],
)
def test_distances_follow_the_locale(lab: Path, lang: str, distance: str) -> None:
    status, out, _ = fabnode_in(lang, lab, "capability", "list", "--near", "41.40,2.20")
    assert status == 0 and re.search(rf"\[3dp-fdm, laser-cutting\]  {distance}\Z", out.strip())


@pytest.mark.parametrize(
    ("lang", "locale", "withdrawn"),
    [
        ("C.UTF-8", "en", "WITHDRAWN by its author on "),
        ("es_ES.UTF-8", "es_ES", "RETIRADO por su autor el "),
        ("fr_FR.UTF-8", "fr_FR", "RETIRÉ par son auteur le "),
        ("de_DE.UTF-8", "de_DE", "ZURÜCKGEZOGEN von seinem Autor am "),
    ],
)
def test_dates_follow_the_locale(lab: Path, lang: str, locale: str, withdrawn: str) -> None:
    design = (lab.parent / "design-id").read_text()
    at_ms = json_in("C.UTF-8", lab, "design", "show", design)["withdrawn"]["timestamp_ms"]
    moment = datetime.fromtimestamp(at_ms / 1000, UTC)
    date = format_datetime(moment, "medium", tzinfo=UTC, locale=locale)  # TZ=UTC
    status, out, _ = fabnode_in(lang, lab, "design", "show", design)
    assert status == 0
    colon = "\u00a0:" if locale == "fr_FR" else ":"  # French typography: a space before
    assert f"\n  {withdrawn}{date}{colon} v2\n" in out


@pytest.mark.parametrize(
    ("lang", "error"),
    [
        ("C.UTF-8", "error [misuse.node-not-running]: no node is running on "),
        ("es_ES.UTF-8", "error [misuse.node-not-running]: no hay ningún nodo en marcha en "),
        ("fr_FR.UTF-8", "erreur [misuse.node-not-running]\u00a0: aucun nœud ne tourne sur "),
        ("de_DE.UTF-8", "Fehler [misuse.node-not-running]: auf "),
    ],
)
def test_error_messages_are_translated_and_their_codes_are_not(
    lab: Path, lang: str, error: str
) -> None:
    status, out, err = fabnode_in(lang, lab, "status")
    assert (status, out) == (1, "") and err.startswith(error)
    status, out, _ = fabnode_in(lang, lab, "status", "--json")
    assert status == 1
    assert json.loads(out)["error"] == {
        "code": "misuse.node-not-running",
        "message": f"no node is running on {lab}",  # --json: for scripts, never translated
    }


def test_json_output_is_the_same_in_every_language(lab: Path) -> None:
    design = (lab.parent / "design-id").read_text()
    shown = [json_in(lang, lab, "design", "show", design) for lang in ("C.UTF-8", "de_DE.UTF-8")]
    assert shown[0] == shown[1]
    matched = [json_in(lang, lab, *MATCH) for lang in ("C.UTF-8", "fr_FR.UTF-8")]
    assert matched[0] == matched[1]


def test_the_lang_option_wins_over_the_environment(lab: Path) -> None:
    status, _, err = fabnode_in("es_ES.UTF-8", lab, "--lang", "de", "status")
    assert status == 1 and err.startswith("Fehler [misuse.node-not-running]: ")
    status, out, _ = fabnode_in("fr_FR.UTF-8", lab, "--lang", "en", *MATCH)
    assert status == 0 and "€20.47 by volume model" in out


def test_notification_settings_name_their_own_language(lab: Path) -> None:
    """The language of notifications is a setting, whatever the shell's locale."""
    status, out, _ = fabnode_in("de_DE.UTF-8", lab, "notify", "set", "--language", "es")
    assert status == 0 and re.search(r"^Sprache\s+es$", out, re.M)
    assert json_in("C.UTF-8", lab, "notify", "show")["language"] == "es"
    status, out, _ = fabnode_in("C.UTF-8", lab, "notify", "set", "--language", "tlh", "--json")
    assert status == 1 and json.loads(out)["error"]["code"] == "misuse.bad-notify-setting"
    assert json.loads(out)["error"]["field"] == "language"
    status, _, _ = fabnode_in("C.UTF-8", lab, "notify", "set", "--radius-km", "20")
    assert status == 0 and json_in("C.UTF-8", lab, "notify", "show")["language"] == "es"


def test_print_readiness_warnings_are_written_from_their_codes() -> None:
    """The node writes a warning's sentence in English; the CLI writes it again from
    its code, value and limit in the reader's language and numbers."""
    thin = {"code": "thin-wall", "value": 500, "limit": 800, "text": "English as sent"}
    unknown = {"code": "too-shiny", "value": 1, "limit": None, "text": "too shiny"}
    try:
        use("en")
        assert warning_text(thin) == "English as sent"
        use("de_DE")
        assert (
            warning_text(thin) == "dünnste Wand etwa 0,50 mm, unter den 0,80 mm dieses Verfahrens"
        )
        assert warning_text(unknown) == "too shiny"  # a newer node's code: its own words
        use("fr_FR")
        overhangs = {"code": "overhangs", "value": 125, "limit": None, "text": ""}
        assert warning_text(overhangs).startswith("12,5\u00a0% de la surface")  # CLDR's pattern
    finally:
        use("en")


def test_help_speaks_the_readers_language_argparse_words_included(tmp_path: Path) -> None:
    """Option help and argparse's own words ("usage:", "options", "show this help
    message and exit") come from our catalog, for the command list and a command."""
    status, out, _ = fabnode_in("es_ES.UTF-8", tmp_path / "h", "--help")
    assert status == 0
    assert out.startswith("uso: fabnode ")
    assert "\nargumentos posicionales:\n" in out and "\nopciones:\n" in out
    assert "mostrar este mensaje de ayuda y salir" in out
    assert re.search(r"^\s+du\s+lo que contiene la carpeta, por partes$", out, re.M), out
    status, out, _ = fabnode_in("es_ES.UTF-8", tmp_path / "h", "du", "--help")
    assert status == 0 and out.startswith("uso: fabnode du [-h] [--json]")
    assert re.search(r"^\s+--json\s+\S", out, re.M) and "print JSON" not in out
    status, out, _ = fabnode_in("de_DE.UTF-8", tmp_path / "h", "--lang", "fr", "gc", "--help")
    assert status == 0 and out.startswith("utilisation\u00a0: fabnode gc ")
    assert "garder les blobs sous cette taille (Mio)" in out


def test_argparse_errors_speak_the_readers_language(tmp_path: Path) -> None:
    status, out, err = fabnode_in("de_DE.UTF-8", tmp_path / "h", "gc")
    assert (status, out) == (2, "")
    assert err.splitlines()[-1] == (
        "fabnode gc: Fehler: folgende Argumente sind erforderlich: --budget-mib"
    )


def test_du_and_gc_speak_spanish_and_their_json_does_not_change(lab: Path) -> None:
    status, out, _ = fabnode_in("es_ES.UTF-8", lab, "du")
    assert status == 0
    assert re.fullmatch(r"bases de datos \d+,\d MiB", out.splitlines()[0])
    assert re.search(r"^libre en el disco [\d.]+ MiB$", out, re.M)
    status, out, _ = fabnode_in("es_ES.UTF-8", lab, "gc", "--budget-mib", "1000", "--dry-run")
    assert status == 0 and re.fullmatch(
        r"se desalojarían? \d+ blobs? \(0,0 MiB\); \d+,\d MiB de blobs conservados\n", out
    )
    gc = ("gc", "--budget-mib", "1000", "--dry-run")
    english, spanish = json_in("C.UTF-8", lab, *gc), json_in("es_ES.UTF-8", lab, *gc)
    assert english == spanish and english["dry_run"] is True
    du = [json_in(lang, lab, "du") for lang in ("C.UTF-8", "es_ES.UTF-8")]
    assert set(du[0]) == set(du[1]) and du[0]["blobs"] == du[1]["blobs"]


def test_argparse_is_given_back_its_gettext_when_main_returns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """main() binds gettext's default domain and LANGUAGE only while it parses: a
    process that calls it (a test, a node it starts) keeps its own."""
    monkeypatch.delenv("LANGUAGE", raising=False)
    domain = gettext.textdomain()
    try:
        with pytest.raises(SystemExit):
            main(["--lang", "fr", "du", "--help"])
        assert capsys.readouterr().out.startswith("utilisation\u00a0: fabnode du")
        assert "LANGUAGE" not in os.environ and gettext.textdomain() == domain
    finally:
        use("en")


def test_blob_status_and_doctor_advice_speak_the_readers_language() -> None:
    peers = [{"peer": "12D3KooWa", "held": False}, {"peer": "12D3KooWb", "held": None}]
    status = {"blob": "bxyz", "held": True, "size": 2, "pinners": [], "peers": peers}
    report = {"advice": ["Peers could not dial ... port 4001 ...", "new, from a newer node"],
              "advice_items": [{"code": "forward-port", "params": {"port": 4001}},
                               {"code": "not-known-here", "params": {}}]}  # fmt: skip
    try:
        use("en")
        assert blob_status_text(status).splitlines() == [
            "bxyz: held here (2 bytes)",
            "peer 12D3KooWa: does not hold it",
            "peer 12D3KooWb: no answer",
            "pinned by rule by no member (no live design names it)",
        ]
        use("es_ES")
        assert blob_status_text(status).splitlines()[:2] == [
            "bxyz: aquí (2 bytes)",
            "par 12D3KooWa: no lo tiene",
        ]
        said = [_advice(item, english) for item, english in _advice_pairs(report)]
        assert said[0].startswith("Los pares no pudieron llamar de vuelta") and "4001" in said[0]
        assert said[1] == "new, from a newer node"  # a code this CLI does not know
    finally:
        use("en")
