"""The node's HTTP API fuzzed from its own OpenAPI document (schemathesis, specs/0012 §4).

A real `fabnode run` serves the API; the schema is read from its /openapi.json at run
time, so every operation it lists is covered, whichever module added it. For each
operation, schemathesis generates requests from the schema (valid and invalid
parameters and bodies: both schemathesis modes) and each is sent three ways:
  - with the bearer token: the answer is never a 5xx, a documented status carries the
    documented body, and an error is the typed `{"error": {"code", "message"}}`;
  - without a token, and with a wrong one: 401 with code misuse.unauthorized (but the
    open /healthz, node.api.metrics.OPEN_PATHS: the same answer as with the token).
Request bodies that name files are kept inside an empty folder (the node runs there and
absolute paths are moved into it), so the fuzzer never walks or writes the machine.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import content_type_conformance, response_schema_conformance
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response

from node.api.guard import MAX_REQUEST_BODY_BYTES
from node.api.metrics import OPEN_PATHS
from tests.cli_helpers import fabnode
from tests.node_process import raw_post, running_node
from tests.paths import ROOT

pytestmark = pytest.mark.integration


#: Generated requests for all operations together, shared out evenly (at least
#: MIN_EXAMPLES each): the run stays near a minute however many operations there are.
REQUEST_BUDGET = 320
MIN_EXAMPLES = 4
TIMEOUT_S = 60
#: Requests that fit the schema, and requests that break it somewhere.
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
WRONG_TOKENS = (None, "Bearer not-the-token", "Basic Zm9vOmJhcg==")
#: The code of a request that does not match the OpenAPI document (422).
BAD_REQUEST = "decode.bad-request"


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


def session_get_json(url: str, token: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    with requests.get(url, headers=headers, timeout=TIMEOUT_S) as response:
        return response.json()


def _event_streams(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of each operation whose success is a text/event-stream."""
    streams = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("responses", {}).get("200", {}).get("content", {})
            if "text/event-stream" in content:
                streams.add((method.upper(), path))
    return streams


def _check_stream(url: str, token: str, session: requests.Session) -> list[str]:
    """An endless event stream: opens for the token (first line read, then closed), and
    refuses strangers; generated requests would each wait for an end that never comes."""
    failures = []
    headers = {"Authorization": f"Bearer {token}"}
    with session.get(url, headers=headers, stream=True, timeout=TIMEOUT_S) as response:
        kind = response.headers.get("content-type", "")
        first = next(response.iter_lines(), b"") if response.status_code == 200 else b""
        if response.status_code != 200 or not kind.startswith("text/event-stream") or not first:
            failures.append(f"GET {url}: {response.status_code} {kind} {first[:100]!r}")
    for header in WRONG_TOKENS:
        wrong = {} if header is None else {"Authorization": header}
        with session.get(url, headers=wrong, stream=True, timeout=TIMEOUT_S) as response:
            if response.status_code != 401:
                failures.append(f"GET {url} with {header!r}: {response.status_code}")
    return failures


def _fuzz_operation(
    operation: Any, url: str, token: str, session: requests.Session, examples: int
) -> list[str]:
    failures: list[str] = []
    strangers = itertools.cycle(WRONG_TOKENS)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(*(operation.as_strategy(mode) for mode in MODES)))
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
        if good.status_code >= 400 and _error_code(good) is None:
            failures.append(f"{where}: {good.status_code} without a typed error: {good.text[:200]}")
        try:
            case.validate_response(
                good, checks=[content_type_conformance, response_schema_conformance]
            )
        except AssertionError as e:  # schemathesis' failures are AssertionErrors
            failures.append(f"{where}: {str(e)[:400]}")
        header = next(strangers)  # each case once as a stranger: no token, or a wrong one
        headers = {} if header is None else {"Authorization": header}
        bad = case.call(base_url=url, session=session, headers=headers, timeout=TIMEOUT_S)
        if operation.path in OPEN_PATHS:  # /healthz: the same answer for anyone
            if (bad.status_code, bad.content) != (good.status_code, good.content):
                failures.append(f"{where} with {header!r}: {bad.status_code} {bad.text[:200]}")
        elif bad.status_code != 401 or _error_code(bad) != "misuse.unauthorized":
            failures.append(f"{where} with {header!r}: {bad.status_code} {bad.text[:200]}")

    run()
    return failures


#: Bodies the fuzzer once answered with a 500, kept as vectors (specs/0012 §4):
#: (method, path, raw JSON body, the status and error code now expected).
REGRESSIONS = [
    (
        case["input"]["method"],
        case["input"]["path"],
        bytes.fromhex(case["input"]["body_hex"]),
        case["expect"]["status"],
        case["expect"]["error"],
    )
    for case in (
        json.loads(p.read_text())
        for p in sorted((ROOT / "specs/vectors/fuzz-regressions/api").glob("*.json"))
    )
]


def _check_regressions(url: str, token: str, session: requests.Session) -> list[str]:
    assert REGRESSIONS, "no vectors in specs/vectors/fuzz-regressions/api"
    failures = []
    for method, path, body, status, code in REGRESSIONS:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        got = session.request(method, url + path, data=body, headers=headers, timeout=TIMEOUT_S)
        if got.status_code != status or _error_code(got) != code:
            failures.append(f"{method} {path} {body[:60]!r}: {got.status_code} {got.text[:200]}")
    return failures


def _front_door(url: str, token: str | None, declared: int | None, send_bytes: int) -> Any:
    """POST a body of `send_bytes` (declared as `declared`, else chunked); the answer."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    chunk = b"x" * (1 << 20)
    pieces = [chunk] * (send_bytes // len(chunk))
    status, body = raw_post(
        url, "/api/v1/notes", headers, pieces, declared=declared, timeout_s=TIMEOUT_S
    )
    return status, body["error"]["code"] if "error" in body else None


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
        assert _front_door(url, token, None, 0) == (422, BAD_REQUEST)  # empty body: read, invalid
        headers = {"Authorization": f"Bearer {token}"}
        empty = requests.post(url + "/api/v1/notes", json={"text": ""}, headers=headers, timeout=9)
        assert empty.status_code == 422, empty.text
        assert empty.json()["error"]["code"] == BAD_REQUEST
        assert empty.json()["error"]["field"] == "body.text"  # the field at fault, named


def test_only_the_dashboard_is_open_and_no_page_loads_a_cdn(tmp_path: Path) -> None:
    """The dashboard's page and files need no token; the OpenAPI document does; FastAPI's
    /docs and /redoc pages (scripts from a CDN) are not served at all."""
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    with running_node(home, cwd=tmp_path) as (_, ready):
        _check_open_and_closed_paths(ready["api"], (home / "api.token").read_text().strip())


def _check_open_and_closed_paths(url: str, token: str) -> None:
    for path in ("/", "/static/app.js", "/healthz"):
        assert requests.get(url + path, timeout=TIMEOUT_S).status_code == 200, path
    for path in ("/openapi.json", "/metrics", "/docs", "/redoc"):
        for header in WRONG_TOKENS:
            headers = {} if header is None else {"Authorization": header}
            stranger = requests.get(url + path, headers=headers, timeout=TIMEOUT_S)
            assert stranger.status_code == 401, (path, header)
            assert _error_code(stranger) == "misuse.unauthorized"
    headers = {"Authorization": f"Bearer {token}"}
    document = requests.get(url + "/openapi.json", headers=headers, timeout=TIMEOUT_S)
    assert document.status_code == 200 and "/api/v1/status" in document.json()["paths"]
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        page = requests.get(url + path, headers=headers, timeout=TIMEOUT_S)
        assert page.status_code == 404, path


def test_every_operation_survives_fuzzing_and_refuses_strangers(tmp_path: Path) -> None:
    home = tmp_path / "lab"
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    assert fabnode("init", home=home)[0] == 0
    fabnode("note", "something to list and prove", home=home)
    with running_node(home, cwd=sandbox) as (_, ready):
        url = ready["api"]
        token = (home / "api.token").read_text().strip()
        schema = schemathesis.openapi.from_url(
            url + "/openapi.json", headers={"Authorization": f"Bearer {token}"}
        )
        operations = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), f"the node's OpenAPI document is invalid: {result}"
            operations.append(result.ok())
        assert len(operations) >= 10, "the OpenAPI document lists the node's operations"
        streams = _event_streams(session_get_json(url + "/openapi.json", token))
        examples = max(MIN_EXAMPLES, REQUEST_BUDGET // len(operations))
        failures: list[str] = []
        with requests.Session() as session:
            failures += _check_regressions(url, token, session)
            for operation in operations:
                if (operation.method.upper(), operation.path) in streams:
                    failures += _check_stream(url + operation.path, token, session)
                else:
                    failures += _fuzz_operation(operation, url, token, session, examples)
        assert not failures, json.dumps(failures, indent=1)
    assert list(sandbox.iterdir()) == [], "the fuzzer wrote outside its requests"
