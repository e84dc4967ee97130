"""The active-learning loop (``retvis learn``): choose, simulate, learn, repeat.

A pool of structures, a simulation protocol and a budget of simulations. Each round the
surrogate of :mod:`retvis.ml.active` (a Gaussian process on the backbone's fingerprints)
is fitted to the labels so far and picks the next batch by the chosen rule (a diverse
seed set while fewer than two are known); ``retvis label``'s machinery simulates it,
each finished structure appended to the run's label table at once. A round is written
to ``rounds.jsonl`` before its simulations start, with the surrogate's prediction for
every structure it chose, so a run killed at any moment resumes where it stopped: it
finishes the round's remaining structures and keeps every label
(docs/active-learning.md).

Run folder: ``learn.json`` (format, protocol, settings, pool), ``labels.csv`` (a
``retvis label`` table), ``rounds.jsonl`` (one line per round).
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..core import formats
from ..core.cache import GridCache, atomic_write_bytes
from ..errors import DataError, SpecError
from ..ml.active import STRATEGIES, backbone_for_guest, next_batch, pool_from_files
from ..sim.gcmc import Protocol, WidomProtocol
from ..sim.labels import DEFAULT_TIMEOUT, LabelTable, columns_for, iter_labels


@dataclass(frozen=True)
class LearnConfig:
    """Settings of a loop: ``budget`` simulations in all, ``batch`` per round, the
    acquisition ``rule`` ("best": find the top materials; "uncertainty": an accurate
    model; "random"), ``jobs`` simulations at a time here, or on the workers of the Dask
    ``scheduler`` at that address. Where the simulations run (``jobs``, ``scheduler``)
    may change when a run is resumed, as may the ``budget``; the rest may not."""

    budget: int
    batch: int = 10
    rule: str = "best"
    seed: int = 0
    jobs: int = 1
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.budget < 1 or self.batch < 1 or self.jobs < 1:
            raise SpecError(
                f"budget, batch and jobs must be at least 1; got {self.budget}, "
                f"{self.batch}, {self.jobs}"
            )
        if self.rule not in STRATEGIES:
            raise SpecError(f"rule must be one of {', '.join(STRATEGIES)}, got {self.rule!r}")


#: Settings a resumed run may change: they say how much to run and where, not what.
_MAY_CHANGE = ("budget", "jobs", "scheduler")


def value_column(protocol: Protocol | WidomProtocol) -> str:
    """The label column a loop learns: the uptake, or the Henry coefficient (Widom)."""
    return "henry_mol_kg_pa" if isinstance(protocol, WidomProtocol) else "uptake_mol_kg"


class LearningRun:
    """A run folder: its settings, label table and rounds."""

    def __init__(self, root: str | os.PathLike[str], protocol: Protocol | WidomProtocol) -> None:
        self.root = Path(root)
        self.protocol = protocol
        self.identity = protocol.identity()
        self.settings = self.root / "learn.json"
        self.table = LabelTable(self.root / "labels.csv", columns_for(protocol))
        self.rounds_path = self.root / "rounds.jsonl"

    def start(self, cfg: LearnConfig, pool: Sequence[Path]) -> None:
        """Record the settings, or check a resumed run has the same ones."""
        mine = {
            **formats.stamp("retvis-learn"),
            "protocol": self.protocol.to_dict(),
            "identity": self.identity,
            "config": asdict(cfg),
            "pool": [str(p) for p in pool],
        }
        if self.settings.is_file():
            try:
                saved = json.loads(self.settings.read_text())
            except (OSError, ValueError) as exc:
                raise DataError(f"unreadable learning run settings ({exc})", self.settings) from exc
            if not isinstance(saved, dict) or saved.get("format") != "retvis-learn":
                raise DataError("not a RetVis learning run", self.settings)
            saved = formats.upgraded(saved, "retvis-learn", self.settings)
            # the budget may grow (run more) and the simulations run elsewhere; the rest
            # must be the run's own
            theirs = {"identity": saved.get("identity"), **saved.get("config", {})}
            ours = {"identity": self.identity, **asdict(cfg)}
            for key in ours:
                if key not in _MAY_CHANGE and theirs.get(key) != ours[key]:
                    raise DataError(
                        f"this run folder holds a loop with other settings ({key}: "
                        f"{theirs.get(key)}); rerun with those, or choose a new folder",
                        self.root,
                    )
            return
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.settings, json.dumps(mine, indent=1).encode())

    def rounds(self) -> list[dict]:
        """The rounds recorded so far (a line torn by a kill is ignored)."""
        if not self.rounds_path.is_file():
            return []
        out = []
        for line in self.rounds_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                break  # a torn last line: the round is chosen again
        return out

    def add_round(self, record: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.rounds_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def done(self) -> dict[str, dict[str, str]]:
        """Rows of the run's protocol, by name."""
        return self.table.done(self.identity)

    def known(self) -> dict[str, float]:
        """The successful labels so far, by name."""
        col = value_column(self.protocol)
        return {n: float(r[col]) for n, r in self.done().items() if r["status"] == "ok"}


def progress_table(run: LearningRun) -> list[dict]:
    """Per round, what it bought: simulations spent after it, the best label found so
    far, and the surrogate's error on the round's structures before they were simulated
    (mean absolute error of log(1 + value): a prospective validation error)."""
    done = run.done()
    col = value_column(run.protocol)
    out, best, spent = [], -math.inf, 0
    for r in run.rounds():
        errs = []
        for name in r["chosen"]:
            row = done.get(name)
            if row is None:
                continue
            spent += 1
            if row["status"] == "ok":
                v = float(row[col])
                best = max(best, v)
                p = r.get("predicted", {}).get(name)
                if p is not None:
                    errs.append(abs(math.log1p(max(v, 0.0)) - math.log1p(max(p, 0.0))))
        out.append(
            {
                "round": r["round"],
                "rule": r["rule"],
                "simulations": spent,
                "best": None if best == -math.inf else best,
                "surrogate_mae_log": float(np.mean(errs)) if errs else None,
            }
        )
    return out


def run_loop(
    files: Sequence[Path],
    protocol: Protocol | WidomProtocol,
    cfg: LearnConfig,
    out: str | os.PathLike[str],
    progress: Callable[[dict], None] | None = None,
    cancel: threading.Event | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    wall_timeout: float | None = None,
) -> dict:
    """Run (or resume) the loop until ``cfg.budget`` structures are simulated, the pool
    is exhausted or ``cancel`` is set. ``progress`` gets every label row and every new
    round record. Returns a summary."""
    cancel = cancel or threading.Event()
    run = LearningRun(out, protocol)
    run.start(cfg, files)
    backbone = backbone_for_guest(protocol.guest)
    names, paths, x, failures = pool_from_files(list(files), backbone, cache=GridCache())
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"the pool has two files named {dup[0]}: names identify structures")
    by_name = dict(zip(names, paths, strict=True))
    rounds = run.rounds()
    while not cancel.is_set():
        done = run.done()
        if len(done) >= cfg.budget:
            break
        last = rounds[-1] if rounds else None
        pending = [n for n in last["chosen"] if n not in done] if last else []
        if not pending:
            known = run.known()
            rng = np.random.default_rng([cfg.seed, len(rounds)])
            size = min(cfg.batch, cfg.budget - len(done))
            b = next_batch(x, names, known, cfg.rule, size, rng, skip=set(done), seed=cfg.seed)
            if not b.picked:
                break  # every structure of the pool is done
            where = {int(i): k for k, i in enumerate(b.candidates)}
            record = {
                "round": len(rounds) + 1,
                "rule": b.rule,
                "chosen": [names[i] for i in b.picked],
                "labels_before": len(known),
                "predicted": {
                    names[i]: float(b.mean[where[i]])
                    for i in b.picked
                    if math.isfinite(b.mean[where[i]])
                },
            }
            run.add_round(record)
            rounds.append(record)
            if progress is not None:
                progress({"event": "round", **record})
            pending = record["chosen"]
        for row in iter_labels(
            [by_name[n] for n in pending],
            protocol,
            jobs=cfg.jobs,
            timeout=timeout,
            cancel=cancel,
            wall_timeout=wall_timeout,
            scheduler=cfg.scheduler,
        ):
            run.table.append(row)
            if progress is not None:
                progress({"event": "label", **row})
    known = run.known()
    top = sorted(known.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return {
        "simulations": len(run.done()),
        "labelled": len(known),
        "rounds": len(rounds),
        "pool": len(names),
        "pool_failed": len(failures),
        "backbone": backbone,
        "cancelled": cancel.is_set(),
        "top": top,
        "progress": progress_table(run),
    }
