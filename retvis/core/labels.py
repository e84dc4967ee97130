"""Labels tables: a CSV of material names and one numeric value per material.

The one reader of labels for the whole application (the ML datasets wrap it). It reads
what ``retvis label`` writes (columns ``name``, ``status``, ``uptake_mol_kg``, its error,
timings, provenance...) as well as a hand-made ``name,value`` table, and validates what
a training or evaluation run relies on: a ``name`` column, one chosen numeric column,
every used name once, every value finite (and non-negative unless asked otherwise).

When the table has a ``status`` column, only rows whose status is ``ok`` are used; the
others are counted in :attr:`Labels.skipped` and not validated (a failed GCMC row has no
uptake, and a retried material has a failed row before its ``ok`` row).

Each problem is a :class:`~retvis.errors.DataError` naming the file, the row (1-based,
header = row 1) and what was found.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import DataError

#: Column holding material names.
NAME_COLUMN = "name"
#: Optional column with the outcome of each row; only ``ok`` rows are used.
STATUS_COLUMN = "status"
#: Value column used when none is named and the table has one.
DEFAULT_COLUMN = "value"
#: Largest labels file read, bytes.
MAX_LABELS_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Labels:
    """A labels table reduced to names and finite values.

    Attributes
    ----------
    names : list of str
        Material names, unique, in file order.
    values : NDArray[np.float64]
        Shape (N,), in the units of the column (mol/kg for the shipped uptake tables).
    column : str
        The value column used.
    path : Path
        The file.
    skipped : int
        Rows left out because their ``status`` was not ``ok``.
    """

    names: list[str]
    values: NDArray[np.float64]
    column: str
    path: Path
    skipped: int = 0


def read_label_table(
    path: str | Path,
    column: str | None = None,
    *,
    name_column: str = NAME_COLUMN,
    allow_negative: bool = False,
) -> Labels:
    """Read and validate a labels CSV.

    Parameters
    ----------
    path : str or Path
        CSV file (UTF-8, a byte-order mark is allowed) with a header row.
    column : str, optional
        Value column. Default: ``value`` when the table has one; else the only column
        besides the name (and ``status``); else the only numeric one among them. A
        column counts as numeric when any used cell reads as a number, so a typo in the
        wanted column makes the choice ambiguous (an error) rather than silently wrong.
    name_column : str
        Column holding material names.
    allow_negative : bool
        Accept negative values. Off by default: an uptake cannot be negative. Targets
        that can be (an adsorption enthalpy, a log, a difference) need it.

    Returns
    -------
    Labels

    Raises
    ------
    DataError
        Unreadable, too large, binary or non-UTF-8 file; no name column; an ambiguous or
        unknown value column; in a used row, a missing or duplicated name, an empty,
        non-numeric, NaN or infinite value, or a negative one (unless allowed); no used
        row at all.
    """
    path = Path(path)
    text = _read_text(path)
    records = csv.reader(io.StringIO(text, newline=""))
    header = _header(records, name_column, path)
    has_status = STATUS_COLUMN in header and name_column != STATUS_COLUMN
    i_name = header.index(name_column)
    i_status = header.index(STATUS_COLUMN) if has_status else None
    rows, skipped = _used_rows(records, i_status)
    _check_one_protocol(header, rows, path)
    others = [h for h in header if h and h not in (name_column, STATUS_COLUMN)]
    column = _choose_column(header, others, rows, column, path)
    names, values = _names_and_values(
        rows, i_name, header.index(column), column, allow_negative, path
    )
    if not names:
        if skipped:
            raise DataError(f"no labels: none of the {skipped} rows has status 'ok'", path)
        raise DataError("no labels: the table has a header but no rows", path)
    return Labels(names, values, column, path, skipped)


def _header(records, name_column: str, path: Path) -> list[str]:
    """The table's header row, stripped; it must hold ``name_column`` and no column
    name twice."""
    header = [h.strip() for h in next(records, [])]
    if name_column not in header:
        raise DataError(f"no {name_column!r} column; the header is {header}", path)
    dup = sorted({h for h in header if h and header.count(h) > 1})
    if dup:
        raise DataError(f"duplicated column name(s) {dup} in the header {header}", path)
    return header


def _used_rows(records, i_status: int | None) -> tuple[list[tuple[int, list[str]]], int]:
    """The rows to use as (row number, cells), blank lines left out, and the number of
    rows skipped because their status (column ``i_status``, if any) is not ``ok``."""
    rows: list[tuple[int, list[str]]] = []
    skipped = 0
    for row_no, row in enumerate(records, start=2):
        if not any(c.strip() for c in row):
            continue  # blank line
        if i_status is not None and _cell(row, i_status).lower() != "ok":
            skipped += 1
            continue
        rows.append((row_no, row))
    return rows, skipped


def _check_one_protocol(header: list[str], rows: list[tuple[int, list[str]]], path: Path) -> None:
    """Refuse a ``retvis label`` table whose used rows were simulated under more than
    one protocol."""
    if "protocol" in header and "raspalib" in header:  # a `retvis label` table
        i_proto = header.index("protocol")
        protocols = sorted({_cell(row, i_proto) for _, row in rows})
        if len(protocols) > 1:
            raise DataError(
                f"the labels were simulated under {len(protocols)} protocols "
                f"({', '.join(protocols)}); train on one: keep each protocol's rows in "
                "a table of its own",
                path,
            )


def _names_and_values(
    rows: list[tuple[int, list[str]]],
    i_name: int,
    i_value: int,
    column: str,
    allow_negative: bool,
    path: Path,
) -> tuple[list[str], NDArray[np.float64]]:
    """Each used row's name and value, checked: a name present and not seen before, a
    finite number, non-negative unless ``allow_negative``."""
    names: list[str] = []
    values = np.empty(len(rows), dtype=np.float64)
    first_row: dict[str, int] = {}
    for k, (row_no, row) in enumerate(rows):
        name, raw = _cell(row, i_name), _cell(row, i_value)
        if not name:
            raise DataError(f"row {row_no}: missing name", path)
        if name in first_row:
            raise DataError(
                f"row {row_no}: duplicated name {name!r} (first in row {first_row[name]})", path
            )
        if not raw:
            raise DataError(f"row {row_no} ({name}): {column} is empty", path)
        try:
            value = float(raw)
        except ValueError:
            raise DataError(
                f"row {row_no} ({name}): {column} is not a number: {raw!r}", path
            ) from None
        if not math.isfinite(value):
            raise DataError(f"row {row_no} ({name}): {column} is {raw!r}, not finite", path)
        if value < 0 and not allow_negative:
            raise DataError(
                f"row {row_no} ({name}): negative {column} {value:g} (an uptake cannot be "
                f"negative; for a target that can, allow it: --allow-negative)",
                path,
            )
        first_row[name] = row_no
        names.append(name)
        values[k] = value
    return names, values


def read_labels(path: str | Path, column: str | None = None) -> dict[str, float]:
    """Read a labels CSV of uptakes into ``{name: uptake}``.

    The same reading and checks as :func:`read_label_table` (negative values refused).

    Parameters
    ----------
    path : str or Path
        CSV file with a header row.
    column : str, optional
        Uptake column; chosen as in :func:`read_label_table` when omitted.

    Returns
    -------
    dict[str, float]
        Uptake per material name, in the units of the file, in file order.

    Raises
    ------
    DataError
        As :func:`read_label_table`.
    """
    table = read_label_table(path, column)
    return dict(zip(table.names, table.values.tolist(), strict=True))


def _read_text(path: Path) -> str:
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
    return text


def _cell(row: list[str], i: int) -> str:
    return row[i].strip() if i < len(row) else ""


def _choose_column(
    header: list[str],
    others: list[str],
    rows: list[tuple[int, list[str]]],
    column: str | None,
    path: Path,
) -> str:
    """The value column: the one named, else ``value``, the only other, the only numeric."""
    if column is not None:
        if column not in others:
            raise DataError(f"no column {column!r}; valid: {others}", path)
        return column
    if DEFAULT_COLUMN in others:
        return DEFAULT_COLUMN
    if len(others) == 1:
        return others[0]
    numeric = [h for h in others if _any_number(rows, header.index(h))]
    if len(numeric) == 1:
        return numeric[0]
    raise DataError(
        f"cannot tell which column holds the uptake among numeric columns {numeric} "
        f"(all: {others}); name one (--target)",
        path,
    )


def _any_number(rows: list[tuple[int, list[str]]], i: int) -> bool:
    for _, row in rows:
        try:
            float(_cell(row, i))
        except ValueError:
            continue
        return True
    return False
