"""The node's HTTP API fuzzed from its own OpenAPI document (schemathesis, specs/0012 §4).

A real `fabnode run` serves the API; the schema is read from its /openapi.json at run
time, so every operation it lists is covered, whichever module added it. For each
operation, schemathesis generates requests from the schema (valid and invalid
parameters and bodies) and each is sent three ways:
  - with the bearer token: the answer is never a 5xx, a documented status carries the
    documented body, and an error is the typed `{"error": {"code", "message"}}`;
  - without a token, and with a wrong one: 401 with code misuse.unauthorized.
Request bodies that name files are kept inside an empty folder (the node runs there and
absolute paths are moved into it), so the fuzzer never walks or writes the machine.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import content_type_conformance, response_schema_conformance
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response

from node.api_guard import MAX_REQUEST_BODY_BYTES
from tests.cli_helpers import fabnode
from tests.node_process import running_node

pytestmark = pytest.mark.integration

#: Generated requests per operation; the whole run stays near a minute on a busy machine.
EXAMPLES_PER_OPERATION = 12
TIMEOUT_S = 60
WRONG_TOKENS = (None, "Bearer not-the-token", "Basic Zm9vOmJhcg==")


def _contained(value: Any) -> Any:
    """`value` with every string made a plain relative name (no root, no `..`)."""
    if isinstance(value, str):
        return re.sub(r"\.\.|[/\\~]", "_", value)
    if isinstance(value, list):
        return [_contained(v) for v in value]
    if isinstance(value, dict):
        return {k: _contained(v) for k, v in value.items()}
    return value


def _error_code(response: Response | requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _fuzz_operation(operation: Any, url: str, token: str, session: requests.Session) -> list[str]:
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: schemathesis.Case[Any]) -> None:
        if isinstance(case.body, dict | list | str):
            case.body = _contained(case.body)
        where = f"{case.method} {case.formatted_path}"
        good = case.call(
            base_url=url, session=session, headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_S,
        )  # fmt: skip
        if good.status_code >= 500:
            failures.append(f"{where}: {good.status_code} {good.text[:300]} for {case.body!r}")
            return
        if good.status_code >= 400 and good.status_code != 422 and _error_code(good) is None:
            failures.append(f"{where}: {good.status_code} without a typed error: {good.text[:200]}")
        try:
            case.validate_response(
                good, checks=[content_type_conformance, response_schema_conformance]
            )
        except AssertionError as e:  # schemathesis' failures are AssertionErrors
            failures.append(f"{where}: {str(e)[:400]}")
        for header in WRONG_TOKENS:
            headers = {} if header is None else {"Authorization": header}
            bad = case.call(base_url=url, session=session, headers=headers, timeout=TIMEOUT_S)
            if bad.status_code != 401 or _error_code(bad) != "misuse.unauthorized":
                failures.append(f"{where} with {header!r}: {bad.status_code} {bad.text[:200]}")

    run()
    return failures


#: Bodies the fuzzer once answered with a 500, kept as explicit regressions: (method,
#: path, raw JSON body, the status and error code now expected). JSON text may escape a
#: lone surrogate, which no UTF-8 text holds; a path may hold a NUL, which names no file.
REGRESSIONS = [
    ("POST", "/api/v1/notes", b'{"text": "\\ud822"}', 422, None),
    ("POST", "/api/v1/notes", b'{"text": "' + b"\\ud822" * 5000 + b'"}', 422, None),
    ("POST", "/api/v1/designs", b'{"path": "\\ud822"}', 422, None),
    ("POST", "/api/v1/designs", b'{"path": "a\\u0000b"}', 400, "misuse.bad-file"),
    ("POST", "/api/v1/designs/import-okh", b'{"paths": ["\\u0000"]}', 400, "misuse.bad-file"),
    ("POST", "/api/v1/designs/import-okh", b'{"paths": ["x\\u0000"]}', 400, "misuse.bad-file"),
]


def _check_regressions(url: str, token: str, session: requests.Session) -> list[str]:
    failures = []
    for method, path, body, status, code in REGRESSIONS:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        got = session.request(method, url + path, data=body, headers=headers, timeout=TIMEOUT_S)
        typed = _error_code(got) == code if code is not None else "detail" in got.json()
        if got.status_code != status or not typed:
            failures.append(f"{method} {path} {body[:60]!r}: {got.status_code} {got.text[:200]}")
    return failures


def _front_door(url: str, token: str | None, declared: int | None, send_bytes: int) -> Any:
    """POST a body of `send_bytes` (declared as `declared`, else chunked); the answer."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT_S)
    try:
        conn.putrequest("POST", "/api/v1/notes")
        if token is not None:
            conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", "application/json")
        if declared is None:
            conn.putheader("Transfer-Encoding", "chunked")
        else:
            conn.putheader("Content-Length", str(declared))
        conn.endheaders()
        chunk = b"x" * (1 << 20)
        with contextlib.suppress(OSError):  # the node may answer and close mid-body
            for _ in range(send_bytes // len(chunk)):
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if declared is None else chunk)
            if declared is None:
                conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        body = json.loads(response.read())
        return response.status, body["error"]["code"] if "error" in body else None
    finally:
        conn.close()


def test_the_front_door_refuses_before_reading_a_body(tmp_path: Path) -> None:
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    with running_node(home, cwd=tmp_path) as (_, ready):
        url = ready["api"]
        token = (home / "api.token").read_text().strip()
        huge = 10 * MAX_REQUEST_BODY_BYTES
        assert _front_door(url, None, huge, 0) == (401, "misuse.unauthorized")
        assert _front_door(url, "wrong", huge, 0) == (401, "misuse.unauthorized")
        assert _front_door(url, token, huge, 0) == (413, "decode.too-large")
        over = MAX_REQUEST_BODY_BYTES + (1 << 20)
        assert _front_door(url, token, None, over) == (413, "decode.too-large")
        assert _front_door(url, token, None, 0) == (422, None)  # empty body: read, invalid


def _streams(operation: Any) -> bool:
    """An operation documented as an event stream: it never ends, so it is not fuzzed
    by reading whole answers; `_check_stream` opens it instead."""
    content = operation.definition.raw.get("responses", {}).get("200", {}).get("content", {})
    return set(content) == {"text/event-stream"}


def _check_stream(path: str, url: str, token: str) -> list[str]:
    """The stream opens with the token (its first bytes are an SSE comment) and refuses
    strangers with the typed 401, before anything is streamed."""
    failures = []
    headers = {"Authorization": f"Bearer {token}"}
    with requests.get(url + path, headers=headers, stream=True, timeout=TIMEOUT_S) as good:
        first = next(good.iter_content(chunk_size=None), b"")
        kind = good.headers.get("content-type", "")
        if good.status_code != 200 or not kind.startswith("text/event-stream") or first[:1] != b":":
            failures.append(f"GET {path}: {good.status_code} {kind} {first[:80]!r}")
    for header in WRONG_TOKENS:
        headers = {} if header is None else {"Authorization": header}
        with requests.get(url + path, headers=headers, stream=True, timeout=TIMEOUT_S) as bad:
            if bad.status_code != 401 or _error_code(bad) != "misuse.unauthorized":
                failures.append(f"GET {path} with {header!r}: {bad.status_code}")
    return failures


def test_every_operation_survives_fuzzing_and_refuses_strangers(tmp_path: Path) -> None:
    home = tmp_path / "lab"
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    assert fabnode("init", home=home)[0] == 0
    fabnode("note", "something to list and prove", home=home)
    with running_node(home, cwd=sandbox) as (_, ready):
        url = ready["api"]
        token = (home / "api.token").read_text().strip()
        schema = schemathesis.openapi.from_url(url + "/openapi.json")
        operations = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), f"the node's OpenAPI document is invalid: {result}"
            operations.append(result.ok())
        assert len(operations) >= 10, "the OpenAPI document lists the node's operations"
        failures: list[str] = []
        with requests.Session() as session:
            failures += _check_regressions(url, token, session)
            for operation in operations:
                if _streams(operation):
                    failures += _check_stream(operation.path, url, token)
                else:
                    failures += _fuzz_operation(operation, url, token, session)
        assert not failures, json.dumps(failures, indent=1)
    assert list(sandbox.iterdir()) == [], "the fuzzer wrote outside its requests"
