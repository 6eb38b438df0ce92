"""capabilities/advert, capabilities/match and capabilities/sealed (specs/0011).

Expectations come from models written here, never from the code under test: advert
validity from how each body was broken (§1-3); matching from a literal model of §5
(sorted box edges against sorted build edges, the haversine in floating point rounded
to the metre — every case's distances sit far from a half metre — and the quote
formula written out); sealed files from a literal RFC 9180 base-mode sealer
(DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305) with fixed ephemeral
and content keys, checked against RFC 9180 appendix A.2.1 before use.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterator
from typing import Any

from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from protocol import canonical
from protocol.jsonform import to_json
from specs.vectorgen.common import Case, ok

ADVERT = "capability.advert"


def _seed(name: str) -> bytes:
    return hashlib.sha256(b"fabcommons-vectors/" + name.encode()).digest()


# -- capabilities/advert ---------------------------------------------------------------------


def machine(**changes: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "process": "3dp-fdm",
        "make": "Prusa",
        "model": "MK4",
        "build_volume_um": [250_000, 210_000, 220_000],
        "materials": ["PETG", "PLA"],
        "tolerance": "m",
        "throughput_mm3_per_hour": 15_000,
        "price": {"setup_fee_minor": 500, "per_cm3_minor": 12, "per_hour_minor": 400},
    }
    m.update(changes)
    return m


def advert(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Fab Lab Barcelona",
        "website": "https://fablabbcn.org",
        "location": {"lat_microdeg": 41_396_900, "lon_microdeg": 2_194_200},
        "currency": "EUR",
        "lead_time_days": 5,
        "availability": "open",
        "machines": [machine()],
        "seal_key": {
            "suite": "x25519-hkdf-sha256-chacha20poly1305",
            "public_key": _x25519_public(_seed("lab/seal")),
        },
    }
    body.update(changes)
    return body


def _advert_cases() -> list[tuple[str, str, dict[str, Any], bool]]:
    hybrid = {"suite": "mlkem768x25519-hkdf-sha256-chacha20poly1305", "public_key": b"\x07" * 1216}
    return [
        ("valid-one-machine", "A lab with one FDM printer.", advert(), True),
        (
            "valid-hybrid-key-no-website",
            "A hybrid ML-KEM-768+X25519 key of 1216 bytes; no website.",
            advert(seal_key=hybrid, website=None),
            True,
        ),
        ("valid-no-seal-key", "A lab that takes no sealed files.", advert(seal_key=None), True),
        (
            "valid-every-process",
            "One machine of each process of the vocabulary.",
            advert(machines=[machine(process=p) for p in _PROCESSES]),
            True,
        ),
        (
            "process-not-in-vocabulary",
            "A design token (3d-printing) is not a machine's process.",
            advert(machines=[machine(process="3d-printing")]),
            False,
        ),
        (
            "materials-unsorted",
            "Materials must be sorted and unique.",
            advert(machines=[machine(materials=["PLA", "PETG"])]),
            False,
        ),
        (
            "tolerance-not-iso-2768",
            "Tolerance classes are f, m, c, v.",
            advert(machines=[machine(tolerance="h7")]),
            False,
        ),
        (
            "build-volume-zero",
            "Build volume edges are at least 1 µm.",
            advert(machines=[machine(build_volume_um=[0, 1, 1])]),
            False,
        ),
        (
            "latitude-out-of-range",
            "Latitude is within ±90 000 000 micro-degrees.",
            advert(location={"lat_microdeg": 90_000_001, "lon_microdeg": 0}),
            False,
        ),
        (
            "price-negative",
            "Prices are non-negative minor units.",
            advert(
                machines=[
                    machine(price={"setup_fee_minor": -1, "per_cm3_minor": 0, "per_hour_minor": 0})
                ]
            ),
            False,
        ),
        ("currency-lower-case", "Currencies are ISO 4217 codes.", advert(currency="eur"), False),
        (
            "currency-trailing-newline",
            "The currency EUR followed by a newline: [A-Z]{3} matches the whole value "
            "(specs/0001 §8).",
            advert(currency="EUR\n"),
            False,
        ),
        ("no-machines", "An advert has at least one machine.", advert(machines=[]), False),
        (
            "seal-key-wrong-size",
            "An X25519 key is 32 bytes.",
            advert(
                seal_key={"suite": "x25519-hkdf-sha256-chacha20poly1305", "public_key": b"1" * 33}
            ),
            False,
        ),
        ("unknown-field", "Unknown fields are refused.", advert(colour="red"), False),
        *_more_advert_cases(),
        *_slicer_advert_cases(),
    ]


def slicer(**changes: Any) -> dict[str, Any]:
    """A machine's slicer settings (§2.2): 0.2 mm layers, 20 % infill, 2 perimeters."""
    s: dict[str, Any] = {
        "layer_height_um": 200,
        "infill_percent": 20,
        "perimeters": 2,
        "supports": False,
        "nozzle_um": 400,
        "filament_diameter_um": 1750,
        "density_mg_per_cm3": {"PETG": 1270, "PLA": 1240},
    }
    s.update(changes)
    return s


def _slicer_advert_cases() -> list[tuple[str, str, dict[str, Any], bool]]:
    """§2.2: each bound and rule of a machine's slicer settings."""
    one = {"PETG": 1270, "PLA": 1240}
    low = slicer(
        layer_height_um=10,
        infill_percent=0,
        perimeters=0,
        nozzle_um=100,
        filament_diameter_um=1000,
        density_mg_per_cm3={"PETG": 100, "PLA": 100},
    )
    high = slicer(layer_height_um=2000, infill_percent=100, perimeters=50, supports=True,
                  nozzle_um=3000, filament_diameter_um=4000,
                  density_mg_per_cm3={"PETG": 25_000, "PLA": 25_000})  # fmt: skip
    cases: list[tuple[str, str, dict[str, Any] | None, bool]] = [
        ("slicer-valid", "An FDM printer with slicer settings.", slicer(), True),
        ("slicer-valid-at-low-bounds", "Every setting at its lower bound.", low, True),
        ("slicer-valid-at-high-bounds", "Every setting at its upper bound, supports on.",
         high, True),
        ("slicer-nil", "No settings: the key is absent, never nil.", None, False),
        ("slicer-layer-too-thin", "Layers of at least 10 µm.", slicer(layer_height_um=9), False),
        ("slicer-layer-over-nozzle", "A layer is no higher than the nozzle is wide.",
         slicer(layer_height_um=401), False),
        ("slicer-infill-over-100", "Infill is a share: 0-100 %.",
         slicer(infill_percent=101), False),
        ("slicer-perimeters-over-limit", "At most 50 perimeters.", slicer(perimeters=51), False),
        ("slicer-supports-integer", "`supports` is a boolean, not 0 or 1.",
         slicer(supports=1), False),
        ("slicer-nozzle-too-fine", "Nozzles of at least 100 µm.", slicer(nozzle_um=99), False),
        ("slicer-filament-too-thick", "Filament of at most 4 mm.",
         slicer(filament_diameter_um=4001), False),
        ("slicer-density-too-low", "Densities of at least 100 mg/cm³.",
         slicer(density_mg_per_cm3={**one, "PLA": 99}), False),
        ("slicer-density-missing-material", "A density for each of the machine's materials.",
         slicer(density_mg_per_cm3={"PLA": 1240}), False),
        ("slicer-density-other-material", "No density for a material the machine lacks.",
         slicer(density_mg_per_cm3={**one, "ABS": 1040}), False),
        ("slicer-unknown-setting", "Settings are exactly the seven of §2.2.",
         slicer(speed_mm_per_s=60), False),
    ]  # fmt: skip
    out = [(n, d, advert(machines=[machine(slicer=s)]), v) for n, d, s, v in cases]
    out.append((
        "slicer-on-a-laser-cutter",
        "Only a 3dp-fdm machine has slicer settings.",
        advert(machines=[machine(process="laser-cutting", slicer=slicer())]),
        False,
    ))  # fmt: skip
    return out


def _without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


def _more_advert_cases() -> list[tuple[str, str, dict[str, Any], bool]]:
    """One case per bound and text rule of §2 (and 0010 §2's definitions)."""
    x25519 = "x25519-hkdf-sha256-chacha20poly1305"
    top = 10**12
    edge = machine(
        build_volume_um=[1, 10**8, 10**8],
        materials=["PLA", "abs"],
        throughput_mm3_per_hour=top,
        price={"setup_fee_minor": top, "per_cm3_minor": 0, "per_hour_minor": top},
    )
    bounds = advert(
        name="Ä" * 200,
        website="a://bcde",
        location={"lat_microdeg": -90_000_000, "lon_microdeg": 180_000_000},
        lead_time_days=3650,
        availability="busy",
        machines=[edge],
    )
    return [
        (
            "valid-at-bounds",
            "Every bound at its edge: 200 characters (400 UTF-8 bytes), an 8-character URL, "
            "the poles and the date line, 3650 days, 1 µm and 100 m, 10¹²; materials in "
            "code point order (upper case first).",
            bounds,
            True,
        ),
        ("valid-busy", "A busy lab takes jobs.", advert(availability="busy"), True),
        (
            "availability-unknown",
            "Availability is open, busy or closed.",
            advert(availability="holiday"),
            False,
        ),
        ("lead-time-over-limit", "At most 3650 days.", advert(lead_time_days=3651), False),
        (
            "longitude-out-of-range",
            "Longitude is within ±180 000 000 micro-degrees.",
            advert(location={"lat_microdeg": 0, "lon_microdeg": -180_000_001}),
            False,
        ),
        ("machines-too-many", "At most 64 machines.", advert(machines=[machine()] * 65), False),
        (
            "materials-repeated",
            "Materials are unique.",
            advert(machines=[machine(materials=["PLA", "PLA"])]),
            False,
        ),
        (
            "materials-case-order",
            "Sorted by code point, case-sensitive: abs comes after PLA.",
            advert(machines=[machine(materials=["abs", "PLA"])]),
            False,
        ),
        (
            "materials-too-many",
            "At most 32 materials.",
            advert(machines=[machine(materials=[f"M{i:02d}" for i in range(33)])]),
            False,
        ),
        (
            "material-too-long",
            "A material is at most 64 characters.",
            advert(machines=[machine(materials=["P" * 65])]),
            False,
        ),
        (
            "throughput-zero",
            "Throughput is at least 1 mm³ per hour.",
            advert(machines=[machine(throughput_mm3_per_hour=0)]),
            False,
        ),
        (
            "build-volume-over-100-m",
            "Build volume edges are at most 100 m.",
            advert(machines=[machine(build_volume_um=[10**8 + 1, 1, 1])]),
            False,
        ),
        (
            "build-volume-two-edges",
            "A build volume has exactly three edges.",
            advert(machines=[machine(build_volume_um=[1, 1])]),
            False,
        ),
        (
            "price-over-limit",
            "Prices are at most 10¹² minor units.",
            advert(
                machines=[
                    machine(
                        price={
                            "setup_fee_minor": 0,
                            "per_cm3_minor": 0,
                            "per_hour_minor": 10**12 + 1,
                        }
                    )
                ]
            ),
            False,
        ),
        (
            "tolerance-upper-case",
            "Tolerance classes are lower case.",
            advert(machines=[machine(tolerance="M")]),
            False,
        ),
        ("currency-four-letters", "A currency is three letters.", advert(currency="EURO"), False),
        ("name-empty", "A name has at least one character.", advert(name=""), False),
        ("name-too-long", "A name has at most 200 characters.", advert(name="F" * 201), False),
        (
            "name-not-trimmed",
            "A name ending in a no-break space (Unicode white space) is not trimmed.",
            advert(name="Fab Lab\u00a0"),
            False,
        ),
        ("name-two-lines", "A name is one line.", advert(name="Fab\nLab"), False),
        (
            "model-c1-control",
            "U+0085 is a control character: a model is one line.",
            advert(machines=[machine(model="MK4\u0085")]),
            False,
        ),
        (
            "website-no-scheme",
            "A URL starts with a scheme and ://.",
            advert(website="fablabbcn.org"),
            False,
        ),
        (
            "website-upper-case-scheme",
            "A scheme is lower case.",
            advert(website="HTTPS://fablabbcn.org"),
            False,
        ),
        (
            "website-with-space",
            "A URL holds no white space.",
            advert(website="https://fab lab.org"),
            False,
        ),
        ("website-too-short", "A URL is at least 8 characters.", advert(website="a://bcd"), False),
        (
            "website-missing",
            "Every field is present on the wire: a website is nil, never absent.",
            _without(advert(), "website"),
            False,
        ),
        (
            "seal-suite-unknown",
            "A seal key's suite is one of the two.",
            advert(seal_key={"suite": "x448-hkdf-sha512-aes256gcm", "public_key": b"1" * 32}),
            False,
        ),
        (
            "hybrid-key-wrong-size",
            "A hybrid key is 1216 bytes.",
            advert(
                seal_key={
                    "suite": "mlkem768x25519-hkdf-sha256-chacha20poly1305",
                    "public_key": b"1" * 32,
                }
            ),
            False,
        ),
        (
            "seal-key-extra-field",
            "A seal key is exactly {suite, public_key}.",
            advert(seal_key={"suite": x25519, "public_key": b"1" * 32, "id": 1}),
            False,
        ),
    ]


_PROCESSES = [
    "3dp-fdm", "3dp-sla", "3dp-sls", "3dp-mjf", "3dp-metal", "cnc-milling", "cnc-turning",
    "precision-milling", "laser-cutting", "laser-engraving", "vinyl-cutting",
    "waterjet-cutting", "plasma-cutting", "circuit-production", "pcb-assembly",
    "injection-moulding", "vacuum-forming", "casting", "sheet-metal", "welding", "sewing",
    "embroidery",
]  # fmt: skip


def advert_cases() -> Iterator[Case]:
    for name, description, body, valid in _advert_cases():
        status = {"valid": valid, "code": None if valid else "body.invalid"}
        data = {"kind": ADVERT, "body": to_json(body)}
        yield Case("capabilities", "advert", name, description, data, ok(body_status=status))


# -- capabilities/match: a literal model of §5 ------------------------------------------------

_R_M = 6_371_008.8
_CRITERIA = ["availability", "distance", "process", "material", "build-volume", "tolerance"]


def _haversine_m(a: dict[str, int], b: dict[str, int]) -> int:
    p1, p2 = math.radians(a["lat_microdeg"] / 1e6), math.radians(b["lat_microdeg"] / 1e6)
    dl = math.radians((b["lon_microdeg"] - a["lon_microdeg"]) / 1e6)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    exact = 2 * _R_M * math.asin(math.sqrt(h))
    assert abs(exact - math.floor(exact) - 0.5) > 0.01, "a distance too close to a half metre"
    return math.floor(exact + 0.5)


def _fails(m: dict[str, Any], request: dict[str, Any]) -> list[str]:
    failed = []
    if request["processes"] and m["process"] not in request["processes"]:
        failed.append("process")
    materials = [x.casefold() for x in m["materials"]]  # Unicode full case folding (§5)
    if request["material"] is not None and request["material"].casefold() not in materials:
        failed.append("material")
    for part in request["parts"]:
        if any(
            p > b
            for p, b in zip(sorted(part["size_um"]), sorted(m["build_volume_um"]), strict=True)
        ):
            failed.append("build-volume")
            break
    if "fmcv".index(m["tolerance"]) > "fmcv".index(request["tolerance"]):
        failed.append("tolerance")
    return failed


def _quote(m: dict[str, Any], currency: str, request: dict[str, Any]) -> dict[str, Any]:
    v = request["quantity"] * sum(p["volume_mm3"] for p in request["parts"])
    price, rate = m["price"], m["throughput_mm3_per_hour"]
    material = -(-v * price["per_cm3_minor"] // 1000)
    machine_minor = -(-v * price["per_hour_minor"] // rate)
    return {
        "currency": currency,
        "setup_fee_minor": price["setup_fee_minor"],
        "material_minor": material,
        "machine_minor": machine_minor,
        "machine_seconds": -(-v * 3600 // rate),
        "total_minor": price["setup_fee_minor"] + material + machine_minor,
        "method": "volume",
        "basis": {"volume_mm3": v, "throughput_mm3_per_hour": rate},
        # The match vectors pass no slicer figures: a machine without settings says so,
        # one with settings that nobody sliced for says that (§5.5).
        "fallback": {"reason": "not-sliced" if "slicer" in m else "no-settings", "detail": ""},
    }


def _expect_match(
    adverts: list[dict[str, Any]], request: dict[str, Any], frozen: tuple[str, ...] = ()
) -> dict[str, Any]:
    newest: dict[str, dict[str, Any]] = {}
    for a in adverts:
        held = newest.get(a["lab_hex"])
        if held is None or (a["seq"], a["entry_id_hex"]) > (held["seq"], held["entry_id_hex"]):
            newest[a["lab_hex"]] = a
    candidates, excluded = [], []
    for lab in sorted(newest):
        body = newest[lab]["body"]
        near = request["near"]
        distance = None if near is None else _haversine_m(near, body["location"])
        if lab in frozen:
            excluded.append({"lab_hex": lab, "reasons": ["frozen"], "distance_m": distance})
            continue
        lab_failed = ["availability"] if body["availability"] == "closed" else []
        if (
            distance is not None
            and request["radius_m"] is not None
            and distance > request["radius_m"]
        ):
            lab_failed.append("distance")
        fitting = []
        wanted_failures: list[str] = []
        for i, m in enumerate(body["machines"]):
            failed = _fails(m, request)
            if not failed:
                fitting.append((_quote(m, body["currency"], request)["total_minor"], i))
            elif "process" not in failed:
                wanted_failures += failed
        if lab_failed or not fitting:
            if not fitting:
                lab_failed += wanted_failures or ["process"]
            reasons = [r for r in _CRITERIA if r in lab_failed]
            excluded.append({"lab_hex": lab, "reasons": reasons, "distance_m": distance})
            continue
        total, index = min(fitting)
        quote = _quote(body["machines"][index], body["currency"], request)
        rank = (distance or 0, total, body["lead_time_days"], lab, index)
        row = {"lab_hex": lab, "machine_index": index, "distance_m": distance, "quote": quote}
        candidates.append((rank, row))
    return ok(
        candidates=[row for _, row in sorted(candidates, key=lambda c: c[0])], excluded=excluded
    )


def _lab(n: int, seq: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "lab_hex": (bytes([n]) * 32).hex(),
        "seq": seq,
        "entry_id_hex": hashlib.sha256(bytes([n, seq])).hexdigest(),
        "body": body,
    }


def _request(**changes: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "parts": [{"size_um": [100_000, 50_000, 20_000], "volume_mm3": 40_000}],
        "processes": ["3dp-fdm"],
        "material": "pla",
        "tolerance": "m",
        "near": {"lat_microdeg": 41_400_000, "lon_microdeg": 2_200_000},
        "radius_m": 50_000,
        "quantity": 1,
    }
    r.update(changes)
    return r


def _labs() -> list[dict[str, Any]]:
    gracia = {"lat_microdeg": 41_403_000, "lon_microdeg": 2_157_000}
    paris = {"lat_microdeg": 48_856_600, "lon_microdeg": 2_352_200}
    cheap = machine(price={"setup_fee_minor": 0, "per_cm3_minor": 30, "per_hour_minor": 100})
    return [
        _lab(1, 3, advert()),
        _lab(1, 2, advert(name="Old advert", lead_time_days=30)),
        _lab(2, 1, advert(location=gracia, machines=[cheap])),
        _lab(3, 1, advert(location=paris)),
        _lab(4, 1, advert(availability="closed")),
        _lab(5, 1, advert(machines=[machine(process="laser-cutting")])),
        _lab(6, 1, advert(machines=[machine(materials=["ABS"]), machine(tolerance="c")])),
        _lab(7, 1, advert(machines=[machine(build_volume_um=[40_000, 300_000, 40_000])])),
    ]


def _match_cases() -> list[tuple[str, str, dict[str, Any]]]:
    turned = [{"size_um": [20_000, 100_000, 50_000], "volume_mm3": 40_000}]
    tall = [{"size_um": [10_000, 10_000, 240_000], "volume_mm3": 1_000}]
    return [
        ("every-criterion", "Labs excluded by each criterion; two candidates ranked.", _request()),
        (
            "part-turned",
            "The same part given in other axes: the same result.",
            _request(parts=turned),
        ),
        (
            "tall-part-lies-down",
            "A part taller than every build height fits lying down.",
            _request(parts=tall),
        ),
        (
            "no-place",
            "No place given: every lab at distance null, ranked by price.",
            _request(near=None),
        ),
        (
            "any-process",
            "No process given: any process, any material.",
            _request(processes=[], material=None),
        ),
        ("quantity-ten", "Ten copies: setup once, the rest ten times.", _request(quantity=10)),
        ("radius-zero", "A zero radius keeps nobody.", _request(radius_m=0)),
        ("fine-tolerance", "Class f is held by no machine here.", _request(tolerance="f")),
    ]


def _tie_labs() -> list[dict[str, Any]]:
    """Labs at one place that tie on distance: the cheapest machine, then lead time and
    lab id decide; two adverts of one lab with one seq: the greater entry id wins."""

    def setup(fee: int) -> dict[str, Any]:
        return machine(price={"setup_fee_minor": fee, "per_cm3_minor": 12, "per_hour_minor": 400})

    newer = {**_lab(0x14, 4, advert(availability="closed")), "entry_id_hex": "ff" * 32}
    older = {**_lab(0x14, 4, advert()), "entry_id_hex": "00" * 32}
    return [
        _lab(0x11, 1, advert(machines=[setup(900), setup(100), setup(100)])),
        _lab(0x13, 1, advert(lead_time_days=2, machines=[setup(100)])),
        _lab(0x12, 1, advert(lead_time_days=2, machines=[setup(100)])),
        newer,
        older,
    ]


def _sheet_labs() -> list[dict[str, Any]]:
    sheet = {"process": "sheet-metal", "build_volume_um": [2_000_000, 1_000_000, 3_000]}
    return [
        _lab(0x21, 1, advert(machines=[machine(**sheet, materials=["Weißblech"])])),
        _lab(0x22, 1, advert(machines=[machine(**sheet, materials=["Zinc"])])),
    ]


def _more_match_cases() -> list[tuple[str, str, list[dict[str, Any]], dict[str, Any]]]:
    both = [
        {"size_um": [100_000, 50_000, 20_000], "volume_mm3": 40_000},
        {"size_um": [10_000, 10_000, 240_000], "volume_mm3": 1_000},
    ]
    plate = [{"size_um": [500_000, 300_000, 1_000], "volume_mm3": 150_000}]
    sliced_lab = [_lab(1, 1, advert(machines=[machine(slicer=slicer())])), *_labs()[2:4]]
    return [
        (
            "slicer-settings-not-sliced",
            "A lab publishes slicer settings but no figures are given: its quote is the "
            "volume model's, its fallback `not-sliced` (§5.5); the others say `no-settings`.",
            sliced_lab,
            _request(),
        ),
        (
            "ties",
            "One place: the cheapest machine (then the lower index), then the shorter lead "
            "time, then the lab id; of two adverts with one seq the greater entry id wins.",
            _tie_labs(),
            _request(),
        ),
        (
            "two-parts-twice",
            "Two parts, two copies: every part must fit; the volume is twice 41 000 mm³.",
            _labs(),
            _request(parts=both, quantity=2),
        ),
        (
            "material-case-folded",
            "WEISSBLECH matches Weißblech under Unicode full case folding.",
            _sheet_labs(),
            _request(processes=[], material="WEISSBLECH", near=None, parts=plate),
        ),
        (
            "radius-without-place",
            "A radius with no place is ignored.",
            _labs(),
            _request(near=None, radius_m=0),
        ),
    ]


def match_cases() -> Iterator[Case]:
    cases: list[tuple[str, str, list[dict[str, Any]], dict[str, Any], tuple[str, ...]]]
    cases = [(n, d, _labs(), r, ()) for n, d, r in _match_cases()]
    cases += [(n, d, labs, r, ()) for n, d, labs, r in _more_match_cases()]
    labs = _labs()
    cheapest = _expect_match(labs, _request())["candidates"][0]["lab_hex"]
    cases.append((
        "frozen-lab",
        "The lab that would rank first is frozen (a fork proof, 0004 §4): excluded with the "
        "one reason `frozen`, before any other criterion; the others rank as before.",
        labs, _request(), (cheapest,),
    ))  # fmt: skip
    for name, description, labs, request, frozen in cases:
        data = {"adverts": [{**a, "body": to_json(a["body"])} for a in labs], "request": request,
                "frozen_hex": list(frozen)}  # fmt: skip
        expect = _expect_match(labs, request, frozen)
        yield Case("capabilities", "match", name, description, data, expect)


# -- capabilities/sealed: a literal RFC 9180 base-mode sealer ----------------------------------

_KEM_ID, _KDF_ID, _AEAD_ID = 0x0020, 0x0001, 0x0003
_INFO = b"fabcommons/sealed-file/v1"
_MAGIC = b"FCSEAL\x00\x01"
FOREIGN, MALFORMED = "misuse.not-a-recipient", "decode.bad-sealed-file"
_CHUNK = 64 * 1024


def _x25519_public(private: bytes) -> bytes:
    return x25519.X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, b"HPKE-v1" + suite + label + ikm)


def _labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    return _expand(prk, length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info, length)


def _hpke_key_schedule(sk_e: bytes, pk_r: bytes, info: bytes) -> tuple[bytes, bytes, bytes]:
    """(enc, key, base_nonce) of RFC 9180 base mode with ephemeral key `sk_e`."""
    kem_suite = b"KEM" + _KEM_ID.to_bytes(2, "big")
    enc = _x25519_public(sk_e)
    dh = x25519.X25519PrivateKey.from_private_bytes(sk_e).exchange(
        x25519.X25519PublicKey.from_public_bytes(pk_r)
    )
    eae_prk = _labeled_extract(kem_suite, b"", b"eae_prk", dh)
    shared = _labeled_expand(kem_suite, eae_prk, b"shared_secret", enc + pk_r, 32)
    suite = b"HPKE" + b"".join(i.to_bytes(2, "big") for i in (_KEM_ID, _KDF_ID, _AEAD_ID))
    psk_id_hash = _labeled_extract(suite, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(suite, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = _labeled_extract(suite, shared, b"secret", b"")
    key = _labeled_expand(suite, secret, b"key", context, 32)
    nonce = _labeled_expand(suite, secret, b"base_nonce", context, 12)
    return enc, key, nonce


def _check_against_rfc_9180() -> None:
    """RFC 9180 A.2.1: the model gives the appendix's key and nonce."""
    sk_e = bytes.fromhex("f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600")
    pk_r = bytes.fromhex("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a")
    info = bytes.fromhex("4f6465206f6e2061204772656369616e2055726e")
    enc, key, nonce = _hpke_key_schedule(sk_e, pk_r, info)
    assert enc.hex() == "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a"
    assert key.hex() == "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91"
    assert nonce.hex() == "5c4d98150661b848853b547f"


def _hpke_seal(sk_e: bytes, pk_r: bytes, plaintext: bytes) -> bytes:
    enc, key, nonce = _hpke_key_schedule(sk_e, pk_r, _INFO)
    return enc + ChaCha20Poly1305(key).encrypt(nonce, plaintext, b"")


def sealed_file(name: str, plaintext: bytes, recipients: list[bytes]) -> bytes:
    """A sealed file (§6) with keys derived from `name`: fixed, so vectors repeat."""
    content_key = _seed(f"{name}/content-key")
    stanzas = [
        {
            "key_id": hashlib.sha256(b"x25519-hkdf-sha256-chacha20poly1305" + pk).digest(),
            "sealed_key": _hpke_seal(_seed(f"{name}/ephemeral/{i}"), pk, content_key),
        }
        for i, pk in enumerate(recipients)
    ]
    header = canonical.encode(
        {
            "version": 1,
            "suite": "x25519-hkdf-sha256-chacha20poly1305",
            "chunk_bytes": _CHUNK,
            "recipients": stanzas,
        }
    )
    aad = hashlib.sha256(header).digest()
    count = max(1, -(-len(plaintext) // _CHUNK))
    chunks = [
        ChaCha20Poly1305(content_key).encrypt(
            i.to_bytes(11, "big") + (b"\x01" if i == count - 1 else b"\x00"),
            plaintext[i * _CHUNK : (i + 1) * _CHUNK],
            aad,
        )
        for i in range(count)
    ]
    return _MAGIC + len(header).to_bytes(4, "big") + header + b"".join(chunks)


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


def sealed_cases() -> Iterator[Case]:
    _check_against_rfc_9180()
    customer, lab, third = (_seed(f"{n}/seal") for n in ("customer", "lab", "third"))
    both = [_x25519_public(lab), _x25519_public(customer)]
    part = b"solid bracket\nendsolid bracket\n"
    two = sealed_file("two-recipients", part, both)
    header_end = 12 + int.from_bytes(two[8:12], "big")
    big = bytes(i % 251 for i in range(_CHUNK + 5))
    three_chunks = sealed_file("three-chunks", big * 2, both)
    opened, bad = ok(plaintext_hex=part.hex()), _err("verify.sealed-tampered")
    cases: list[tuple[str, str, bytes, bytes, dict[str, Any]]] = [
        ("lab-opens", "The lab opens a file sealed to it and the customer.", two, lab, opened),
        ("customer-opens", "The customer opens its own sealed file.", two, customer, opened),
        ("third-is-not-a-recipient", "A third key has no stanza.", two, third, _err(FOREIGN)),
        (
            "empty-file",
            "An empty file is one empty chunk.",
            sealed_file("empty", b"", both[:1]),
            lab,
            ok(plaintext_hex=""),
        ),
        (
            "three-chunks",
            "Two full chunks and a short one.",
            three_chunks,
            customer,
            ok(plaintext_sha256_hex=hashlib.sha256(big * 2).hexdigest()),
        ),
        ("payload-bit-flipped", "One bit of a chunk flipped.", _flip(two, len(two) - 3), lab, bad),
        (
            "other-stanza-bit-flipped",
            "One bit of the customer's stanza flipped: the lab's own stanza opens, the "
            "chunks' associated data (the header's hash) does not match.",
            _flip(two, header_end - 60),
            lab,
            _err("verify.sealed-tampered"),
        ),
        (
            "own-stanza-bit-flipped",
            "One bit of the customer's own sealed key flipped.",
            _flip(two, header_end - 60),
            customer,
            _err("verify.sealed-tampered"),
        ),
        (
            "last-chunk-dropped",
            "A file cut after its first full chunk: the last-chunk flag catches it.",
            three_chunks[: 12 + int.from_bytes(three_chunks[8:12], "big") + _CHUNK + 16],
            customer,
            _err("verify.sealed-tampered"),
        ),
        ("bad-magic", "Not a sealed file.", b"FCSEAL\x00\x02" + two[8:], lab, _err(MALFORMED)),
        (
            "header-length-past-end",
            "A header length beyond the file.",
            two[:8] + (10**6).to_bytes(4, "big") + two[12:],
            lab,
            _err("decode.bad-sealed-file"),
        ),
    ]
    cases += _more_sealed_cases(two, three_chunks, lab, third)
    for name, description, sealed, key, expect in cases:
        data = {
            "sealed_hex": sealed.hex(),
            "suite": _X25519 if len(key) == 32 else _HYBRID,
            "private_key_hex": key.hex(),
        }
        yield Case("capabilities", "sealed", name, description, data, expect)


_X25519 = "x25519-hkdf-sha256-chacha20poly1305"
_HYBRID = "mlkem768x25519-hkdf-sha256-chacha20poly1305"


def _parts(sealed: bytes) -> tuple[dict[str, Any], bytes]:
    """The decoded header and the bytes after it."""
    length = int.from_bytes(sealed[8:12], "big")
    return canonical.decode(sealed[12 : 12 + length]), sealed[12 + length :]


def _reheader(sealed: bytes, header: bytes) -> bytes:
    """The same payload behind other header bytes (the checks of §6 rows 1-11 come
    before any decryption, so the payload need not match)."""
    return _MAGIC + len(header).to_bytes(4, "big") + header + _parts(sealed)[1]


def _changed(sealed: bytes, **changes: Any) -> bytes:
    header = {**_parts(sealed)[0], **changes}
    return _reheader(sealed, canonical.encode(header))


def _more_sealed_cases(
    two: bytes, three: bytes, lab: bytes, third: bytes
) -> list[tuple[str, str, bytes, bytes, dict[str, Any]]]:
    """One case per row of §6's table, and the order of rows."""
    bad, foreign = _err(MALFORMED), _err(FOREIGN)
    tampered = _err("verify.sealed-tampered")
    header, payload = _parts(two)
    stanza = header["recipients"][0]
    encoded = canonical.encode(header)
    assert encoded.endswith(b"\xa7version\x01")  # the last pair: version 1
    step = _CHUNK + 16
    three_payload = _parts(three)[1]
    three_head = three[: len(three) - len(three_payload)]
    hybrid_key = _seed("hybrid/ml-kem") + _seed("hybrid/ml-kem/z") + _seed("hybrid/x25519")
    nine = [{"key_id": bytes([i]) * 32, "sealed_key": stanza["sealed_key"]} for i in range(9)]
    return [
        ("too-short", "The magic alone: no header length.", _MAGIC, lab, bad),
        (
            "header-length-over-limit",
            "A header length of 32,769 bytes, within the file: over the header limit.",
            three[:8] + (32 * 1024 + 1).to_bytes(4, "big") + three[12:],
            lab,
            bad,
        ),
        (
            "header-not-canonical",
            "The header's version 1 written as a uint8 (cc 01).",
            _reheader(two, encoded[:-1] + b"\xcc\x01"),
            lab,
            bad,
        ),
        (
            "header-not-a-map",
            "A header that is an array.",
            _reheader(two, canonical.encode([1, _X25519])),
            lab,
            bad,
        ),
        (
            "header-extra-key",
            "A header with a fifth key.",
            _changed(two, note="hello"),
            lab,
            bad,
        ),
        ("header-version-2", "Only version 1 is defined.", _changed(two, version=2), lab, bad),
        (
            "header-suite-unknown",
            "A suite that is not one of the two.",
            _changed(two, suite="x448-hkdf-sha512-aes256gcm"),
            lab,
            bad,
        ),
        (
            "chunk-bytes-other",
            "Chunks are 65,536 bytes, not 4,096.",
            _changed(two, chunk_bytes=4096),
            lab,
            bad,
        ),
        ("no-recipients", "At least one recipient.", _changed(two, recipients=[]), lab, bad),
        ("nine-recipients", "At most eight recipients.", _changed(two, recipients=nine), lab, bad),
        (
            "recipient-repeated",
            "Two recipients with one key id.",
            _changed(two, recipients=[stanza, stanza]),
            lab,
            bad,
        ),
        (
            "key-id-short",
            "A key id is 32 bytes.",
            _changed(two, recipients=[{**stanza, "key_id": stanza["key_id"][:31]}]),
            lab,
            bad,
        ),
        (
            "sealed-key-short",
            "An X25519 stanza's sealed key is 32 + 32 + 16 = 80 bytes.",
            _changed(two, recipients=[{**stanza, "sealed_key": stanza["sealed_key"][:79]}]),
            lab,
            bad,
        ),
        (
            "stanza-extra-key",
            "A recipient is exactly {key_id, sealed_key}.",
            _changed(two, recipients=[{**stanza, "note": 1}]),
            lab,
            bad,
        ),
        (
            "payload-shorter-than-a-tag",
            "Fewer than 16 bytes after the header.",
            two[: len(two) - len(payload)] + payload[:15],
            lab,
            bad,
        ),
        (
            "bad-header-before-not-a-recipient",
            "A bad chunk size and a key that is no recipient: the header is checked first.",
            _changed(two, chunk_bytes=4096),
            third,
            bad,
        ),
        (
            "opener-of-other-suite",
            "A hybrid key opening an X25519 file is not a recipient.",
            two,
            hybrid_key,
            foreign,
        ),
        (
            "not-a-recipient-before-tampering",
            "A flipped chunk and a key that is no recipient: the stanza is looked for first.",
            _flip(two, len(two) - 3),
            third,
            foreign,
        ),
        (
            "chunks-swapped",
            "The first two chunks of three swapped: their nonces fail.",
            three_head
            + three_payload[step : 2 * step]
            + three_payload[:step]
            + three_payload[2 * step :],
            lab,
            tampered,
        ),
        ("byte-appended", "One byte appended to the last chunk.", two + b"\x00", lab, tampered),
    ]


def _err(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


def cases() -> Iterator[Case]:
    yield from advert_cases()
    yield from match_cases()
    yield from sealed_cases()
