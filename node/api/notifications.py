"""The notification routes of the local API, under /api/v1/notifications (README
"Notifications"; node.runtime.notifications).

- `GET /api/v1/notifications?limit=&unread=`: the newest notifications and the unread
  count (the badge);
- `POST /api/v1/notifications/{id}/read`, `POST /api/v1/notifications/read`: mark one,
  or all, read (each publishes the new unread count on the event stream);
- `GET /api/v1/notifications/settings`, `PUT` the same: the settings, secrets shown
  only as `password_set` / `secret_set`; a PUT that leaves a password or secret out
  keeps the stored one. Refusals: misuse.bad-webhook-url, misuse.bad-email-address,
  misuse.bad-notify-setting (each with `field`), or decode.bad-request for a body that
  does not match the document;
- `GET /api/v1/notifications/deliveries`: the delivery log (last attempts) and each
  outbox's counts.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from node.runtime.notifications import Notifier
from node.store.notifications import NotifySettings


def router(notifier: Notifier) -> APIRouter:
    api = APIRouter(prefix="/api/v1/notifications")

    @api.get("")
    async def listing(limit: int = 100, unread: bool = False) -> dict[str, Any]:
        return await notifier.listing(limit, unread)

    @api.post("/read")
    async def read_all() -> dict[str, Any]:
        return await notifier.mark_read(None)

    @api.post("/{notification}/read")
    async def read_one(notification: int) -> dict[str, Any]:
        return await notifier.mark_read(notification)

    @api.get("/settings")
    async def settings() -> dict[str, Any]:
        return notifier.settings_json()

    @api.put("/settings")
    async def set_settings(body: NotifySettings) -> dict[str, Any]:
        return await notifier.update_settings(body)

    @api.get("/deliveries")
    async def deliveries(limit: int = 100) -> dict[str, Any]:
        return await notifier.deliveries(limit)

    return api
