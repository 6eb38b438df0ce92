"""`fabnode capability …` and `fabnode sealed …` on a home with no node running, and
three real nodes sealing a job file (specs/0011-capabilities.md §6-8)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.store.blobs import BlobStore
from node.store.home import NodeHome
from protocol.capability import MAX_ADVERT_FILE_BYTES, advert_from_toml
from protocol.errors import CommonsError, DecodeError, RemoteFaultError
from protocol.ids import id_from_text
from specs.vectorgen import okw as okw_vectors
from tests.cli_helpers import fabnode
from tests.node_process import api, running_node, wait_until
from tests.paths import ROOT

CUBE = ROOT / "node" / "data" / "parts" / "calibration-cube-20mm.stl"
LAB_TOML = """
name = "Fab Lab Barcelona"
website = "https://fablabbcn.org"
currency = "EUR"
lead_time_days = 5
availability = "open"
location = { lat = 41.3969, lon = 2.1942 }

[[machines]]
process = "3dp-fdm"
make = "Prusa"
model = "MK4"
build_volume_mm = [250, 210, 220]
materials = ["PLA", "PETG"]
tolerance = "m"
throughput_mm3_per_hour = 15000
price = { setup_fee_minor = 500, per_cm3_minor = 12, per_hour_minor = 400 }

[[machines]]
process = "laser-cutting"
make = "Trotec"
model = "Speedy 400"
build_volume_mm = [1000, 610, 25]
materials = ["acrylic", "plywood"]
tolerance = "f"
throughput_mm3_per_hour = 50000
price = { setup_fee_minor = 1000, per_cm3_minor = 5, per_hour_minor = 6000 }
"""


def make_home(root: Path, name: str) -> Path:
    home = root / name
    status, _ = fabnode("init", home=home)
    assert status == 0
    return home


def identity(home: Path) -> str:
    return str(fabnode("id", home=home)[1]["identity"])


def advert_file(root: Path, text: str = LAB_TOML) -> Path:
    path = root / "lab.toml"
    path.write_text(text)
    return path


def test_the_advert_file_reads_degrees_millimetres_and_sorts_materials() -> None:
    body = advert_from_toml(LAB_TOML.encode())
    assert body.location.lat_microdeg == 41_396_900 and body.location.lon_microdeg == 2_194_200
    assert body.machines[0].build_volume_um == [250_000, 210_000, 220_000]
    assert body.machines[0].materials == ["PETG", "PLA"]
    assert body.seal_key is None


@pytest.mark.parametrize(
    "text",
    [
        "not = toml = at all",
        LAB_TOML.replace('"3dp-fdm"', '"3d-printing"'),
        LAB_TOML.replace("lat = 41.3969", 'lat = "north"'),
        LAB_TOML.replace('currency = "EUR"', ""),
        LAB_TOML.replace("lead_time_days = 5", "lead_time_days = 5.5"),
    ],
)
def test_bad_advert_files_are_typed_errors(text: str) -> None:
    with pytest.raises(DecodeError) as e:
        advert_from_toml(text.encode())
    assert e.value.code == "decode.bad-advert"


def test_the_advert_file_size_is_checked_first() -> None:
    with pytest.raises(DecodeError) as e:
        advert_from_toml(b"#" * (MAX_ADVERT_FILE_BYTES + 1))
    assert e.value.code == "decode.too-large"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_advert_file_is_a_body_or_a_typed_error(data: bytes) -> None:
    try:
        advert_from_toml(data)
    except CommonsError as e:
        assert e.code in {"decode.bad-advert", "decode.too-large"}


def test_set_show_list_match_and_okw_on_a_home(tmp_path: Path) -> None:
    home = make_home(tmp_path, "lab")
    lab = identity(home)
    status, set_out = fabnode("capability", "set", advert_file(tmp_path), home=home)
    assert status == 0 and set_out["lab"] == lab
    key = set_out["advert"]["seal_key"]
    assert key["suite"] == "mlkem768x25519-hkdf-sha256-chacha20poly1305"
    assert len(bytes.fromhex(key["public_key"])) == 1216
    assert (home / "keys" / f"seal-{key['suite']}.key").stat().st_mode & 0o777 == 0o600

    status, shown = fabnode("capability", "show", home=home)
    assert status == 0 and shown["advert_id"] == set_out["advert_id"]

    near = ("--near", "41.40,2.20")
    status, found = fabnode(
        "capability", "list", *near, "--radius-km", "5", "--process", "fdm", home=home
    )
    assert status == 0 and [r["lab"] for r in found["adverts"]] == [lab]
    assert 500 <= found["adverts"][0]["distance_m"] <= 800
    status, far = fabnode(
        "capability", "list", "--near", "48.85,2.35", "--radius-km", "50", home=home
    )
    assert status == 0 and far["adverts"] == []
    status, none = fabnode("capability", "list", "--process", "sheet-metal", home=home)
    assert status == 0 and none["adverts"] == []

    status, matched = fabnode(
        "capability", "match", "--part", "100,50,20,40000", "--process", "3d-printing",
        "--material", "pla", "--tolerance", "m", *near, home=home,
    )  # fmt: skip
    assert status == 0
    quote = matched["candidates"][0]["quote"]
    # 500 setup + ⌈40000·12/1000⌉ material + ⌈40000·400/15000⌉ machine time.
    assert quote == {
        "currency": "EUR", "setup_fee_minor": 500, "material_minor": 480,
        "machine_minor": 1067, "machine_seconds": 9600, "total_minor": 2047,
        "method": "volume", "basis": {"volume_mm3": 40000, "throughput_mm3_per_hour": 15000},
        "fallback": {"reason": "no-settings", "detail": ""},
    }  # fmt: skip
    status, too_big = fabnode("capability", "match", "--part", "300,300,300,1000", home=home)
    assert status == 0 and too_big["excluded"][0]["reasons"] == ["build-volume"]

    okw = tmp_path / "lab.okw.yaml"
    status, _ = fabnode("capability", "export-okw", "-o", okw, home=home)
    assert status == 0 and "manufacturing-facility:" in okw.read_text()
    status, imported = fabnode("capability", "import-okw", okw, home=home)
    assert status == 0 and imported["seq"] == set_out["seq"] + 1
    assert imported["advert"] == set_out["advert"]

    # The newest advert replaces the older ones.
    closed = LAB_TOML.replace('availability = "open"', 'availability = "closed"')
    status, newest = fabnode("capability", "set", advert_file(tmp_path, closed), home=home)
    assert status == 0
    status, shown = fabnode("capability", "show", lab, home=home)
    assert status == 0 and shown["advert_id"] == newest["advert_id"]
    assert shown["advert"]["availability"] == "closed"
    status, listed = fabnode("capability", "list", home=home)
    assert status == 0 and listed["adverts"] == []  # closed labs take no jobs


def test_cli_errors_are_typed(tmp_path: Path) -> None:
    home = make_home(tmp_path, "lab")
    status, out = fabnode("capability", "show", home=home)
    assert status == 1 and out["error"]["code"] == "misuse.unknown-lab"
    status, out = fabnode("capability", "list", "--near", "north", home=home)
    assert status == 1 and out["error"]["code"] == "misuse.bad-location"
    status, out = fabnode("capability", "list", "--process", "knitting", home=home)
    assert status == 1 and out["error"]["code"] == "misuse.unknown-process"
    status, out = fabnode("capability", "set", advert_file(tmp_path, "name = 3"), home=home)
    assert status == 1 and out["error"]["code"] == "decode.bad-advert"


# -- three real nodes: a customer seals a part to a lab; a third node carries it -----------


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def _error_code(call: Any) -> str:
    with pytest.raises(CommonsError) as e:
        call()
    return e.value.code


@pytest.mark.integration
def test_a_third_node_carries_a_sealed_file_it_cannot_open(
    tmp_path: Path, stack: ExitStack
) -> None:
    lab_home, customer, third = (make_home(tmp_path, n) for n in ("lab", "customer", "third"))
    _, ready = stack.enter_context(running_node(lab_home))
    for home in (customer, third):
        stack.enter_context(running_node(home, "--bootstrap", ready["listen"][0]))
    lab = identity(lab_home)
    status, _ = fabnode("capability", "set", advert_file(tmp_path), home=lab_home)
    assert status == 0

    def lab_advert_reached(home: Path) -> bool:
        rows = api(home, "GET", "/api/v1/capabilities?process=3dp-fdm")["adverts"]
        return any(r["lab"] == lab for r in rows)

    wait_until("the customer sees the lab's advert", lambda: lab_advert_reached(customer))
    part = tmp_path / "bracket.stl"
    secret = b"solid bracket\n" + hashlib.sha256(b"private").digest() * 5000
    part.write_bytes(secret)
    status, sealed = fabnode("sealed", "seal", part, "--lab", lab, home=customer)
    assert status == 0 and len(sealed["recipients"]) == 2
    blob = sealed["blob"]

    # The lab fetches it from the customer and opens it; the customer reads its own too.
    for home, name in ((lab_home, "lab.stl"), (customer, "mine.stl")):
        got = api(home, "POST", f"/api/v1/sealed/{blob}/open", {"out": str(tmp_path / name)})
        assert got["size"] == len(secret) and (tmp_path / name).read_bytes() == secret

    # The third node fetches and holds the ciphertext, and cannot open it.
    def fetched_by_third() -> bool:
        try:
            return api(third, "POST", f"/api/v1/blobs/{blob}/fetch")["status"] in (
                "held",
                "fetched",
            )
        except RemoteFaultError:
            return False  # not connected to a holder yet

    wait_until("the third node holds the blob", fetched_by_third)
    carried = BlobStore(NodeHome(third).blobs).path_of(id_from_text(blob)).read_bytes()
    assert hashlib.sha256(carried).digest() == id_from_text(blob)
    assert secret[20:80] not in carried
    out = tmp_path / "third.stl"
    code = _error_code(lambda: api(third, "POST", f"/api/v1/sealed/{blob}/open", {"out": str(out)}))
    assert code == "misuse.not-a-recipient" and not out.exists()

    # Matching and OKW through a running node's API.
    part_query = {"parts": [{"size_um": [100_000, 50_000, 20_000], "volume_mm3": 40_000}]}
    matched = api(third, "POST", "/api/v1/match", {**part_query, "processes": ["fdm"]})
    assert [c["lab"] for c in matched["candidates"]] == [lab]
    assert matched["candidates"][0]["quote"]["total_minor"] == 2047
    okw = api(lab_home, "GET", "/api/v1/capabilities/self/okw")
    assert okw["lab"] == lab and "manufacturing-facility" in okw["yaml"]

    # One flipped bit in a copy is detected by the lab.
    tampered = bytearray(carried)
    tampered[-100] ^= 0x01
    bad = tmp_path / "tampered.bin"
    bad.write_bytes(bytes(tampered))
    status, added = fabnode("blob", "add", bad, home=lab_home)
    assert status == 0
    code = _error_code(
        lambda: api(
            lab_home, "POST", f"/api/v1/sealed/{added['blob']}/open", {"out": str(tmp_path / "x")}
        )
    )
    assert code == "verify.sealed-tampered"


def test_a_design_is_matched_by_its_mesh(tmp_path: Path) -> None:
    home = make_home(tmp_path, "lab")
    assert fabnode("capability", "set", advert_file(tmp_path), home=home)[0] == 0
    folder = tmp_path / "cube"
    folder.mkdir()
    shutil.copy(CUBE, folder / CUBE.name)
    (folder / "okh.toml").write_text(
        f'name = "Cube"\nlicense = "MIT"\nlicensor = "Ada Lab"\nsource = "{CUBE.name}"\n'
    )
    status, published = fabnode("design", "publish", folder, home=home)
    assert status == 0
    geometry = published["files"][0]["geometry"]
    status, matched = fabnode(
        "capability", "match", "--design", published["design_id"], "--material", "PLA", home=home
    )
    assert status == 0
    size = [
        hi - lo for lo, hi in zip(geometry["bbox_min_um"], geometry["bbox_max_um"], strict=True)
    ]
    assert matched["parts"] == [{"size_um": size, "volume_mm3": geometry["volume_mm3"]}]
    (best,) = matched["candidates"]
    v = geometry["volume_mm3"]
    assert best["machine"]["process"] == "3dp-fdm"  # the laser cutter works no PLA
    assert best["quote"]["total_minor"] == 500 + -(-v * 12 // 1000) + -(-v * 400 // 15000)


def test_import_okw_reads_a_document_in_the_okw_templates_shape(tmp_path: Path) -> None:
    """Not only our own export: an Open Know-Where file as the IoPA template writes it
    (specs/0011 §8.1), with the facts OKW lacks once in the facility's x-fabcommons."""
    home = tmp_path / "lab"
    assert fabnode("init", home=home)[0] == 0
    okw = tmp_path / "fablab.okw.yaml"
    okw.write_text(okw_vectors.TEMPLATE)
    status, imported = fabnode("capability", "import-okw", okw, home=home)
    assert status == 0, imported
    advert = imported["advert"]
    assert advert["name"] == "Fab Lab Barcelona" and advert["availability"] == "open"
    assert advert["location"] == {"lat_microdeg": 41_396_900, "lon_microdeg": 2_194_200}
    printer, laser = advert["machines"]
    assert (printer["process"], printer["materials"]) == ("3dp-fdm", ["PETG", "PLA"])
    assert printer["price"]["per_hour_minor"] == 400  # from the facility's x-fabcommons
    assert (laser["process"], laser["tolerance"]) == ("laser-cutting", "f")
    okw.write_text(okw_vectors.TEMPLATE.replace('  gps-coordinates: "41.3969, 2.1942"\n', ""))
    status, refused = fabnode("capability", "import-okw", okw, home=home)
    assert status == 1
    assert refused["error"]["code"] == "decode.bad-okw"
    assert refused["error"]["field"] == "location.gps-coordinates"
