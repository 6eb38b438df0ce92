"""`fabnode job …` on a home with no node running (the CLI's local path), in process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from node.cli.jobs import parse_place, parse_time_ms
from node.cli.main import main
from node.demo.parts import binary_stl, box
from node.ops.context import open_local
from node.ops.jobs import job_set
from node.store.home import NodeHome
from protocol.errors import LocalMisuseError
from tests.node.ops.test_capabilities import LAB_TOML

SOON = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FABNODE_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "home"
    assert main(["--home", str(path), "init", "--json"]) == 0
    return path


def run(home: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    capsys.readouterr()
    status = main(["--home", str(home), *args, "--json"])
    return status, json.loads(capsys.readouterr().out)


def offer(home: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, Any]:
    args = ["job", "offer", "--title", "Gear", "--sealed", "--size-mm", "30", "30", "8",
            "--volume-mm3", "3000", "--process", "3dp-sla", "--material", "Resin",
            "--deadline", SOON, "--at", "41.3969,2.1942", "--radius-km", "30"]  # fmt: skip
    return run(home, capsys, *args, *extra)


def test_offer_list_show_and_refusals(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, made = offer(home, capsys)
    assert status == 0, made
    job = made["entry_id"]
    assert made["job"]["state"] == "open" and made["candidates"] == []
    assert made["job"]["offer"]["part"] == {"size_um": [30_000, 30_000, 8_000], "volume_mm3": 3000}
    status, near = run(home, capsys, "job", "list", "--open", "--near", "41.40,2.20")
    assert status == 0 and [j["id"] for j in near["jobs"]] == [job]
    status, far = run(home, capsys, "job", "list", "--near", "48.85,2.35")  # Paris
    assert status == 0 and far["jobs"] == []
    status, out = run(home, capsys, "job", "bid", job, "--price-minor", "100", "--ready", SOON)
    assert (status, out["error"]["code"]) == (1, "job.own-offer")
    status, out = run(home, capsys, "job", "start", job)
    assert (status, out["error"]["code"]) == (1, "job.out-of-turn")
    status, out = run(home, capsys, "job", "award", job, job)
    assert (status, out["error"]["code"]) == (1, "misuse.unknown-bid")
    status, out = run(home, capsys, "job", "show", "b" + "a" * 52)
    assert status == 1 and out["error"]["code"] in ("misuse.unknown-job", "decode.bad-id")
    status, out = run(home, capsys, "job", "cancel", job, "--reason", "Not needed")
    assert status == 0 and out["job"]["state"] == "cancelled"
    with open_local(NodeHome(home)) as ctx:
        assert [v.state.value for v in job_set(ctx).jobs] == ["cancelled"]


def test_bad_offers_are_refused_before_signing(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = offer(home, capsys, "--ttl-s", str(91 * 86_400))
    assert (status, out["error"]["code"]) == (1, "misuse.bad-job")
    status, out = offer(home, capsys, "--ttl-s", str(30 * 86_400))
    assert (status, out["error"]["code"]) == (1, "job.bad-offer")  # above the rule in force
    status, out = run(home, capsys, "job", "offer", "--title", "Gear", "--sealed",
                      "--process", "3dp-sla", "--material", "Resin", "--deadline", "2001-01-01",
                      "--at", "41.39,2.19", "--radius-km", "30")  # fmt: skip
    assert (status, out["error"]["code"]) == (1, "job.bad-offer")  # deadline in the past
    status, out = run(home, capsys, "job", "list")
    assert out["jobs"] == []


def test_places_and_times_parse_exactly() -> None:
    place = parse_place("41.3969, -2.1942")
    assert (place.lat_microdeg, place.lon_microdeg) == (41_396_900, -2_194_200)
    assert parse_time_ms("2027-01-01") == 1_798_761_600_000
    assert parse_time_ms("2027-01-01T01:00:00+01:00") == 1_798_761_600_000
    with pytest.raises(LocalMisuseError):
        parse_place("north")
    with pytest.raises(LocalMisuseError):
        parse_time_ms("soon")


def test_a_jobs_candidates_carry_the_designs_readiness_warnings(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    advert = tmp_path / "lab.toml"
    advert.write_text(LAB_TOML)
    assert run(home, capsys, "capability", "set", str(advert))[0] == 0
    folder = tmp_path / "fin"
    folder.mkdir()
    (folder / "fin.stl").write_bytes(binary_stl(box((40.0, 0.5, 20.0)), b"a thin fin"))
    (folder / "okh.toml").write_text(
        'name = "Fin"\nlicense = "MIT"\nlicensor = "Ada Lab"\nsource = "fin.stl"\n'
    )
    status, design = run(home, capsys, "design", "publish", str(folder))
    assert status == 0, design
    where = ["--deadline", SOON, "--at", "41.3969,2.1942", "--radius-km", "30"]
    status, made = run(home, capsys, "job", "offer", "--title", "Fin", "--design",
                       design["design_id"], "--process", "3dp-fdm", "--material", "PLA",
                       *where)  # fmt: skip
    assert status == 0, made
    (candidate,) = made["candidates"]  # a thin wall warns; it does not exclude
    assert [(w["part"], w["code"], w["value"], w["limit"]) for w in candidate["warnings"]] == [
        (0, "thin-wall", 500, 800)
    ]
