"""The canonical cell: one symmetry search against three, same structures, same run.

    python3 benchmarks/canonical.py [--n 150] [--seed 1] [--coremof DIR] [CIF ...]

For each structure (default: ``--n`` CoRE MOF 2019-ASR CIFs drawn with a fixed seed from
the ``core-mof`` package) the standard cell of :func:`retvis.core.canonical.canonicalize`
is computed twice:

- reference (:func:`reference_standard_cell`): how RetVis did it before, with three
  spglib symmetry searches (``get_symmetry_dataset``, ``standardize_cell`` for the input's
  positions in the standard setting, ``get_symmetry`` on the standard cell) and the
  projection onto the symmetry averaged over every atom (:func:`full_average`);
- now (``canonical._standard_cell``): one search, the positions carried by the dataset's
  transformation, the operations from spglib's database, the projection averaged once
  per orbit.

Both then go through today's origin and axis choice (``canonical._choose``), so the
script prints, per structure, the CPU milliseconds of each whole canonicalisation on one
thread, the ratio, whether the crystal digests agree, and the largest distance between
the two canonical cells' atoms (Å). Not a test: nothing here gates CI.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # one core: before numpy loads

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a source checkout


def full_average(lattice, frac, types, rot, trans):
    """Every atom averaged over the images every operation maps onto it (the reference
    projection); ``frac`` unchanged when an operation does not map the atoms onto atoms."""
    from scipy.spatial import cKDTree

    from retvis.core.canonical import SYMPREC

    f = frac - np.floor(frac)
    f[f >= 1.0] = 0.0
    tree = cKDTree(f, boxsize=1.0)
    tol = 3 * SYMPREC / float(np.linalg.norm(lattice, axis=1).min())
    img = np.einsum("nj,kij->kni", f, np.asarray(rot, float)) + np.asarray(trans)[:, None]
    wrapped = img - np.floor(img)
    wrapped[wrapped >= 1.0] = 0.0
    dist, j = tree.query(wrapped.reshape(-1, 3))
    j = j.reshape(len(img), len(f))
    if (
        dist.max() > tol
        or (types[j] != types[None]).any()
        or (np.sort(j, axis=1) != np.arange(len(f))).any()
    ):
        return frac
    acc = np.zeros_like(f)
    diff = img - f[j]
    np.add.at(acc, j.ravel(), (f[j] + (diff - np.round(diff))).reshape(-1, 3))
    return acc / len(img)


def reference_standard_cell(structure, numbers):
    """The standard cell as computed before: three symmetry searches, the full average."""
    import spglib

    from retvis.core.canonical import SYMPREC, _niggli

    cell = (structure.lattice, structure.frac, numbers)
    data = spglib.get_symmetry_dataset(cell, symprec=SYMPREC)
    if data is None:
        lat, frac = _niggli(structure.lattice, structure.frac)
        return lat, frac, numbers, np.arange(structure.n_atoms), "", "no symmetry"
    lat = np.asarray(data.std_lattice, dtype=np.float64)
    _, frac, types = spglib.standardize_cell(
        cell, to_primitive=False, no_idealize=True, symprec=SYMPREC
    )
    frac, types = np.asarray(frac, dtype=np.float64), np.asarray(types, dtype=np.int32)
    prim = np.asarray(data.mapping_to_primitive)
    first: dict[int, int] = {}
    for j, p in enumerate(prim):
        first.setdefault(int(p), j)
    index = np.array([first[int(p)] for p in data.std_mapping_to_primitive], dtype=np.int64)
    if not np.array_equal(types, np.asarray(data.std_types)):
        frac = np.asarray(data.std_positions, dtype=np.float64)
        types = np.asarray(data.std_types, dtype=np.int32)
    if data.number <= 2:
        lat, frac = _niggli(lat, frac)
    ops = spglib.get_symmetry((lat, frac, types), symprec=SYMPREC)
    if ops is not None and len(ops["rotations"]) > 1:
        frac = full_average(lat, frac, types, ops["rotations"], ops["translations"])
    return lat, frac, types, index, f"{data.international} ({data.number})", ""


def _canonical_cell(structure, standard):
    """Lattice, fractions, species order and digest, with ``standard`` as step 1."""
    from retvis.core import canonical

    numbers = canonical.atomic_numbers(structure.species)
    lat, frac, types, index, _, _ = standard(structure, numbers)
    frac, order = canonical._choose(lat, frac, types)
    return lat, frac[order], canonical.crystal_digest(lat, frac[order], types[order])


def main(argv: list[str] | None = None) -> int:
    from benchmarks.co2_probe import _sample  # the same seeded CoRE MOF draw
    from retvis.core import canonical
    from retvis.core.structure import read_structure
    from retvis.errors import RetvisError

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("cifs", nargs="*", type=Path)
    p.add_argument("--n", type=int, default=150, help="CoRE MOFs to draw (without CIFs)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--coremof", help="folder of CoRE MOF CIFs (default: the package's)")
    args = p.parse_args(argv)
    print(
        f"{'structure':24s} {'atoms':>6s} {'before ms':>9s} {'now ms':>7s} {'ratio':>6s} "
        f"{'digest':>6s} {'max d Å':>8s}"
    )
    rows = []
    for f in _sample(args):
        if len(rows) >= args.n:
            break
        try:
            s = read_structure(f)
        except RetvisError:
            continue
        t0 = time.process_time()
        old = _canonical_cell(s, reference_standard_cell)
        t1 = time.process_time()
        new = _canonical_cell(s, canonical._standard_cell)
        t2 = time.process_time()
        same = old[2] == new[2]
        d = new[1] - old[1]
        d -= np.round(d)
        dist = float(np.linalg.norm(d @ new[0], axis=1).max()) if d.shape == old[1].shape else 99.0
        rows.append((t1 - t0, t2 - t1, same, dist))
        print(
            f"{s.name[:24]:24s} {s.n_atoms:6d} {1e3 * (t1 - t0):9.1f} {1e3 * (t2 - t1):7.1f} "
            f"{(t1 - t0) / (t2 - t1):5.1f}x {'same' if same else 'DIFF':>6s} {dist:8.1e}",
            flush=True,
        )
    if not rows:
        print("no structures")
        return 1
    old_t, new_t, same, dist = (list(c) for c in zip(*rows, strict=True))
    print(f"\n{len(rows)} structures, CPU ms per structure on one thread")
    print(
        f"mean: before {1e3 * statistics.mean(old_t):.1f}, now {1e3 * statistics.mean(new_t):.1f} "
        f"({sum(old_t) / sum(new_t):.1f}x); median: before {1e3 * statistics.median(old_t):.1f},"
        f" now {1e3 * statistics.median(new_t):.1f}"
    )
    print(
        f"same crystal digest: {sum(same)} of {len(rows)}; largest atom distance between the "
        f"two canonical cells: {max(dist):.1e} Å"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
