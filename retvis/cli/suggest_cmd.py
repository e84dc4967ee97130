"""``retvis suggest PATH... --labels TABLE -o NEXT.txt``: what to simulate next.

The pool is every structure given; the labels table (``retvis label``'s, or any with
``name`` and the ``--target`` column) says which are known. Each structure is described
by the pretrained backbone's fingerprint of its energy grid, a Gaussian process is
fitted to the known ones, and the next ``--batch`` structures are chosen by ``--rule``
(``best``: expected improvement, to find the top materials; ``uncertainty``: to make the
model accurate; ``random``), spread out in fingerprint space; with fewer than two
labels, by diversity alone. ``NEXT.txt`` lists their paths, one per line, for
``retvis label --files-from NEXT.txt``; ``NEXT.csv`` beside it gives each one's
predicted value, spread and score. Run it again after labelling for the next batch.
"""

from __future__ import annotations

from pathlib import Path


def add_rule_option(p) -> None:
    """``--rule``: the acquisition rule of ``suggest`` and ``learn``."""
    from ..ml.active import STRATEGIES

    p.add_argument(
        "--rule",
        choices=STRATEGIES,
        default="best",
        help="best: find the top materials (default); uncertainty: an accurate model",
    )


def register(sub) -> None:
    p = sub.add_parser(
        "suggest",
        help="choose the structures to simulate next (active learning)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="the pool: CIF files or folders")
    p.add_argument("--labels", type=Path, help="labels table of the structures known so far")
    p.add_argument(
        "--target",
        default="uptake_mol_kg",
        help="value column of --labels (default uptake_mol_kg, as retvis label writes)",
    )
    add_rule_option(p)
    p.add_argument("--batch", type=int, default=10, help="structures to suggest (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "-o", "--out", required=True, type=Path, help="text file of paths (and NEXT.csv)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from ..core.cache import GridCache, atomic_write_bytes
    from ..core.labels import read_label_table
    from ..errors import SpecError
    from ..ml.active import next_batch, pool_from_files
    from ._common import input_files, output_file, progress_bar, report, write_csv

    if args.batch < 1:
        raise SpecError(f"--batch must be at least 1, got {args.batch}")
    output_file(args.out, "next.txt")
    files = input_files(args.paths)
    known: dict[str, float] = {}
    if args.labels is not None:
        table = read_label_table(args.labels, args.target)
        known = dict(zip(table.names, table.values.tolist(), strict=True))
    bar = progress_bar(len(files), "grids", disable=args.quiet)

    def progress(o) -> None:
        bar.update(1)
        if o.status != "ok":
            bar.write(f"failed: {o.path}: {o.reason}")

    try:
        names, paths, x, failures = pool_from_files(files, progress=progress, cache=GridCache())
    finally:
        bar.close()
    failed = len(failures)
    labelled = [n for n in names if n in known]
    b = next_batch(x, names, known, args.rule, args.batch, np.random.default_rng(args.seed),
                   seed=args.seed)  # fmt: skip
    picked, rule, rest, mean, std, score = b.picked, b.rule, b.candidates, b.mean, b.std, b.score
    where = {int(i): k for k, i in enumerate(rest)}
    atomic_write_bytes(args.out, "".join(f"{paths[i]}\n" for i in picked).encode())
    table_path = args.out.with_suffix(".csv")
    write_csv(
        table_path,
        ["order", "name", "path", "prediction", "std", "score", "rule"],
        [
            [
                k + 1,
                names[i],
                str(paths[i]),
                f"{mean[where[i]]:.6g}",
                f"{std[where[i]]:.3g}",
                f"{score[where[i]]:.3g}",
                rule,
            ]
            for k, i in enumerate(picked)
        ],
    )
    report(
        args,
        f"{len(picked)} structures to simulate next ({rule}; "
        f"{len(labelled)} of {len(names)} in the pool labelled, {failed} failed) -> {args.out}, "
        f"{table_path}",
        out=args.out,
        table=table_path,
        picked=[names[i] for i in picked],
        labelled=len(labelled),
        pool=len(names),
        failed=failed,
    )
    return 0 if not failed else 1
