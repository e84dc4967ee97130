"""The active-learning loop with real RASPA3 simulations (short cycles) on demo MOFs:
two rounds, what each bought, a resume with a larger budget, settings kept, and a
kill -9 in the middle of a round that loses no finished simulation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from retvis.app.learn import LearnConfig, LearningRun, progress_table, run_loop
from retvis.errors import DataError
from retvis.sim.gcmc import Protocol
from tests.conftest import REPO, demo

POOL = ["SENWAL_clean", "PEKKAS_clean", "ODIXEG_clean", "TOXNEB_clean", "KAXQIL_clean",
        "DEKHUX_clean"]  # fmt: skip
SHORT = Protocol(init_cycles=10, cycles=20)


def test_two_rounds_label_the_chosen_and_a_larger_budget_goes_on(tmp_path):
    files = [demo(n) for n in POOL]
    events = []
    s = run_loop(files, SHORT, LearnConfig(budget=4, batch=2), tmp_path, progress=events.append)
    assert (s["simulations"], s["rounds"], s["pool"]) == (4, 2, 6)
    run = LearningRun(tmp_path, SHORT)
    rounds = run.rounds()
    assert rounds[0]["rule"] == "diverse seed" and rounds[1]["rule"] == "best"
    chosen = rounds[0]["chosen"] + rounds[1]["chosen"]
    assert sorted(chosen) == sorted(run.done()) and len(set(chosen)) == 4
    # the second round was chosen by the surrogate: its predictions are on record
    assert set(rounds[1]["predicted"]) == set(rounds[1]["chosen"])
    table = progress_table(run)
    assert [t["simulations"] for t in table] == [2, 4]
    assert table[1]["best"] == max(run.known().values()) > 0
    assert table[0]["surrogate_mae_log"] is None and table[1]["surrogate_mae_log"] >= 0
    assert [e["event"] for e in events].count("label") == 4
    before = {n: r["finished_utc"] for n, r in run.done().items()}
    s = run_loop(files, SHORT, LearnConfig(budget=6, batch=2), tmp_path)
    assert s["simulations"] == 6 and s["rounds"] == 3
    assert all(run.done()[n]["finished_utc"] == t for n, t in before.items())
    with pytest.raises(DataError, match="other settings"):
        run_loop(files, SHORT, LearnConfig(budget=6, batch=3), tmp_path)


def test_a_kill_9_mid_round_loses_no_finished_simulation(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "retvis", "learn", *[str(demo(n)) for n in POOL], "-o",
           str(out), "--budget", "4", "--batch", "4", "--init-cycles", "10", "--cycles", "20",
           "-q"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    labels = out / "labels.csv"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if labels.is_file() and len(labels.read_text().splitlines()) >= 2:  # header + a row
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the loop and its RASPA3 child
    proc.wait()
    run = LearningRun(out, SHORT)
    kept = {n: r["finished_utc"] for n, r in run.done().items()}
    assert 1 <= len(kept) < 4
    assert subprocess.run(cmd, env=env).returncode == 0
    done = run.done()
    assert len(done) == 4 and len(run.rounds()) == 1  # the round was finished, not redrawn
    assert set(done) == set(run.rounds()[0]["chosen"])
    assert all(done[n]["finished_utc"] == t for n, t in kept.items())


def _gcmc_children() -> list[int]:
    """Process ids of running ``retvis.sim.worker`` simulations."""
    out = subprocess.run(["pgrep", "-f", "retvis.sim.worker"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_simulations_run_on_the_workers_of_a_dask_scheduler_and_cancel_stops_them(
    tmp_path, request
):
    from dask.distributed import LocalCluster

    files = [demo(n) for n in POOL]
    # Dask's nanny writes its worker settings into this process's environment
    saved = dict(os.environ)
    request.addfinalizer(lambda: (os.environ.clear(), os.environ.update(saved)))
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        s = run_loop(files, SHORT, LearnConfig(budget=4, batch=2, scheduler=address), tmp_path)
        assert (s["simulations"], s["rounds"]) == (4, 2)
        run = LearningRun(tmp_path, SHORT)
        assert all(r["status"] == "ok" for r in run.done().values()) and len(run.known()) == 4
        # the four simulations were tasks of the scheduler, not child processes here
        wall = sum(float(r["wall_seconds"]) for r in run.done().values())
        on_workers = cluster.scheduler.task_prefixes["retvis-label"].all_durations["compute"]
        assert on_workers >= 0.9 * wall > 0
        # resumed here with -j 1: where simulations run may change, the labels stay
        s = run_loop(files, SHORT, LearnConfig(budget=4, batch=2, jobs=1), tmp_path)
        assert s["simulations"] == 4

        # cancel while long simulations run on the workers: their RASPA3 children die
        cancel = threading.Event()
        long = Protocol(init_cycles=10, cycles=100_000)
        cfg = LearnConfig(budget=2, batch=2, scheduler=address)
        t = threading.Thread(
            target=run_loop, args=(files, long, cfg, tmp_path / "long"), kwargs={"cancel": cancel}
        )
        t.start()
        deadline = time.monotonic() + 120
        while len(_gcmc_children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_gcmc_children()) == 2, "the simulations did not start on the workers"
        cancel.set()
        t.join(30)
        assert not t.is_alive()
        deadline = time.monotonic() + 10
        while _gcmc_children() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gcmc_children() == []
        assert LearningRun(tmp_path / "long", long).done() == {}  # nothing half-done recorded
