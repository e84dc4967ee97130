"""The descriptors table: one row per structure with its geometric descriptors.

Written by ``retvis descriptors`` (Zeo++, :mod:`retvis.sim.descriptors`) and read by the
Random Forest baseline (:mod:`retvis.ml.baselines`), which needs the table, not Zeo++.
Columns: ``name, status, reason`` and the descriptors of :data:`DESCRIPTORS` (their
meanings and units are in :mod:`retvis.sim.descriptors`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DESCRIPTORS: tuple[str, ...] = (
    "lcd",
    "pld",
    "lfpd",
    "asa_m2_g",
    "void_fraction",
    "pore_volume_cm3_g",
    "density_g_cm3",
    "cell_volume_A3",
    "cell_mass_amu",
)


@dataclass
class DescriptorResult:
    """Zeo++ descriptors of one file, or why there are none.

    Attributes
    ----------
    name : str
        File stem.
    path : Path
    status : {"ok", "failed", "timeout"}
    values : dict
        Descriptor name -> float (may be inf/nan; consumers drop such rows).
    reason : str
    seconds : float
    """

    name: str
    path: Path
    status: str
    values: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    seconds: float = 0.0


def write_descriptor_csv(results: Iterable[DescriptorResult], path: str | Path) -> int:
    """Write ``name, status, reason, <descriptors>``; returns the number of rows."""
    import csv
    import io

    from .cache import atomic_write_bytes

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["name", "status", "reason", *DESCRIPTORS])
    n = 0
    for r in sorted(results, key=lambda r: r.name):
        w.writerow(
            [
                r.name,
                r.status,
                r.reason,
                *[repr(r.values[k]) if k in r.values else "" for k in DESCRIPTORS],
            ]
        )
        n += 1
    atomic_write_bytes(Path(path), buf.getvalue().encode())
    return n


def read_descriptor_rows(path: str | Path) -> list[DescriptorResult]:
    """Every row (any status) of a table written by :func:`write_descriptor_csv`.

    Raises :class:`~retvis.errors.DataError` when the file is not such a table.
    """
    import csv

    from ..errors import DataError

    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not {"name", "status", "reason"} <= set(reader.fieldnames or ()):
                raise DataError("not a descriptors table (no name, status, reason columns)", path)
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise DataError(f"not a descriptors table ({exc.reason})", path) from exc
    out = []
    for row in rows:
        vals = {k: float(row[k]) for k in DESCRIPTORS if row.get(k) not in (None, "")}
        out.append(DescriptorResult(row["name"], Path(row["name"]), row["status"], vals,
                                    row["reason"]))  # fmt: skip
    return out


def read_descriptor_csv(path: str | Path) -> dict[str, dict[str, float]]:
    """Name -> descriptors of the ``ok`` rows of a table written by :func:`write_descriptor_csv`."""
    import csv

    out = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("status") != "ok":
                continue
            vals = {}
            for k in DESCRIPTORS:
                try:
                    vals[k] = float(row[k])
                except (TypeError, ValueError, KeyError):
                    vals[k] = math.nan
            out[row["name"]] = vals
    return out
