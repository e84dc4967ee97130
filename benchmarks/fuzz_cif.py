"""Long fuzz of the CIF reader (and the grid engine on what it accepts).

    python3 benchmarks/fuzz_cif.py --seconds 600 --out /tmp/fuzz

Mutates the demo CIFs (tests/core/cif_mutations.py), reads each mutant with
read_structure and computes a small grid for a share of the accepted ones. Any exception
other than RetvisError, or an accepted structure breaking an invariant, is a finding:
its bytes are saved in --out. Prints counts per outcome. Not a test: it never gates CI.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from retvis.core.grid import GridSpec, compute_grid  # noqa: E402
from retvis.core.structure import read_structure  # noqa: E402
from retvis.errors import RetvisError  # noqa: E402
from tests.core.cif_mutations import mutate  # noqa: E402
from tests.core.test_fuzz_cif import check_structure  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument(
        "--grid-share",
        type=float,
        default=0.2,
        help="share of accepted mutants whose grid is computed (n = 8)",
    )
    ap.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    args = ap.parse_args()
    seeds = {p.name: p.read_bytes() for p in sorted((ROOT / "resources" / "demo").glob("*.cif"))}
    names = sorted(seeds)
    r = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    f = args.out / "current.cif"
    outcomes: Counter[str] = Counter()
    findings = 0
    n = grids = 0
    slowest = (0.0, "")
    t_end = time.perf_counter() + args.seconds
    spec = GridSpec(n=8)
    while time.perf_counter() < t_end:
        name = r.choice(names)
        data = mutate(seeds[name], r)
        f.write_bytes(data)
        n += 1
        t0 = time.perf_counter()
        try:
            s = read_structure(f)
            check_structure(s)
            outcome = "accepted"
            if r.random() < args.grid_share:
                try:
                    g = compute_grid(s, spec)
                    assert g.boltzmann.shape == (8, 8, 8) and (g.boltzmann >= 0).all()
                    grids += 1
                except RetvisError as exc:
                    outcome = f"grid refused: {exc.kind}"
        except RetvisError as exc:
            outcome = f"refused: {exc.kind}: {re.split(r'[:(,;]', exc.reason)[0][:45]}"
        except Exception as exc:  # a finding: save it
            findings += 1
            outcome = f"FINDING {type(exc).__name__}"
            bad = args.out / f"finding_{findings:03d}_{name}"
            bad.write_bytes(data)
            bad.with_suffix(".txt").write_text(traceback.format_exc())
        dt = time.perf_counter() - t0
        if dt > slowest[0]:
            slowest = (dt, name)
        outcomes[outcome] += 1
    print(
        f"{n} mutants in {args.seconds:.0f} s ({n / args.seconds:.0f}/s), {grids} grids, "
        f"{findings} findings; slowest {slowest[0] * 1e3:.0f} ms ({slowest[1]})"
    )
    for k, v in outcomes.most_common():
        print(f"{v:8d}  {k}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
