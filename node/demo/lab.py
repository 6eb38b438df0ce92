"""One lab of the demo federation: its home, its `fabnode run` process, its ready
line (node.demo.federation starts them; node.demo.seed fills them)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from node.cli.client import NodeClient
from node.store.home import NodeHome


@dataclass
class Lab:
    name: str
    home: NodeHome
    process: subprocess.Popen[str]
    ready: dict[str, Any]

    @property
    def client(self) -> NodeClient:
        return NodeClient(self.ready["api"], self.home.api_token())

    @property
    def dashboard_url(self) -> str:
        return f"{self.ready['api']}/#token={self.home.api_token()}"


Say = Callable[[str], None]
