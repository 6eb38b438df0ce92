"""The node's log on stderr: one line per record, as text or as JSON (README "Running
as a service").

- `text` (the default): `TIME LEVEL LOGGER: MESSAGE`, a traceback below it.
- `json` (`fabnode run --log-format json`, or FABNODE_LOG_FORMAT=json): one JSON object
  per line, `{"ts", "level", "logger", "message"}` and `"exception"` (the traceback
  text) when there is one; `ts` is UTC, ISO 8601 with milliseconds. A line is never
  split, so a collector can parse each line on its own.
- Under systemd (stderr is the stream named by $JOURNAL_STREAM) every line starts with
  its syslog priority, `<4>` for a WARNING, which journald strips and records as the
  entry's PRIORITY (`journalctl -p warning` works); text lines then carry no time, as
  the journal stamps each entry itself. JSON lines keep `ts`: each stays
  self-contained wherever it is shipped.

Levels: WARNING and up from every library; the project's own packages (node, ledger)
from FABNODE_LOG_LEVEL (default WARNING; INFO adds connections, dials and skipped work).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Final, TextIO

from protocol.errors import LocalMisuseError

FORMATS: Final = ("text", "json")
LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
ENV_FORMAT: Final = "FABNODE_LOG_FORMAT"
ENV_LEVEL: Final = "FABNODE_LOG_LEVEL"
OUR_LOGGERS: Final = ("node", "ledger")

#: sd-daemon(3) priority prefixes by logging level.
_SYSLOG_PRIORITY: Final = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, str] = {
            "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line)


class JournalPrefix(logging.Formatter):
    """Another formatter's line, prefixed with the record's syslog priority."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        priority = _SYSLOG_PRIORITY.get(record.levelno, 6)
        # a multi-line record (a text traceback) stays one journal entry per line;
        # each continuation keeps the record's priority
        return "\n".join(f"<{priority}>{part}" for part in self.inner.format(record).split("\n"))


def is_journal_stream(stream: TextIO) -> bool:
    """True when `stream` is the journal stream systemd gave us ($JOURNAL_STREAM is
    "DEVICE:INODE" of it; a child whose stderr was redirected inherits the variable,
    so the file itself is compared, as systemd.exec(5) asks)."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


def formatter_for(log_format: str, *, journal: bool) -> logging.Formatter:
    if log_format == "json":
        inner: logging.Formatter = JsonFormatter()
    elif journal:
        inner = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    else:
        inner = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    return JournalPrefix(inner) if journal else inner


def configure_logging(log_format: str | None = None, stream: TextIO | None = None) -> None:
    """Send the log to `stream` (stderr) in `log_format`, else $FABNODE_LOG_FORMAT,
    else text; raise misuse.bad-argument for an unknown format or level."""
    chosen = (log_format or os.environ.get(ENV_FORMAT) or "text").lower()
    if chosen not in FORMATS:
        raise LocalMisuseError("misuse.bad-argument", f"{ENV_FORMAT} {chosen!r} is unknown")
    level = os.environ.get(ENV_LEVEL, "WARNING").upper()
    if level not in LEVELS:
        raise LocalMisuseError("misuse.bad-argument", f"{ENV_LEVEL} {level!r} is unknown")
    out = stream or sys.stderr
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter_for(chosen, journal=is_journal_stream(out)))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(level)
