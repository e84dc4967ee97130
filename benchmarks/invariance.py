"""Same crystal, same prediction: every structure written in several settings.

Each structure (the demo CIFs and ``--coremof N`` CoRE MOF 2019-ASR CIFs, never a
hold-out name) is written as CIF files in 8 settings with pymatgen: as deposited, the
conventional and primitive standard cells (spglib, symprec 0.01), the Niggli-reduced
cell, a 2x1x1 supercell, an origin shift of (1/2, 1/4, 1/8), a random origin shift and a
permutation of the axes (b, c, a). Every file is read back by RetVis and predicted by a
model; per structure the script prints the largest relative difference between the
predictions of its settings (relative to the mean prediction, or to 1 in the model's
units where the mean is smaller). The reference, measured in the same run, is the same
model with grids on the cell as the file writes it (``cell="as-read"``), which is what
RetVis did before canonical cells; the time canonicalisation adds is printed beside it.

    python benchmarks/invariance.py --model ch4-coremof --coremof 100 --out inv.csv

Prints a table and a summary; ``--out`` writes the per-structure table as CSV.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SETTINGS = (
    "deposited",
    "conventional",
    "primitive",
    "niggli",
    "super211",
    "shift",
    "random_shift",
    "permuted",
)


def write_settings(path: Path, out: Path, rng: np.random.Generator) -> dict[str, Path]:
    """Write ``path``'s structure in every setting of :data:`SETTINGS` as CIFs in ``out``."""
    from pymatgen.core import Lattice
    from pymatgen.core import Structure as PS
    from pymatgen.io.cif import CifWriter
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = PS.from_file(str(path))
    sga = SpacegroupAnalyzer(s, symprec=0.01)
    shifted = s.copy()
    shifted.translate_sites(range(len(s)), [0.5, 0.25, 0.125], to_unit_cell=True)
    random_shift = s.copy()
    random_shift.translate_sites(range(len(s)), rng.random(3), to_unit_cell=True)
    structures = {
        "deposited": s,
        "conventional": sga.get_conventional_standard_structure(),
        "primitive": sga.get_primitive_standard_structure(),
        "niggli": s.get_reduced_structure(),
        "super211": s * (2, 1, 1),
        "shift": shifted,
        "random_shift": random_shift,
        "permuted": PS(
            Lattice(s.lattice.matrix[[1, 2, 0]]), s.species, s.frac_coords[:, [1, 2, 0]]
        ),
    }
    files = {}
    for k, st in structures.items():
        f = out / f"{path.stem}__{k}.cif"
        CifWriter(st).write_file(str(f))
        files[k] = f
    return files


def spread(values: np.ndarray) -> float:
    """Largest difference relative to the mean (or to 1 where the mean is smaller)."""
    return float((values.max() - values.min()) / max(abs(values.mean()), 1.0))


def holdout_names() -> set[str]:
    text = (REPO / "resources" / "datasets" / "holdout_names.txt").read_text()
    return {ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="ch4-coremof")
    p.add_argument("--coremof", type=int, default=100, help="CoRE MOF CIFs besides the demo set")
    p.add_argument(
        "--max-atoms",
        type=int,
        default=600,
        help="CoRE MOFs sampled among cells of at most this many atoms",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)

    from retvis.core.grid import compute_grid
    from retvis.core.structure import read_structure
    from retvis.errors import RetvisError
    from retvis.ml.weights import load_model
    from retvis.paths import demo_dir

    model = load_model(args.model)
    spec = model.spec.replace(cell="canonical")  # also for a model trained as-read
    reference = spec.replace(cell="as-read")
    files = sorted(demo_dir().glob("*.cif"))
    if args.coremof:
        from retvis.core.coremof import extract

        held = holdout_names()
        pool = [f for f in sorted(extract().glob("*.cif")) if f.stem not in held]
        random.Random(args.seed).shuffle(pool)
        picked = 0
        for f in pool:
            if picked >= args.coremof:
                break
            try:
                if read_structure(f).n_atoms <= args.max_atoms:
                    files.append(f)
                    picked += 1
            except RetvisError:
                continue
    rng = np.random.default_rng(args.seed)
    rows = []
    print(f"{'structure':<24} {'canonical':>9} {'as-read':>8} {'+ms/struct':>10}  settings")
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            try:
                written = write_settings(path, Path(tmp), rng)
            except Exception as exc:  # noqa: BLE001 - pymatgen cannot write every input
                print(f"{path.stem:<24} skipped: pymatgen could not write its settings ({exc})")
                continue
            preds = {"canonical": [], "as-read": []}
            cpu = {"canonical": 0.0, "as-read": 0.0}
            crystals = set()
            for f in written.values():
                s = read_structure(f, min_distance=0)
                for label, sp in (("canonical", spec), ("as-read", reference)):
                    t0 = time.process_time()
                    g = compute_grid(s, sp)
                    cpu[label] += time.process_time() - t0
                    preds[label].append(float(model.predict(g.boltzmann, density=g.density)[0][0]))
                    if label == "canonical":
                        crystals.add(g.meta["crystal"])
            row = {
                "structure": path.stem,
                "n_atoms": read_structure(path).n_atoms,
                "canonical": spread(np.array(preds["canonical"])),
                "as_read": spread(np.array(preds["as-read"])),
                "extra_ms": 1000 * (cpu["canonical"] - cpu["as-read"]) / len(written),
                "crystals": len(crystals),
                "mean_prediction": float(np.mean(preds["canonical"])),
            }
            rows.append(row)
            print(
                f"{row['structure']:<24} {100 * row['canonical']:8.3f}% "
                f"{100 * row['as_read']:7.2f}% {row['extra_ms']:10.1f}  {len(written)}"
            )
    can = np.array([r["canonical"] for r in rows])
    ref = np.array([r["as_read"] for r in rows])
    extra = np.array([r["extra_ms"] for r in rows])
    print(f"\n{len(rows)} structures x {len(SETTINGS)} settings, model {args.model}")
    print(
        f"largest relative difference between settings: canonical cell median "
        f"{100 * np.median(can):.3f}% max {100 * can.max():.3f}%; as read (reference) "
        f"median {100 * np.median(ref):.2f}% max {100 * ref.max():.2f}%"
    )
    print(
        f"structures whose settings got more than one crystal digest: "
        f"{sum(r['crystals'] > 1 for r in rows)}"
    )
    print(
        f"CPU the canonical cell adds per structure (grid included): median "
        f"{np.median(extra):.1f} ms, max {extra.max():.1f} ms"
    )
    if args.out:
        with open(args.out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
