"""``retvis screen PATH... --model NAME -o results.parquet``: predict a whole database.

Computes each file's energy grid with the model's own grid settings and its predicted
value, on a local Dask cluster (``--workers``), on a running one (``--scheduler``) or
in this process (``--workers 0``). Results go to a Parquet dataset folder, one part
file per finished chunk; a rerun with the same output skips what is already there.
Failures go to ``<out>.failures.csv`` (name, path, kind, reason); ``--rank`` writes a
CSV ranked by predicted value, with the model's note on predictions outside what it
learned or above 95 % of its training labels.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import RetvisError
from ..ml.config import INFERENCE_BATCH
from ._common import (
    add_model_option,
    add_structure_limits,
    input_files,
    output_file,
    output_folder,
    progress_bar,
    report,
)


def register(sub) -> None:
    p = sub.add_parser(
        "screen",
        help="grids + model predictions for a whole database (Dask), resumable Parquet output",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="CIF files or folders")
    p.add_argument(
        "--core-mof",
        action="store_true",
        help="screen the 12,020 CoRE MOF 2019-ASR CIFs of the core-mof package "
        "(extracted once into the user cache)",
    )
    add_model_option(p)
    p.add_argument(
        "-o", "--out", required=True, type=Path, help="output Parquet dataset folder (resumed)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="local worker processes; 0: run in this process without Dask (default: 2)",
    )
    p.add_argument(
        "--threads-per-worker", type=int, default=1, help="threads per worker (default 1)"
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="use a running Dask scheduler (tcp://host:8786)"
    )
    p.add_argument("--chunk", type=int, default=64, help="files per task (default 64)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=INFERENCE_BATCH,
        help=f"grids per forward pass (default {INFERENCE_BATCH})",
    )
    p.add_argument("--rank", type=Path, metavar="CSV", help="write a CSV ranked by prediction")
    p.add_argument(
        "--failures", type=Path, metavar="CSV", help="failures table (default <out>.failures.csv)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_structure_limits(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..screen import screen

    if args.workers > 0 or args.scheduler:
        import distributed  # noqa: F401  (configures its loggers on import)

        logging.getLogger("distributed").setLevel(
            logging.INFO if args.verbose >= 2 else logging.ERROR
        )
    paths = list(args.paths)
    if args.core_mof:
        from ..core.coremof import extract

        paths.append(extract())
    if not paths:
        raise RetvisError("give CIF files or folders, or --core-mof")
    output_folder(args.out)
    for table, example in ((args.rank, "ranked.csv"), (args.failures, "failures.csv")):
        if table is not None:
            output_file(table, example)
    files = input_files(paths)  # a missing path or no CIF at all: before a cluster starts
    bar = progress_bar(0, "screen", disable=args.quiet)

    def on_start(todo: int, by_path: int, by_digest: int) -> None:
        bar.reset(total=todo)
        if by_path or by_digest:
            bar.write(
                f"resuming: {by_path + by_digest} files already in {args.out} "
                f"({by_path} by path, {by_digest} by content)"
            )

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        s = screen(
            files,  # the folders walked once, here
            args.model,
            args.out,
            workers=args.workers,
            threads_per_worker=args.threads_per_worker,
            scheduler=args.scheduler,
            chunk=args.chunk,
            batch_size=args.batch_size,
            max_atoms=args.max_atoms,
            min_distance=args.min_distance,
            progress=progress,
            on_start=on_start,
        )
    finally:
        bar.close()
    _report(args, s)
    return 0 if not (s.chunk_failures or s.failed) else 1


def _report(args, s) -> None:
    """Write the failures table (and ``--rank``'s ranking) of the output and report the
    screen ``s`` (a :class:`~retvis.screen.ScreenSummary`): counts, rate, failures by
    reason."""
    from ..screen import failure_counts, write_failures, write_ranking

    out: Path = args.out
    fail_csv = args.failures or out.with_name(out.name + ".failures.csv")
    n_fail = write_failures(out, fail_csv, s.chunk_failures)
    rate = s.screened / s.seconds if s.seconds > 0 else 0.0
    lines = [
        f"{s.screened} screened in {s.seconds:.1f} s ({rate:.2f} files/s): {s.ok} ok, "
        f"{s.failed} failed; {s.skipped_path + s.skipped_digest} already in {out}"
        + (
            f"; {len(s.chunk_failures)} in failed tasks (retried next run)"
            if s.chunk_failures
            else ""
        )
    ]
    reasons = failure_counts(out, s.chunk_failures) if n_fail else {}
    if n_fail:
        lines.append(f"{n_fail} failures in the output, by reason (see {fail_csv}):")
        lines += [f"  {n:6d}  {key}" for key, n in reasons.items()]
    ranked = None
    if args.rank:
        ranked, summary = write_ranking(out, args.rank)
        lines.append(f"{ranked} materials ranked in {args.rank}")
        if summary:
            lines.append(summary)
    report(
        args,
        "\n".join(lines),
        out=out,
        screened=s.screened,
        ok=s.ok,
        failed=s.failed,
        already=s.skipped_path + s.skipped_digest,
        failed_tasks=len(s.chunk_failures),
        seconds=s.seconds,
        failures_by_reason=reasons,
        ranked=ranked,
        rank_table=args.rank,
    )
