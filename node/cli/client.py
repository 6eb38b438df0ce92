"""Talk to the running node of a home through its local API (stdlib HTTP only).

`NodeClient.discover(home)` returns a client when a node is running on that home
(its api.json names a live process), else None, and the CLI then works on the
home directly. Error bodies come back as the same typed errors, same codes.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from node.i18n import N_, localized
from node.store.home import NodeHome
from protocol.errors import CommonsError, LocalMisuseError, RemoteFaultError, error_for_code

TIMEOUT_S = 600
#: Bytes of a file sent at a time (`send_file`).
READ_BYTES = 1024 * 1024


class NodeClient:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    @classmethod
    def discover(cls, home: NodeHome) -> NodeClient | None:
        info = home.running_node_info()
        if info is None:
            return None
        return cls(str(info["url"]), home.api_token())

    @classmethod
    def running(cls, home: NodeHome, why: str = N_("no node is running on {home}")) -> NodeClient:
        """The running node's client, else misuse.node-not-running saying `why` (a
        message marked with N_, its {home} filled in) in the reader's language."""
        client = cls.discover(home)
        if client is None:
            raise localized(LocalMisuseError, "misuse.node-not-running", why, home=home.path)
        return client

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        return self._send(request)

    def send_file(self, method: str, path: str, file: Path) -> Any:
        """Send a file's bytes as the body, streamed in READ_BYTES pieces; the answer."""
        try:
            f = file.open("rb")
        except OSError as e:
            raise localized(
                LocalMisuseError,
                "misuse.bad-file",
                N_("cannot read {file}: {reason}"),
                file=file,
                reason=e.strerror,
            ) from e
        with f:
            size = os.fstat(f.fileno()).st_size
            request = urllib.request.Request(self.url + path, data=_pieces(f, size), method=method)
            request.add_header("Content-Type", "application/octet-stream")
            request.add_header("Content-Length", str(size))
            return self._send(request)

    def _send(self, request: urllib.request.Request) -> Any:
        request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            raise _error_from(e) from e
        except (urllib.error.URLError, OSError) as e:
            raise localized(
                RemoteFaultError,
                "remote.node-unreachable",
                N_("the node does not answer: {reason}"),
                reason=e,
            ) from e


def _pieces(f: BinaryIO, size: int) -> Iterator[bytes]:
    """The first `size` bytes of `f` (what Content-Length promised), a piece at a time."""
    left = size
    while left > 0:
        piece = f.read(min(READ_BYTES, left))
        if not piece:
            raise LocalMisuseError("misuse.bad-file", N_("the file shrank while it was sent"))
        left -= len(piece)
        yield piece


def _error_from(e: urllib.error.HTTPError) -> CommonsError:
    try:
        error = json.loads(e.read())["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        why = N_("the node answered HTTP {status}")
        return localized(RemoteFaultError, "remote.node-error", why, status=e.code)
    return error_for_code(code, message)
