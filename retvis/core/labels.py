"""Adsorption labels: a CSV table of material names and uptakes.

The smallest reader that validates what a training or evaluation run relies on: a
``name`` column, one numeric column of uptakes, every name once, every value finite and
non-negative. Each problem is a :class:`~retvis.errors.DataError` naming the file, the
row (1-based, header = row 1) and what was found.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from ..errors import DataError

#: Column holding material names.
NAME_COLUMN = "name"
#: Largest labels file read, bytes.
MAX_LABELS_BYTES = 256 * 1024 * 1024


def read_labels(path: str | Path, column: str | None = None) -> dict[str, float]:
    """Read a labels CSV into ``{name: uptake}``.

    Parameters
    ----------
    path : str or Path
        CSV file (UTF-8, a byte-order mark is allowed) with a header row.
    column : str, optional
        Uptake column; default: the only column besides ``name``.

    Returns
    -------
    dict[str, float]
        Uptake per material name, in the units of the file (mol/kg for the shipped
        tables), in file order.

    Raises
    ------
    DataError
        Unreadable file, no ``name`` column, ambiguous or unknown uptake column, a row
        with a missing or duplicated name, text, NaN, infinite or negative uptake.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_LABELS_BYTES:
            raise DataError(f"labels file is larger than {MAX_LABELS_BYTES >> 20} MiB", path)
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise DataError(f"cannot read labels: {exc.strerror or exc}", path) from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"labels file is not UTF-8 text (byte {exc.start})", path) from None
    if "\x00" in text:
        raise DataError("labels file contains binary data, expected CSV text", path)
    rows = csv.reader(text.splitlines())
    header = [h.strip() for h in next(rows, [])]
    if NAME_COLUMN not in header:
        raise DataError(f"no {NAME_COLUMN!r} column; the header is {header}", path)
    others = [h for h in header if h != NAME_COLUMN]
    if column is None:
        if len(others) != 1:
            raise DataError(
                f"cannot tell which column holds the uptake among {others}; name one", path
            )
        column = others[0]
    elif column not in header:
        raise DataError(f"no column {column!r}; valid: {others}", path)
    i_name, i_value = header.index(NAME_COLUMN), header.index(column)

    out: dict[str, float] = {}
    first_row: dict[str, int] = {}
    for row_no, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue  # blank line
        name = row[i_name].strip() if i_name < len(row) else ""
        raw = row[i_value].strip() if i_value < len(row) else ""
        if not name:
            raise DataError(f"row {row_no}: missing name", path)
        if name in first_row:
            raise DataError(
                f"row {row_no}: duplicated name {name!r} (first in row {first_row[name]})", path
            )
        try:
            value = float(raw)
        except ValueError:
            raise DataError(
                f"row {row_no} ({name}): {column} is not a number: {raw!r}", path
            ) from None
        if not math.isfinite(value):
            raise DataError(f"row {row_no} ({name}): {column} is {raw!r}, not finite", path)
        if value < 0:
            raise DataError(f"row {row_no} ({name}): negative {column} {value:g}", path)
        first_row[name] = row_no
        out[name] = value
    if not out:
        raise DataError("no labels: the table has a header but no rows", path)
    return out
