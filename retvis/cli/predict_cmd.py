"""``retvis predict PATH... -o ranking.csv``: predicted uptake, ensemble spread and rank.

Grids are computed with the model's own GridSpec (and cached); every input gets a row,
failures with their reason and no prediction.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..core.batch import iter_grids
from ..core.cache import GridCache
from ..core.canonical import join_notes, same_crystal_notes
from ..core.ranking import ranks
from ._common import (
    add_model_option,
    input_files,
    output_file,
    progress_bar,
    report,
    write_csv,
)


def register(sub) -> None:
    p = sub.add_parser(
        "predict", help="predict uptake and rank structures", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="CIF files or folders")
    p.add_argument("-o", "--out", required=True, type=Path, help="ranking CSV")
    add_model_option(p)
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count(), help="grid threads")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the grid cache")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


#: Columns of the ranking CSV.
HEADER = [
    "rank",
    "name",
    "prediction",
    "ensemble_std",
    "units",
    "status",
    "reason",
    "formula",
    "n_atoms",
    "density_g_cm3",
    "crystal",
    "path",
    "note",
]


def run(args) -> int:
    from ..ml.weights import load_model, notes_summary

    output_file(args.out, "ranking.csv")
    files = input_files(args.paths)
    model = load_model(args.model, device=args.device)
    model_name = Path(model.card["path"]).name
    model.spec.require_available(f"model '{model_name}'")
    outcomes = _grids(files, model.spec, args)
    ok, mean, std = _predict(model, [o for o in outcomes if o.status == "ok"])
    target = model.target
    units = target.get("units", "")
    notes = model.domain_notes(mean, std)
    rows = _ranked_rows(ok, mean, std, units, notes)
    for o in outcomes:
        if o.status != "ok":
            rows.append(
                ["", o.name, "", "", units, o.status, o.reason, "", "", "", "", str(o.path), ""]
            )
    write_csv(args.out, HEADER, rows)
    summary = notes_summary(notes)
    failed = len(outcomes) - len(ok)
    report(
        args,
        (summary + "\n" if summary else "")
        + f"{len(ok)} structures ranked by predicted {target.get('name', 'target')} "
        f"({units}) with model '{model_name}' -> {args.out}; "
        f"{failed} failed",
        out=args.out,
        ok=len(ok),
        failed=failed,
        model=model_name,
        target=target.get("name", ""),
        units=units,
        notes=sum(bool(n) for n in notes),
    )
    return 0 if failed == 0 else 1


def _grids(files, spec, args) -> list:
    """Each file's grid outcome (:func:`~retvis.core.batch.iter_grids`, cached unless
    ``--no-cache``), in input order, with a progress bar that names each failure."""
    cache = None if args.no_cache else GridCache()
    outcomes = []
    bar = progress_bar(len(files), "grids", disable=args.quiet)
    try:
        for o in iter_grids(files, spec, jobs=args.jobs, cache=cache):
            bar.update(1)
            if o.status != "ok":
                bar.write(f"failed: {o.path}: {o.reason}")
            outcomes.append(o)
    finally:
        bar.close()
    outcomes.sort(key=lambda o: o.index)
    return outcomes


def _predict(model, ok: list):
    """Predict the outcomes with a grid: (the outcomes kept, their means, their ensemble
    spreads). A prediction no material could have is refused: its outcome is marked
    failed (kind ``domain``) and left out."""
    mean = std = np.zeros(0)
    if ok:
        x = np.stack([o.grid.boltzmann for o in ok])
        mean, std = model.predict(x, density=[o.grid.density for o in ok])
        refused = model.refusals(mean, [o.grid.density for o in ok])
        for o, why in zip(ok, refused, strict=True):
            if why:
                o.status, o.reason, o.kind = "failed", why, "domain"
        keep = np.array([not why for why in refused], dtype=bool)
        ok = [o for o, k in zip(ok, keep, strict=True) if k]
        mean, std = mean[keep], std[keep]
    return ok, mean, std


def _ranked_rows(ok: list, mean, std, units: str, notes: list[str]) -> list[list]:
    """The predicted materials' CSV rows, highest prediction first, each with the model's
    note, the other files of the same crystal and the cell note."""
    rank = ranks(mean.tolist(), [o.name for o in ok])
    crystals = [o.grid.meta.get("crystal", "") for o in ok]
    same = same_crystal_notes([o.name for o in ok], crystals)
    rows = []
    for k, o in enumerate(ok):
        note = join_notes(notes[k], same[k], o.grid.meta.get("cell_note", ""))
        rows.append(
            [
                int(rank[k]),
                o.name,
                f"{mean[k]:.6g}",
                f"{std[k]:.3g}",
                units,
                "ok",
                "",
                o.structure.formula,
                o.structure.n_atoms,
                f"{o.grid.density:.4g}",
                crystals[k],
                str(o.path),
                note,
            ]
        )
    rows.sort(key=lambda r: r[0])
    return rows
