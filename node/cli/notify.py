"""`fabnode notify show|set|list|read|log`: notifications (README "Notifications").

Through the running node when one runs on the home (its API), else on the home's
files: `notify.json` (0600) for the settings, `notifications.sqlite3` for the list.
`set` changes only what it is given; the SMTP password and webhook secrets are read
from files (`--smtp-password-file`, `--webhook-secret-file`), never from the command
line, and never printed back. Validation is the API's (node.store.notifications).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from node.cli.client import NodeClient
from node.i18n import N_, SOURCE_LANGUAGE, _, aligned, current, localized, ngettext
from node.store.home import MAX_KEY_FILE_BYTES, NodeHome
from node.store.notifications import (
    KINDS,
    STORE_FILE,
    NotificationStore,
    NotifySettings,
    check_settings,
    load_settings,
    public_json,
    save_settings,
)
from protocol.errors import LocalMisuseError

PREFIX = "/api/v1/notifications"


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    notify = sub.add_parser("notify", help=_("notifications")).add_subparsers(metavar="ACTION")
    p = notify.add_parser("show", parents=[common], help=_("the notification settings"))
    p.set_defaults(handler=cmd_show)
    p = notify.add_parser("set", parents=[common], help=_("change notification settings"))
    p.add_argument("--kinds", metavar="K,K", help=f"which kinds, of: {','.join(KINDS)}; or all")
    p.add_argument("--radius-km", type=int, metavar="N", help=_("radius of 'jobs near me'"))
    p.add_argument(
        "--language",
        metavar="LANG",
        help=_("the language of notification texts and e-mails (en, es, fr, de, ...)"),
    )
    p.add_argument("--smtp-host", metavar="HOST")
    p.add_argument("--smtp-port", type=int, metavar="N")
    p.add_argument("--smtp-security", choices=("ssl", "starttls", "none"))
    p.add_argument("--smtp-user", metavar="USER")
    p.add_argument("--smtp-password-file", type=Path, metavar="FILE")
    p.add_argument("--smtp-from", metavar="ADDRESS")
    p.add_argument("--smtp-to", action="append", metavar="ADDRESS", help=_("repeat for several"))
    p.add_argument("--no-smtp", action="store_true", help=_("stop sending e-mail"))
    p.add_argument("--webhook", action="append", metavar="URL", help=_("add a receiver"))
    p.add_argument("--webhook-secret-file", type=Path, metavar="FILE", help=_("its HMAC secret"))
    p.add_argument(
        "--webhook-events",
        metavar="KIND,...",
        help=_("the kinds the --webhook receivers are sent (default: every kind chosen)"),
    )
    p.add_argument("--remove-webhook", action="append", metavar="URL")
    p.set_defaults(handler=cmd_set)
    p = notify.add_parser("list", parents=[common], help=_("the newest notifications"))
    p.add_argument("--unread", action="store_true")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(handler=cmd_list)
    p = notify.add_parser("read", parents=[common], help=_("mark a notification (or all) read"))
    p.add_argument("id", nargs="?", type=int)
    p.set_defaults(handler=cmd_read)
    p = notify.add_parser("log", parents=[common], help=_("the delivery log (needs the node)"))
    p.set_defaults(handler=cmd_log)


def _client(args: argparse.Namespace) -> NodeClient | None:
    return NodeClient.discover(NodeHome(args.home))


def _settings_text(out: dict[str, Any]) -> str:
    smtp = out.get("smtp")
    tr = current()
    rows = [
        (_("kinds"), ", ".join(out["kinds"]) or _("(none)")),
        (_("radius"), f"{tr.number(out['radius_km'])} km"),
        (_("language"), out.get("language") or SOURCE_LANGUAGE),
    ]
    if smtp is None:
        rows.append((_("e-mail"), _("off")))
    else:
        login = _(", login {user}").format(user=smtp["user"]) if smtp.get("user") else ""
        text = _("{host}:{port} ({security}{login}) from {sender} to {recipients}")
        rows.append(
            (
                _("e-mail"),
                text.format(
                    host=smtp["host"],
                    port=smtp["port"],
                    security=smtp["security"],
                    login=login,
                    sender=smtp["from_addr"],
                    recipients=", ".join(smtp["to"]),
                ),
            )
        )
    for hook in out["webhooks"]:
        kinds = ", ".join(hook.get("events") or []) or _("every kind chosen")
        rows.append((_("webhook"), f"{hook['url']} ({kinds})"))
    return "\n".join(aligned(rows, min_width=9))


def cmd_show(args: argparse.Namespace) -> dict[str, Any]:
    client = _client(args)
    home = NodeHome(args.home).path
    out: dict[str, Any] = (
        client.call("GET", f"{PREFIX}/settings") if client else public_json(load_settings(home))
    )
    out["_text"] = _settings_text(out)
    return out


def _secret(path: Path) -> str:
    try:
        data = path.read_bytes()[: MAX_KEY_FILE_BYTES + 1]
    except OSError as e:
        raise localized(
            LocalMisuseError,
            "misuse.bad-argument",
            N_("cannot read {file}: {reason}"),
            file=path,
            reason=e.strerror,
        ) from e
    if len(data) > MAX_KEY_FILE_BYTES:
        raise localized(
            LocalMisuseError,
            "misuse.bad-argument",
            N_("{file} is too large for a secret"),
            file=path,
        )
    return data.decode(errors="replace").strip()


def changed(args: argparse.Namespace, current: dict[str, Any]) -> dict[str, Any]:
    """The settings with the command line's changes (secrets left out are kept)."""
    new = dict(current)
    if args.kinds is not None:
        new["kinds"] = (
            list(KINDS) if args.kinds == "all" else [k for k in args.kinds.split(",") if k]
        )
    if args.radius_km is not None:
        new["radius_km"] = args.radius_km
    if args.language is not None:
        new["language"] = args.language
    smtp = None if args.no_smtp else dict(current.get("smtp") or {})
    given = {
        "host": args.smtp_host, "port": args.smtp_port, "security": args.smtp_security,
        "user": args.smtp_user, "from_addr": args.smtp_from, "to": args.smtp_to,
    }  # fmt: skip
    if smtp is not None:
        smtp.update({k: v for k, v in given.items() if v is not None})
        smtp.pop("password_set", None)
        if args.smtp_password_file is not None:
            smtp["password"] = _secret(args.smtp_password_file)
    new["smtp"] = smtp or None
    hooks = [{"url": h["url"], "events": h.get("events", [])} for h in current.get("webhooks", [])]
    hooks = [h for h in hooks if h["url"] not in (args.remove_webhook or [])]
    secret = None if args.webhook_secret_file is None else _secret(args.webhook_secret_file)
    events = [k.strip() for k in (args.webhook_events or "").split(",") if k.strip()]
    for url in args.webhook or []:
        hook = {"url": url, "secret": secret, "events": events}
        hooks = [h for h in hooks if h["url"] != url] + [hook]
    new["webhooks"] = hooks
    return new


def cmd_set(args: argparse.Namespace) -> dict[str, Any]:
    client = _client(args)
    home = NodeHome(args.home).path
    if client is not None:
        current = client.call("GET", f"{PREFIX}/settings")
        out: dict[str, Any] = client.call("PUT", f"{PREFIX}/settings", changed(args, current))
    else:
        old = load_settings(home)
        try:
            new = NotifySettings.model_validate(changed(args, public_json(old)))
        except ValueError as e:
            raise LocalMisuseError("misuse.bad-notify-setting", str(e).splitlines()[0]) from e
        checked = check_settings(new, old)
        save_settings(home, checked)
        out = public_json(checked)
    out["_text"] = _settings_text(out)
    return out


def _store(args: argparse.Namespace) -> NotificationStore:
    return NotificationStore(NodeHome(args.home).path / STORE_FILE)


def cmd_list(args: argparse.Namespace) -> dict[str, Any]:
    client = _client(args)
    if client is not None:
        query = f"?limit={args.limit}&unread={'true' if args.unread else 'false'}"
        out: dict[str, Any] = client.call("GET", f"{PREFIX}{query}")
    else:
        store = _store(args)
        try:
            out = {
                "unread": store.unread(),
                "notifications": store.listing(args.limit, args.unread),
            }
        finally:
            store.close()
    rows = [
        f"{'•' if not n['read'] else ' '} {n['id']:>5}  {n['kind']:<16} {n['title']}  ({n['text']})"
        for n in out["notifications"]
    ]
    out["_text"] = "\n".join([_unread(out["unread"]), *rows])
    return out


def cmd_read(args: argparse.Namespace) -> dict[str, Any]:
    client = _client(args)
    path = f"{PREFIX}/read" if args.id is None else f"{PREFIX}/{args.id}/read"
    if client is not None:
        out: dict[str, Any] = client.call("POST", path, {})
    else:
        store = _store(args)
        try:
            out = {"changed": store.mark_read(args.id), "unread": store.unread()}
        finally:
            store.close()
    out["_text"] = _unread(out["unread"])
    return out


def _unread(n: int) -> str:
    return ngettext("{n} unread", "{n} unread", n).format(n=n)


def cmd_log(args: argparse.Namespace) -> dict[str, Any]:
    client = NodeClient.running(NodeHome(args.home), N_("the delivery log is the running node's"))
    out: dict[str, Any] = client.call("GET", f"{PREFIX}/deliveries")
    tr = current()
    attempt = _("attempt {n}: {outcome} {detail}")
    out["_text"] = "\n".join(
        f"{tr.date_time(d['at_ms'])}  {d['channel']:<7} {d['target']}  #{d['notification']} "
        + attempt.format(n=d["attempt"], outcome=d["outcome"], detail=d["detail"])
        for d in out["deliveries"]
    ) or _("no deliveries yet")
    return out
