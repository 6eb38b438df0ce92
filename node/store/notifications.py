"""Notification settings and the notification store of a home (README "Notifications").

- `notify.json` (0600: it holds the SMTP password and the webhook secrets) holds the
  `NotifySettings`: which kinds, the radius of "jobs near me", the language of the
  notification texts and e-mails (node.i18n; not the node process's locale), the SMTP
  server and the webhooks. `check_settings` is the one validation, used by the API, the CLI and (its
  rules mirrored) the page; each refusal is a LocalMisuseError naming its `field`.
  `public_json` is what leaves the node: secrets become `*_set` flags.
- `notifications.sqlite3`: the last `MAX_NOTIFICATIONS` notifications (read or not),
  deduplicated by key, and the last `MAX_DELIVERIES` delivery attempts. One
  connection behind a lock, used from worker threads (never from the trio loop).

What a notification says is decided in node.ops.notifications; its deliveries in
node.runtime.notifications. Nothing here carries sealed content: rows hold titles,
short texts and links only.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from node.i18n import SOURCE_LANGUAGE, is_language, languages
from protocol.errors import LocalMisuseError

SETTINGS_FILE: Final = "notify.json"
STORE_FILE: Final = "notifications.sqlite3"
MAX_NOTIFICATIONS: Final = 1000
MAX_DELIVERIES: Final = 500
MAX_WEBHOOKS: Final = 8
MAX_RECIPIENTS: Final = 16
MAX_RADIUS_KM: Final = 20_038
MIN_SECRET_CHARS: Final = 16
#: Every kind of notification (node.ops.notifications says when each is made).
KINDS: Final = (
    "job-near",
    "job-bid",
    "job-counter",
    "job-award",
    "job-step",
    "job-message",
    "proposal-open",
    "proposal-closing",
    "application",
    "fork",
)
Kind = Literal[
    "job-near",
    "job-bid",
    "job-counter",
    "job-award",
    "job-step",
    "job-message",
    "proposal-open",
    "proposal-closing",
    "application",
    "fork",
]
_ALL_KINDS: Final[tuple[Kind, ...]] = KINDS
# Whole-text grammars: always `fullmatch` (a `$` would let "host\n" through, specs/0001 §8).
_EMAIL = re.compile(r"[^@\s<>,;:\"]{1,64}@[A-Za-z0-9.-]{1,253}")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


class SmtpSettings(BaseModel):
    """The operator's SMTP server: `ssl` (implicit TLS, usually 465), `starttls`
    (usually 587) or `none` (loopback relays only); login when `user` is set."""

    model_config = ConfigDict(extra="forbid")
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "starttls"
    user: str | None = Field(default=None, max_length=256)
    #: Write only: None in a PUT keeps the stored one, "" removes it.
    password: str | None = Field(default=None, max_length=1024)
    from_addr: str = Field(min_length=3, max_length=320)
    to: list[str] = Field(min_length=1, max_length=MAX_RECIPIENTS)


class WebhookSettings(BaseModel):
    """A receiver: its http(s) URL, the HMAC-SHA256 secret (GitHub's scheme) and the
    kinds it is sent (`events`; empty: every kind the settings choose)."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=2048)
    #: Write only: None in a PUT keeps the stored secret of the same URL.
    secret: str | None = Field(default=None, max_length=256)
    events: list[Kind] = Field(default_factory=list, max_length=len(KINDS))


class NotifySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kinds: list[Kind] = Field(default_factory=lambda: list(_ALL_KINDS), max_length=len(KINDS))
    radius_km: int = Field(default=50, ge=1, le=MAX_RADIUS_KM)
    #: The language notifications are written in (a catalog's, `en`, `es`, `fr`, `de`);
    #: None in a PUT keeps the stored one; stored settings name one (`en` at first).
    language: str | None = Field(default=None, min_length=2, max_length=35)
    smtp: SmtpSettings | None = None
    webhooks: list[WebhookSettings] = Field(default_factory=list, max_length=MAX_WEBHOOKS)


def _refuse(code: str, field: str, message: str) -> LocalMisuseError:
    return LocalMisuseError(code, f"{field}: {message}", field=field)


def check_settings(new: NotifySettings, old: NotifySettings | None = None) -> NotifySettings:
    """`new` with the secrets it leaves out taken from `old`, or raise
    misuse.bad-webhook-url, misuse.bad-email-address or misuse.bad-notify-setting,
    each with the `field` at fault (the page shows it beside that field)."""
    old = old or NotifySettings()
    language = new.language or old.language or SOURCE_LANGUAGE
    if not is_language(language):
        known = ", ".join(languages())
        why = f"no catalog for {language!r} (one of {known})"
        raise _refuse("misuse.bad-notify-setting", "language", why)
    smtp = new.smtp
    if smtp is not None:
        if not _HOST.fullmatch(smtp.host):
            raise _refuse("misuse.bad-notify-setting", "smtp.host", "not a host name")
        for field, value in [("smtp.from_addr", smtp.from_addr)] + [
            (f"smtp.to.{i}", a) for i, a in enumerate(smtp.to)
        ]:
            if not _EMAIL.fullmatch(value):
                raise _refuse("misuse.bad-email-address", field, f"{value!r} is no e-mail address")
        if smtp.user is not None and smtp.security == "none":
            raise _refuse(
                "misuse.bad-notify-setting", "smtp.security", "a login needs ssl or starttls"
            )
        if smtp.password is None and old.smtp is not None:
            smtp = smtp.model_copy(update={"password": old.smtp.password})
        elif smtp.password == "":
            smtp = smtp.model_copy(update={"password": None})
    hooks = []
    kept = {w.url: w.secret for w in old.webhooks}
    for i, hook in enumerate(new.webhooks):
        parts = urlsplit(hook.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _refuse("misuse.bad-webhook-url", f"webhooks.{i}.url", "not an http(s) URL")
        secret = hook.secret if hook.secret is not None else kept.get(hook.url)
        if secret is None or len(secret) < MIN_SECRET_CHARS:
            raise _refuse(
                "misuse.bad-notify-setting",
                f"webhooks.{i}.secret",
                f"a secret of at least {MIN_SECRET_CHARS} characters is needed",
            )
        events = [k for k in KINDS if k in hook.events]
        hooks.append(WebhookSettings(url=hook.url, secret=secret, events=events))
    if len({h.url for h in hooks}) != len(hooks):
        raise _refuse("misuse.bad-notify-setting", "webhooks", "a URL is listed twice")
    kinds = [k for k in KINDS if k in new.kinds]
    return NotifySettings(
        kinds=kinds, radius_km=new.radius_km, language=language, smtp=smtp, webhooks=hooks
    )


def public_json(settings: NotifySettings) -> dict[str, Any]:
    """The settings as they leave the node: no password, no secret, only whether set."""
    out = settings.model_dump(exclude={"smtp": {"password"}, "webhooks": {"__all__": {"secret"}}})
    out["language"] = settings.language or SOURCE_LANGUAGE
    if settings.smtp is not None:
        out["smtp"]["password_set"] = bool(settings.smtp.password)
    for hook, public in zip(settings.webhooks, out["webhooks"], strict=True):
        public["secret_set"] = bool(hook.secret)
    return out


def load_settings(home: Path) -> NotifySettings:
    try:
        text = (home / SETTINGS_FILE).read_text()
    except FileNotFoundError:
        return NotifySettings()
    try:
        return NotifySettings.model_validate_json(text)
    except ValueError as e:
        raise LocalMisuseError("misuse.bad-home", f"{SETTINGS_FILE} is damaged: {e}") from e


def save_settings(home: Path, settings: NotifySettings) -> None:
    """Write notify.json 0600 (created so, never widened), replaced atomically."""
    tmp = home / (SETTINGS_FILE + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(settings.model_dump(), indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(home / SETTINGS_FILE)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    link TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notification INTEGER NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
"""
_COLUMNS = "id, key, kind, title, text, link, created_ms, read"


class NotificationStore:
    """`notifications.sqlite3`: bounded, thread-safe (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise LocalMisuseError("misuse.bad-home", f"{path.name}: {e}") from e
        os.chmod(path, 0o600)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def add(self, key: str, kind: str, title: str, text: str, link: str, at_ms: int) -> Any:
        """The new notification's row, or None if `key` was notified before."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO notifications (key, kind, title, text, link, created_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, kind, title, text, link, at_ms),
            )
            if cur.rowcount == 0:
                return None
            self._conn.execute(
                "DELETE FROM notifications WHERE id <= ?",
                ((cur.lastrowid or 0) - MAX_NOTIFICATIONS,),
            )
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM notifications WHERE id = ?", (cur.lastrowid,)
            ).fetchone()
        return _row(row)

    def known(self, key: str) -> bool:
        with self._lock:
            found = self._conn.execute("SELECT 1 FROM notifications WHERE key = ?", (key,))
            return found.fetchone() is not None

    def listing(self, limit: int = 100, unread_only: bool = False) -> list[dict[str, Any]]:
        where = "WHERE read = 0" if unread_only else ""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM notifications {where} ORDER BY id DESC LIMIT ?",
                (max(1, min(limit, MAX_NOTIFICATIONS)),),
            ).fetchall()
        return [_row(r) for r in rows]

    def unread(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM notifications WHERE read = 0")
                       .fetchone()[0])  # fmt: skip

    def mark_read(self, notification: int | None) -> int:
        """Mark one notification (None: all) read; how many changed. misuse.unknown-
        notification if `notification` is no row."""
        with self._lock:
            if notification is None:
                return self._conn.execute(
                    "UPDATE notifications SET read = 1 WHERE read = 0"
                ).rowcount
            cur = self._conn.execute(
                "UPDATE notifications SET read = 1 WHERE id = ?", (notification,)
            )
        if cur.rowcount == 0:
            raise LocalMisuseError("misuse.unknown-notification", f"no notification {notification}")
        return 1

    def log_delivery(
        self,
        notification: int,
        channel: str,
        target: str,
        attempt: int,
        outcome: str,
        detail: str,
        at_ms: int,
    ) -> None:
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO deliveries (notification, channel, target, attempt, outcome, detail,"
                " at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (notification, channel, target, attempt, outcome, detail[:500], at_ms),
            )
            self._conn.execute(
                "DELETE FROM deliveries WHERE id <= ?", ((cur.lastrowid or 0) - MAX_DELIVERIES,)
            )

    def deliveries(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, notification, channel, target, attempt, outcome, detail, at_ms"
                " FROM deliveries ORDER BY id DESC LIMIT ?",
                (max(1, min(limit, MAX_DELIVERIES)),),
            ).fetchall()
        names = ("id", "notification", "channel", "target", "attempt", "outcome", "detail", "at_ms")
        return [dict(zip(names, r, strict=True)) for r in rows]


def _row(row: Any) -> dict[str, Any]:
    names = ("id", "key", "kind", "title", "text", "link", "created_ms", "read")
    out = dict(zip(names, row, strict=True))
    out["read"] = bool(out["read"])
    return out
