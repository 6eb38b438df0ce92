"""Great-circle distance in integer arithmetic (specs/0011-capabilities.md §5.3).

The haversine formula on a sphere of the IUGG mean Earth radius, evaluated in fixed
point with Python integers (scale 10**30): sine, cosine and arcsine by their Taylor series
(the arcsine's argument kept at or below √½), square roots by `math.isqrt`. No floats, so
every node computes the same metre for the same two points, whatever its libm.

Guarantees: `distance_m` is symmetric, zero for equal points, at most half the
circumference (20 015 114 m), and within a metre of the exact spherical distance.
Pure: no I/O.
"""

from __future__ import annotations

from math import isqrt
from typing import Final

SCALE: Final = 10**30
#: π to 40 decimal places, at SCALE.
PI: Final = 3_1415926535_8979323846_2643383279_5028841971 // 10**10
#: IUGG mean Earth radius R1 = 6 371 008.8 m, in millimetres.
EARTH_RADIUS_MM: Final = 6_371_008_800
_MICRODEG_PER_HALF_TURN: Final = 180_000_000


def _radians(microdeg: int) -> int:
    return microdeg * PI // _MICRODEG_PER_HALF_TURN


def _series(x: int, term: int, first: int) -> int:
    """Sum of the alternating Taylor series x^k/k! (k = first, first+2, …) at SCALE."""
    total = term
    k = first
    while term != 0:
        term = -(term * x // SCALE * x // SCALE) // ((k + 1) * (k + 2))
        total += term
        k += 2
    return total


def sin_fixed(x: int) -> int:
    """sin(x / SCALE) * SCALE, for |x| ≤ 2π·SCALE."""
    return _series(x, x, 1)


def cos_fixed(x: int) -> int:
    """cos(x / SCALE) * SCALE, for |x| ≤ 2π·SCALE."""
    return _series(x, SCALE, 0)


def asin_fixed(s: int) -> int:
    """asin(s / SCALE) * SCALE, for 0 ≤ s ≤ SCALE·√½, by its Taylor series
    Σ (2n)! / (4ⁿ (n!)² (2n+1)) · s^(2n+1); terms shrink at least by half each step."""
    s2 = s * s // SCALE
    power = s  # (2n)! / (4ⁿ (n!)²) · s^(2n+1)
    total = s
    n = 0
    while power != 0:
        power = power * s2 // SCALE * (2 * n + 1) // (2 * n + 2)
        n += 1
        total += power // (2 * n + 1)
    return total


def central_angle(lat1: int, lon1: int, lat2: int, lon2: int) -> int:
    """The angle between two points given in micro-degrees, in radians at SCALE."""
    phi1, phi2 = _radians(lat1), _radians(lat2)
    half_dphi = _radians(lat2 - lat1) // 2
    half_dlambda = _radians(lon2 - lon1) // 2
    sin_dphi = sin_fixed(half_dphi)
    sin_dlambda = sin_fixed(half_dlambda)
    cosines = cos_fixed(phi1) * cos_fixed(phi2) // SCALE
    h = sin_dphi * sin_dphi // SCALE + cosines * (sin_dlambda * sin_dlambda // SCALE) // SCALE
    h = max(0, min(SCALE, h))
    if 2 * h <= SCALE:
        half = asin_fixed(isqrt(h * SCALE))
    else:
        half = PI // 2 - asin_fixed(isqrt((SCALE - h) * SCALE))
    return 2 * half


def distance_m(lat1: int, lon1: int, lat2: int, lon2: int) -> int:
    """Great-circle distance in whole metres (rounded half up) between two points."""
    angle = central_angle(lat1, lon1, lat2, lon2)
    return (angle * EARTH_RADIUS_MM + SCALE * 500) // (SCALE * 1000)
