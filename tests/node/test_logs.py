"""The node's log lines (node.logs): JSON lines that parse one by one, journal priority
prefixes only on systemd's own stream, and a real `fabnode run --log-format json`."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.logs import OUR_LOGGERS, configure_logging, is_journal_stream
from protocol.errors import LocalMisuseError
from tests.cli_helpers import fabnode
from tests.node_process import running_node


@pytest.fixture
def fresh_logging() -> Iterator[None]:
    """configure_logging changes the process's loggers: put them back afterwards."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in OUR_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(root_level)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def log_lines(
    monkeypatch: pytest.MonkeyPatch, log_format: str | None, env: dict[str, str]
) -> list[str]:
    for name in ("FABNODE_LOG_FORMAT", "FABNODE_LOG_LEVEL", "JOURNAL_STREAM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    logging.getLogger().handlers.clear()
    out = io.StringIO()
    configure_logging(log_format, out)
    log = logging.getLogger("node.test")
    log.info("dialled %s", "peer-a")
    log.warning("peer %s: %s", "peer-b", "sync.refused")
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        log.exception("storage job failed")
    logging.getLogger("libp2p.somewhere").info("not ours: below WARNING")
    return out.getvalue().splitlines()


@pytest.mark.usefixtures("fresh_logging")
def test_json_lines_each_parse_with_the_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = log_lines(monkeypatch, "json", {"FABNODE_LOG_LEVEL": "info"})
    records = [json.loads(line) for line in lines]
    assert [(r["level"], r["logger"], r["message"]) for r in records] == [
        ("INFO", "node.test", "dialled peer-a"),
        ("WARNING", "node.test", "peer peer-b: sync.refused"),
        ("ERROR", "node.test", "storage job failed"),
    ]
    assert all(r["ts"].endswith("Z") and "T" in r["ts"] for r in records)
    assert "exception" not in records[0]
    assert "ValueError: boom\nsecond line" in records[2]["exception"]
    assert "Traceback" in records[2]["exception"]


@pytest.mark.usefixtures("fresh_logging")
def test_the_environment_chooses_json_and_text_stays_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    as_json = log_lines(monkeypatch, None, {"FABNODE_LOG_FORMAT": "json"})
    assert json.loads(as_json[0])["level"] == "WARNING"
    as_text = log_lines(monkeypatch, None, {})
    assert as_text[0].split(" ", 3)[2:] == ["WARNING", "node.test: peer peer-b: sync.refused"]
    assert as_text[0][:4].isdigit()  # a timestamp first


@pytest.mark.usefixtures("fresh_logging")
def test_unknown_format_or_level_is_misuse(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LocalMisuseError) as bad_format:
        log_lines(monkeypatch, None, {"FABNODE_LOG_FORMAT": "xml"})
    assert bad_format.value.code == "misuse.bad-argument"
    with pytest.raises(LocalMisuseError) as bad_level:
        log_lines(monkeypatch, "json", {"FABNODE_LOG_LEVEL": "LOUD"})
    assert bad_level.value.code == "misuse.bad-argument"


@pytest.mark.usefixtures("fresh_logging")
def test_on_the_journal_stream_lines_carry_a_priority_and_no_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with (tmp_path / "journal").open("w+") as stream:
        st = os.fstat(stream.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        assert is_journal_stream(stream)
        logging.getLogger().handlers.clear()
        configure_logging("text", stream)
        logging.getLogger("node.test").warning("disk full")
        logging.getLogger().handlers.clear()
        configure_logging("json", stream)
        logging.getLogger("ledger.x").error("bad")
        stream.seek(0)
        text_line, json_line = stream.read().splitlines()[:2]
    assert text_line == "<4>WARNING node.test: disk full"
    assert json_line.startswith("<3>{") and json.loads(json_line[3:])["logger"] == "ledger.x"


def test_an_inherited_journal_variable_is_not_trusted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A child whose stderr was redirected still sees JOURNAL_STREAM: its lines go to a
    file, not to journald, and keep their timestamps."""
    monkeypatch.setenv("JOURNAL_STREAM", "1:2")
    with (tmp_path / "file").open("w") as stream:
        assert not is_journal_stream(stream)
    assert not is_journal_stream(io.StringIO())


@pytest.mark.integration
def test_a_running_node_logs_json_lines(tmp_path: Path) -> None:
    """`fabnode run --log-format json`, made to warn at once (it asks for more free disk
    than there is): every line it writes on stderr is one JSON object."""
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    huge_mib = str(1 << 40)
    with running_node(home, "--log-format", "json", "--min-free-mib", huge_mib) as (proc, _):
        pass
    assert proc.returncode == 0
    written = Path(str(home) + "-node.log").read_text().splitlines()
    lines = [line for line in written if not line.startswith("--- fabnode run")]
    records = [json.loads(line) for line in lines]
    assert {"ts", "level", "logger", "message"} <= set(records[0])
    warnings = [r for r in records if r["level"] == "WARNING" and r["logger"] == "node.daemon"]
    assert warnings and "disk" in warnings[0]["message"]
