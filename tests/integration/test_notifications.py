"""Notifications on real nodes, delivered to real servers (README "Notifications").

A customer and a lab, each a `fabnode run` process. A real SMTP server (aiosmtpd on
loopback, STARTTLS with a self-signed certificate made here, login required; the nodes
trust the certificate through SSL_CERT_FILE) and a real HTTP receiver (http.server in a
thread) receive the e-mail and the signed webhook for a bid (at the customer's node)
and an award (at the lab's, whose notifications are set to Spanish while its process
runs in a German locale: the setting decides, README "Languages"). Then the
customer's receivers go silent or away: the deliveries are retried and logged, and the
node keeps answering at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from protocol.errors import CommonsError
from tests.cli_helpers import fabnode
from tests.integration.test_jobs import advert, advertise_offline, init, open_near
from tests.node_process import api, running_node, wait_until

pytestmark = pytest.mark.integration

SECRET = "a-webhook-secret-of-some-length"
USER, PASSWORD = "fablab", "correct horse"
BERLIN = "52.52,13.405"
LOOPBACK = ipaddress.ip_address("127.0.0.1")
FTP = {"webhooks": [{"url": "ftp://127.0.0.1/x", "secret": SECRET}]}
BAD_FROM = {"smtp": {"host": "x", "from_addr": "nope", "to": ["a@b.c"]}}
SHORT_SECRET = {"webhooks": [{"url": "http://127.0.0.1/x", "secret": "short"}]}


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(LOOPBACK)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Mailbox:
    """aiosmtpd's handler: keeps every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(folder: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    import ssl  # noqa: PLC0415

    cert, key = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        authenticator=login, auth_required=True,
    )  # fmt: skip
    controller.start()
    try:
        yield box, port, cert
    finally:
        controller.stop()


@contextmanager
def http_receiver() -> Iterator[tuple[list[tuple[dict[str, str], bytes]], str]]:
    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def verified(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-hub-signature-256"], want)
    event: dict[str, Any] = json.loads(body)
    return event


def configure(
    home: Path, tmp: Path, smtp_port: int, hook: str, language: str = "en"
) -> dict[str, Any]:
    (tmp / "pw").write_text(PASSWORD + "\n")
    (tmp / "secret").write_text(SECRET + "\n")
    status, out = fabnode(
        "notify", "set", "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port),
        "--smtp-security", "starttls", "--smtp-user", USER, "--smtp-password-file",
        str(tmp / "pw"), "--smtp-from", "node@lab.example", "--smtp-to", "ops@lab.example",
        "--webhook", hook, "--webhook-secret-file", str(tmp / "secret"),
        "--language", language, home=home,
    )  # fmt: skip
    assert status == 0, out
    return dict(out)


def subject(mail: Message) -> str:
    """The Subject header decoded (RFC 2047: a Spanish subject travels encoded)."""
    return str(make_header(decode_header(mail["Subject"])))


def text_of(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(mail.get_content_charset() or "ascii").replace("\r\n", "\n")


def kinds_of(home: Path) -> list[str]:
    return [n["kind"] for n in api(home, "GET", "/api/v1/notifications")["notifications"]]


def test_a_bid_and_an_award_by_email_and_webhook_and_receivers_that_are_down(
    tmp_path: Path,
) -> None:
    customer, lab = init(tmp_path, "customer"), init(tmp_path, "lab")
    advertise_offline(lab, advert("Lab A", 52_530_000, 13_410_000, 250, 20))
    with ExitStack() as stack:
        box, smtp_port, cert = stack.enter_context(smtp_server(tmp_path))
        hooks, hook_url = stack.enter_context(http_receiver())
        env = {"SSL_CERT_FILE": str(cert)}
        for home, language in ((customer, "en"), (lab, "es")):  # on the home's files
            out = configure(home, tmp_path, smtp_port, hook_url, language)
            assert out["language"] == language
            assert out["smtp"]["password_set"] and "password" not in out["smtp"]
            assert (home / "notify.json").stat().st_mode & 0o777 == 0o600
            assert PASSWORD not in json.dumps(out) and SECRET not in json.dumps(out)
        _, first = stack.enter_context(running_node(customer, env=env))
        german = {**env, "LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8"}  # not the setting
        stack.enter_context(running_node(lab, "--bootstrap", first["listen"][0], env=german))

        deadline = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
        offered = fabnode("job", "offer", "--title", "Ten brackets", "--sealed",
                          "--size-mm", "40", "30", "10", "--volume-mm3", "4000",
                          "--process", "3dp-fdm", "--material", "PETG", "--deadline", deadline,
                          "--at", BERLIN, "--radius-km", "50", home=customer)  # fmt: skip
        assert offered[0] == 0, offered
        job = offered[1]["entry_id"]
        wait_until("the offer at the lab", lambda: open_near(lab, job))
        wait_until("job-near at the lab", lambda: "job-near" in kinds_of(lab))
        ready = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
        status, bid = fabnode(
            "job", "bid", job, "--price-minor", "9000", "--ready", ready, home=lab
        )
        assert status == 0, bid

        # The bid: a notification at the customer, its e-mail and its webhook.
        wait_until("job-bid at the customer", lambda: "job-bid" in kinds_of(customer))
        wait_until("the bid's e-mail", lambda: any("New bid" in subject(m) for m in box.messages))
        mail = next(m for m in box.messages if "New bid" in subject(m))
        assert mail["To"] == "ops@lab.example" and mail.get_content_type() == "text/plain"
        assert "Ten brackets" in subject(mail) and "/#/mine" in text_of(mail)
        assert "Open it on your node: " in text_of(mail) and mail["Content-Language"] == "en"
        wait_until("the bid's webhook", lambda: any(b"job-bid" in body for _, body in hooks))
        headers, body = next((h, b) for h, b in hooks if b"job-bid" in b)
        event = verified(headers, body)
        assert event["event"] == "job-bid" and event["link"].endswith("/#/mine")

        # The award: at the lab, by both channels, in the lab's language (Spanish).
        status, _ = fabnode("job", "award", job, bid["entry_id"], home=customer)
        assert status == 0
        wait_until("the award's webhook", lambda: any(b"job-award" in b for _, b in hooks))
        award = verified(*next((h, b) for h, b in hooks if b"job-award" in b))
        assert award["title"] == "Trabajo adjudicado a ti: Ten brackets"
        assert award["text"].startswith("de ")  # "by <the customer>"
        wait_until(
            "the award's e-mail", lambda: any("adjudicado" in subject(m) for m in box.messages)
        )
        spanish = next(m for m in box.messages if "adjudicado" in subject(m))
        assert subject(spanish) == "[Fab Commons] Trabajo adjudicado a ti: Ten brackets"
        assert spanish["Content-Language"] == "es"
        letter = text_of(spanish)
        assert "Notificado por tu nodo Fab Commons el " in letter
        assert re.search(r"Ábrelo en tu nodo: http://127\.0\.0\.1:\d+/#/mine$", letter, re.M)
        listed = api(lab, "GET", "/api/v1/notifications")["notifications"]
        assert any(n["title"] == "Trabajo adjudicado a ti: Ten brackets" for n in listed)
        log = api(customer, "GET", "/api/v1/notifications/deliveries")["deliveries"]
        assert {(d["channel"], d["outcome"]) for d in log} == {
            ("email", "sent"),
            ("webhook", "sent"),
        }

        # Validation: typed errors, field named; nothing changed.
        for bad, code in (
            (FTP, "misuse.bad-webhook-url"),
            (BAD_FROM, "misuse.bad-email-address"),
            (SHORT_SECRET, "misuse.bad-notify-setting"),
            ({"radius_km": 0}, "decode.bad-request"),
        ):  # fmt: skip
            with pytest.raises(CommonsError) as caught:
                api(customer, "PUT", "/api/v1/notifications/settings", bad)
            assert caught.value.code == code
        status, out = fabnode("notify", "set", "--webhook", "ftp://x/y", home=customer)
        assert status == 1 and out["error"]["code"] == "misuse.bad-webhook-url"

        # Receivers that are down: an SMTP host that never answers, a webhook nobody
        # listens on. Deliveries are retried and logged; the node answers at once.
        silent = socket.create_server(("127.0.0.1", 0))  # accepts, never speaks
        stack.callback(silent.close)
        gone = f"http://127.0.0.1:{free_port()}/hook"
        settings = api(customer, "GET", "/api/v1/notifications/settings")
        settings["smtp"]["port"] = silent.getsockname()[1]
        settings["smtp"].pop("password_set")
        settings["webhooks"] = [{"url": gone, "secret": SECRET}]
        api(customer, "PUT", "/api/v1/notifications/settings", settings)
        wait_until("the award at the lab", lambda: "job-award" in kinds_of(lab))
        status, out = fabnode("job", "start", job, home=lab)  # a step: notified at the customer
        assert status == 0, out

        def attempts(channel: str, outcome: str) -> list[Any]:
            rows = api(customer, "GET", "/api/v1/notifications/deliveries")["deliveries"]
            return [d for d in rows if d["channel"] == channel and d["outcome"] == outcome]

        wait_until("two failed webhook attempts", lambda: len(attempts("webhook", "failed")) >= 2)
        for _ in range(5):
            started = time.monotonic()
            api(customer, "GET", "/api/v1/status")
            assert time.monotonic() - started < 1.0
        wait_until("the silent SMTP server's timeout", lambda: attempts("email", "failed"), 30)
        assert api(customer, "GET", "/api/v1/notifications")["unread"] >= 2
