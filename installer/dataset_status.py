"""Refresh the ``status`` block of a GCMC dataset's metadata from its labels table.

A labelling run grows ``resources/datasets/<dataset>.csv`` over several sessions; before
each commit of new rows the metadata's counts must say what the table holds. This
rewrites the counts (rows, ok, the rows that are not ok with their status), the CPU
hours (the one-core workers' wall seconds, as the metadata has always counted them) and
the median per structure, and leaves every other key of the block as it is.

Example (from the repository root)::

    cp ~/.local/share/retvis/labels/co2_298K_0.15bar.csv resources/datasets/
    python3 installer/dataset_status.py resources/datasets/co2_298K_0.15bar.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path


def status(rows: list[dict]) -> dict:
    """The counted part of a dataset's ``status`` block from its table rows."""
    ok = [r for r in rows if r["status"] == "ok"]
    return {
        "as_of_utc": max((r.get("finished_utc") or "" for r in rows), default="")
        or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),  # the last row's finish
        "n_rows": len(rows),
        "n_ok": len(ok),
        "not_ok": {r["name"]: r["status"] for r in rows if r["status"] != "ok"},
        "cpu_hours": round(sum(float(r["wall_seconds"] or 0) for r in rows) / 3600, 2),
        "median_seconds_per_structure": round(
            statistics.median(float(r["wall_seconds"]) for r in ok), 1
        )
        if ok
        else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("labels", type=Path, help="the dataset's labels CSV")
    args = p.parse_args(argv)
    meta_path = args.labels.with_name(args.labels.name.replace(".csv", ".meta.json"))
    meta = json.loads(meta_path.read_text())
    with open(args.labels, newline="") as fh:
        rows = list(csv.DictReader(fh))
    block = meta.setdefault("status", {})
    new = status(rows)
    if "n_ok" not in block and "ok" in block:  # the CH4 metadata's older key names
        new["rows"], new["ok"] = new.pop("n_rows"), new.pop("n_ok")
    block.update(new)
    tmp = meta_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(meta_path)
    print(
        f"{meta_path.name}: {len(rows)} rows, {sum(r['status'] == 'ok' for r in rows)} ok, "
        f"{block['cpu_hours']} CPU-hours, as of {block['as_of_utc']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
