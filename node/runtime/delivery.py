"""Deliveries of a notification: e-mail over SMTP and signed webhooks (README
"Notifications"), and the outbox that retries them.

`send_email` and `post_webhook` are blocking, bounded by `timeout_s` per socket
operation, and run in worker threads; each raises `DeliveryError` with a short reason.
A webhook body is JSON, signed as GitHub signs its webhooks: `X-Hub-Signature-256:
sha256=<hex HMAC-SHA256 of the raw body with the secret>` (`signature`).

`Outbox` holds one channel's pending deliveries (at most `MAX_PENDING`, retries
included; beyond it a delivery is dropped and logged), sends the due ones one at a
time and retries a failure after `BACKOFF_S` · 2^(attempt-1) (capped at `MAX_BACKOFF_S`)
up to `MAX_ATTEMPTS`. Every attempt is logged. A receiver that is down only delays its
channel: the node's loop never waits on a socket (trio.to_thread, abandoned on
cancel).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Final

import trio

from node.i18n import Translator, translator
from node.store.notifications import SmtpSettings

MAX_PENDING: Final = 256
MAX_ATTEMPTS: Final = 8
BACKOFF_S: Final = 1.0
MAX_BACKOFF_S: Final = 600.0
TIMEOUT_S: Final = 10.0
USER_AGENT: Final = "FabCommons-Notifier/1"


class DeliveryError(Exception):
    """A delivery that did not go through; the message says why (for the log)."""


def signature(secret: str, body: bytes) -> str:
    """GitHub's `X-Hub-Signature-256` value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(row: dict[str, Any], link: str, node: str) -> bytes:
    event = {
        "event": row["kind"],
        "id": row["id"],
        "title": row["title"],
        "text": row["text"],
        "link": link,
        "created_ms": row["created_ms"],
        "node": node,
    }
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


def post_webhook(url: str, secret: str, body: bytes, event: str, timeout_s: float) -> None:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", USER_AGENT)
    request.add_header("X-Hub-Signature-256", signature(secret, body))
    request.add_header("X-FabCommons-Event", event)
    request.add_header("X-FabCommons-Delivery", str(uuid.uuid4()))
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read(4096)
    except urllib.error.HTTPError as e:
        raise DeliveryError(f"HTTP {e.code}") from e
    except (OSError, ValueError) as e:  # refused, timed out, TLS, bad address
        raise DeliveryError(f"{type(e).__name__}: {e}") from e


def email_message(
    smtp: SmtpSettings, row: dict[str, Any], link: str, tr: Translator | None = None
) -> EmailMessage:
    """A plain-text message with the link to the page, in `tr`'s language (the one the
    notification settings name; English when None), its date in that locale's format."""
    tr = tr or translator()
    message = EmailMessage()
    message["Subject"] = f"[Fab Commons] {row['title']}"
    message["From"] = smtp.from_addr
    message["To"] = ", ".join(smtp.to)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="fabcommons.invalid")
    when = tr.date_time(int(row["created_ms"]))
    body = [
        row["title"],
        row["text"],
        "",
        tr.gettext("Notified by your Fab Commons node on {date}.").format(date=when),
        tr.gettext("Open it on your node: {link}").format(link=link),
    ]
    message.set_content("\n".join(body) + "\n")
    message["Content-Language"] = tr.language  # after set_content, which resets Content-*
    return message


def send_email(smtp: SmtpSettings, message: EmailMessage, timeout_s: float) -> None:
    """Send over SSL, STARTTLS or plain; log in when a user is set. TLS verifies the
    server's certificate against the system's store (SSL_CERT_FILE to add a private CA)."""
    context = ssl.create_default_context()
    try:
        client: smtplib.SMTP
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout_s, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout_s)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=context)
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as e:
        raise DeliveryError(f"{type(e).__name__}: {e}") from e


#: (channel, target, attempt, outcome, detail) of one attempt, for the delivery log.
LogAttempt = Callable[[int, str, str, int, str, str], Awaitable[None]]


@dataclass
class Delivery:
    notification: int
    target: str
    send: Callable[[], None]  # blocking; raises DeliveryError
    attempt: int = 0
    due_s: float = 0.0


@dataclass
class Outbox:
    channel: str
    log: LogAttempt
    backoff_s: float = BACKOFF_S
    max_attempts: int = MAX_ATTEMPTS
    pending: list[Delivery] = field(default_factory=list)
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    _wake: trio.Event = field(default_factory=trio.Event)

    async def put(self, delivery: Delivery) -> None:
        if len(self.pending) >= MAX_PENDING:
            self.dropped += 1
            await self.log(delivery.notification, self.channel, delivery.target, 0, "dropped",
                           "the outbox is full")  # fmt: skip
            return
        delivery.due_s = trio.current_time()
        self.pending.append(delivery)
        self._wake.set()

    async def run(self) -> None:
        while True:
            now = trio.current_time()
            due = [d for d in self.pending if d.due_s <= now]
            if not due:
                self._wake = trio.Event()
                later = min((d.due_s for d in self.pending), default=now + 3600.0)
                with trio.move_on_at(later):
                    await self._wake.wait()
                continue
            delivery = min(due, key=lambda d: d.due_s)
            self.pending.remove(delivery)
            await self._attempt(delivery)

    async def _attempt(self, d: Delivery) -> None:
        d.attempt += 1
        try:
            await trio.to_thread.run_sync(d.send, abandon_on_cancel=True)
        except DeliveryError as e:
            if d.attempt >= self.max_attempts:
                self.failed += 1
                await self.log(d.notification, self.channel, d.target, d.attempt, "gave-up", str(e))
                return
            wait_s = min(self.backoff_s * 2 ** (d.attempt - 1), MAX_BACKOFF_S)
            await self.log(d.notification, self.channel, d.target, d.attempt, "failed",
                           f"{e}; next attempt in {wait_s:g} s")  # fmt: skip
            d.due_s = trio.current_time() + wait_s
            self.pending.append(d)
            return
        self.sent += 1
        await self.log(d.notification, self.channel, d.target, d.attempt, "sent", "")

    def statistics(self) -> dict[str, int]:
        return {
            "pending": len(self.pending),
            "sent": self.sent,
            "failed": self.failed,
            "dropped": self.dropped,
        }
