"""Parsing of pressures and temperatures typed by a user (``5.8bar``, ``298K``)."""

from __future__ import annotations

import math
import re

from ..errors import SpecError

#: Pressure units accepted, to pascal.
PRESSURE_UNITS = {"pa": 1.0, "kpa": 1e3, "mpa": 1e6, "bar": 1e5, "mbar": 1e2, "atm": 101325.0}
_NUM = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*$")


def _split(text: str, what: str) -> tuple[float, str]:
    m = _NUM.match(str(text))
    if not m:
        raise SpecError(
            f"expected a {what} such as {'5.8bar' if what == 'pressure' else '298K'}, got {text!r}"
        )
    value = float(m.group(1))
    if not (math.isfinite(value) and value > 0):
        raise SpecError(f"the {what} must be positive, got {text!r}")
    return value, m.group(2).lower()


def parse_pressure(text: str) -> float:
    """Pressure in Pa from ``'5.8bar'``, ``'580kPa'``, ``'580000 Pa'``, ``'0.58MPa'``.

    A bare number is read as Pa.
    """
    value, unit = _split(text, "pressure")
    unit = unit or "pa"
    if unit not in PRESSURE_UNITS:
        raise SpecError(
            f"unknown pressure unit {unit!r} in {text!r}; "
            f"use one of {', '.join(('Pa', 'kPa', 'MPa', 'bar', 'mbar', 'atm'))}"
        )
    return value * PRESSURE_UNITS[unit]


def parse_temperature(text: str) -> float:
    """Temperature in K from ``'298K'`` or ``'298'`` (kelvin only)."""
    value, unit = _split(text, "temperature")
    if unit not in ("", "k"):
        raise SpecError(f"temperatures are in kelvin (e.g. 298K), got {text!r}")
    return value
