"""CSV tables for people: written atomically, every text cell quoted, and a cell that a
spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or carriage
return, and not a number) prefixed with ``'``, as spreadsheet-safe exporters do (OWASP,
"CSV injection"). Tables RetVis reads back itself (labels, descriptors) are not written
here: their names must round-trip unchanged.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .cache import atomic_write_bytes

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value``, with ``'`` in front if it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def table_text(header: list[str], rows, delimiter: str = ",") -> str:
    """The table as CSV text, text cells quoted and made spreadsheet-safe."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    w.writerow(header)
    w.writerows([safe_cell(v) for v in row] for row in rows)
    return buf.getvalue()


def write_csv(path: Path, header: list[str], rows) -> None:
    """Write a table atomically, UTF-8 (undecodable file-name bytes as ``\\xNN``)."""
    text = table_text(header, rows)
    try:  # file names with undecodable bytes (os.fsdecode's surrogates) -> \xNN
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        pass
    atomic_write_bytes(Path(path), text.encode("utf-8", "backslashreplace"))
