"""The notification engine of a running node (README "Notifications").

- `CommitTap` is part of the ledger's commit hook (node.daemon): on the storage
  thread it keeps the entries of kinds the notifier judges and hands them to the loop
  (`TrioToken.run_sync_soon`, a bounded channel: when full, the batch is counted as
  dropped); it never blocks the storage thread.
- `Notifier.run` judges each batch on the storage thread (node.ops.notifications),
  every `TIMER_S` asks for the notices due by time (proposals closing, fork proofs),
  records the new ones (node.store.notifications: deduplicated, bounded), written in
  the language the settings name (node.i18n, never the process's locale), publishes a
  `notification` event with the unread count on the EventHub (the page's badge), and
  queues each for e-mail and for every webhook (node.runtime.delivery: bounded
  outboxes, backoff, a delivery log).

Guarantees: nothing here blocks the loop on a socket or on SQLite (worker threads);
a down SMTP server or webhook receiver only delays its own channel. Settings changed
through the API take effect for the next notification.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

import trio

from node.i18n import SOURCE_LANGUAGE, Translator, translator
from node.ops.context import LedgerContext
from node.ops.notifications import PREFIXES, Notice, due_notices, notices_for
from node.runtime.delivery import (
    TIMEOUT_S,
    Delivery,
    Outbox,
    email_message,
    post_webhook,
    send_email,
    webhook_body,
)
from node.runtime.events import EventHub
from node.runtime.service import LedgerRunner
from node.store.notifications import (
    NotificationStore,
    NotifySettings,
    check_settings,
    public_json,
    save_settings,
)
from protocol.entry import Entry
from protocol.ids import id_to_text

log = logging.getLogger(__name__)

#: Committed batches waiting to be judged; beyond it a batch is dropped (and counted).
FEED_BATCHES: Final = 256
#: How often the time-based notices are looked for (proposals closing, fork proofs).
TIMER_S: Final = 60.0


@dataclass
class CommitTap:
    """The notifier's part of the commit hook; `from_thread_committed` never blocks."""

    token: trio.lowlevel.TrioToken
    send: trio.MemorySendChannel[list[Entry]]
    dropped: int = 0

    def from_thread_committed(self, entries: Sequence[Entry]) -> None:
        kept = [e for e in entries if e.kind.startswith(PREFIXES)]
        if kept:
            with contextlib.suppress(trio.RunFinishedError):
                self.token.run_sync_soon(self._put, kept)

    def _put(self, kept: list[Entry]) -> None:
        try:
            self.send.send_nowait(kept)
        except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            self.dropped += len(kept)


def open_tap(
    token: trio.lowlevel.TrioToken,
) -> tuple[CommitTap, trio.MemoryReceiveChannel[list[Entry]]]:
    send, receive = trio.open_memory_channel[list[Entry]](FEED_BATCHES)
    return CommitTap(token, send), receive


@dataclass
class Notifier:
    """Built once by the composition root; `run` in the root nursery."""

    runner: LedgerRunner
    feed: trio.MemoryReceiveChannel[list[Entry]]
    store: NotificationStore
    hub: EventHub
    home: Path
    settings: NotifySettings
    link_base: str  # the dashboard's URL, for links in e-mails and webhooks
    timeout_s: float = TIMEOUT_S
    backoff_s: float = 1.0
    email: Outbox = field(init=False)
    webhooks: Outbox = field(init=False)

    def __post_init__(self) -> None:
        self.email = Outbox("email", self._log, self.backoff_s)
        self.webhooks = Outbox("webhook", self._log, self.backoff_s)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.email.run)
            nursery.start_soon(self.webhooks.run)
            nursery.start_soon(self._judge_batches)
            nursery.start_soon(self._every_timer)
            task_status.started()

    async def _judge_batches(self) -> None:
        async for first in self.feed:
            batch = first
            while len(batch) < 10_000:  # fold what else waits into one storage job
                try:
                    batch = batch + self.feed.receive_nowait()
                except trio.WouldBlock:
                    break
            radius = self.settings.radius_km
            await self._guarded(partial(_judged, batch, radius, self._translator()))

    async def _every_timer(self) -> None:
        while True:
            await self._guarded(partial(_due, self._translator()))
            await trio.sleep(TIMER_S)

    def _translator(self) -> Translator:
        """The language the settings name: never this process's locale."""
        return translator(self.settings.language or SOURCE_LANGUAGE)

    async def _guarded(self, judge: Any) -> None:
        """Judge and record; a failure is logged, never the node's end."""
        try:
            await self._record(await self.runner.on_ledger(judge))
        except Exception:  # a bug or a full disk: notifications wait, the node runs on
            log.exception("notifications: judging failed")

    async def _record(self, notices: list[Notice]) -> None:
        wanted = set(self.settings.kinds)
        for notice in notices:
            if notice.kind not in wanted:
                continue
            row = await trio.to_thread.run_sync(
                self.store.add, notice.key, notice.kind, notice.title, notice.text,
                notice.link, time.time_ns() // 1_000_000,
            )  # fmt: skip
            if row is None:
                continue  # notified before
            unread = await trio.to_thread.run_sync(self.store.unread)
            self.hub.publish("notification", {"notification": row, "unread": unread})
            await self._deliver(row)

    async def _deliver(self, row: dict[str, Any]) -> None:
        link = f"{self.link_base}/{row['link']}"
        smtp, timeout_s = self.settings.smtp, self.timeout_s
        if smtp is not None:
            message = email_message(smtp, row, link, self._translator())
            send = partial(send_email, smtp, message, timeout_s)
            await self.email.put(Delivery(row["id"], f"{smtp.host}:{smtp.port}", send))
        me = id_to_text(self.runner.ctx.identity.id)
        body = webhook_body(row, link, me)
        for hook in self.settings.webhooks:
            if hook.events and row["kind"] not in hook.events:
                continue  # this receiver asked for other kinds
            send = partial(post_webhook, hook.url, hook.secret or "", body, row["kind"], timeout_s)
            await self.webhooks.put(Delivery(row["id"], hook.url, send))

    async def _log(
        self, notification: int, channel: str, target: str, attempt: int, outcome: str, detail: str
    ) -> None:
        if outcome != "sent":
            log.warning("%s delivery to %s: %s %s", channel, target, outcome, detail)
        at_ms = time.time_ns() // 1_000_000
        await trio.to_thread.run_sync(
            self.store.log_delivery, notification, channel, target, attempt, outcome, detail, at_ms
        )
        # The page's delivery log follows live (a silent server shows as it times out).
        self.hub.publish(
            "delivery", {"notification": notification, "channel": channel, "outcome": outcome}
        )

    # -- what the API asks -----------------------------------------------------------
    def settings_json(self) -> dict[str, Any]:
        return public_json(self.settings)

    async def update_settings(self, new: NotifySettings) -> dict[str, Any]:
        checked = check_settings(new, self.settings)
        await trio.to_thread.run_sync(save_settings, self.home, checked)
        self.settings = checked
        return public_json(checked)

    async def listing(self, limit: int, unread_only: bool) -> dict[str, Any]:
        rows = await trio.to_thread.run_sync(self.store.listing, limit, unread_only)
        unread = await trio.to_thread.run_sync(self.store.unread)
        return {"unread": unread, "notifications": rows}

    async def mark_read(self, notification: int | None) -> dict[str, Any]:
        changed = await trio.to_thread.run_sync(self.store.mark_read, notification)
        unread = await trio.to_thread.run_sync(self.store.unread)
        self.hub.publish("notification", {"notification": None, "unread": unread})
        return {"changed": changed, "unread": unread}

    async def deliveries(self, limit: int) -> dict[str, Any]:
        rows = await trio.to_thread.run_sync(self.store.deliveries, limit)
        return {
            "deliveries": rows,
            "outboxes": {"email": self.email.statistics(), "webhook": self.webhooks.statistics()},
        }


def _judged(batch: list[Entry], radius_km: int, tr: Translator, ctx: LedgerContext) -> list[Notice]:
    return notices_for(ctx, batch, radius_km, tr)


def _due(tr: Translator, ctx: LedgerContext) -> list[Notice]:
    now_s = ctx.governance.now_s() if ctx.governance is not None else int(time.time())
    return due_notices(ctx, now_s, tr)
