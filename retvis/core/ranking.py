"""The one ranking rule of RetVis: highest prediction first, ties by name.

``retvis predict``, ``retvis screen`` and the app's table rank with it, so the same
predictions give the same ranks wherever they are shown, whatever order the files
came in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def ranks(values: Sequence[float | None], names: Sequence[str]) -> list[int | None]:
    """Rank of each item (1 = the highest value), or None for an item without a finite
    value. Equal values are ordered by name, then by their position."""
    if len(values) != len(names):
        raise ValueError(f"{len(values)} values but {len(names)} names")
    scored = [
        (-float(v), names[i], i)
        for i, v in enumerate(values)
        if v is not None and math.isfinite(float(v))
    ]
    out: list[int | None] = [None] * len(values)
    for k, (_, _, i) in enumerate(sorted(scored)):
        out[i] = k + 1
    return out
