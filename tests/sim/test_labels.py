"""Batches of GCMC labels: the CSV table, statuses, failure rows, resume, timeouts."""

import csv
import os
import subprocess
import sys
import time

import pytest

from retvis.cli import main
from retvis.errors import DataError
from retvis.sim.gcmc import Protocol
from retvis.sim.labels import COLUMNS, LabelTable, label_one
from tests.conftest import REPO, demo

FAST_ARGS = ["--init-cycles", "20", "--cycles", "60", "-q"]
FAST = Protocol(init_cycles=20, cycles=60)


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_label_cli_writes_rows_and_failure_reasons(tmp_path):
    bad = tmp_path / "broken.cif"
    bad.write_text("data_x\n_cell_length_a 10\n")
    out = tmp_path / "labels.csv"
    rc = main(
        [
            "label",
            str(demo("SENWAL_clean")),
            str(demo("PEKKAS_clean")),
            str(bad),
            str(tmp_path / "missing.cif"),
            "-o",
            str(out),
            "--guest",
            "CH4",
            "--pressure",
            "580kPa",
            "--temperature",
            "298K",
            "-j",
            "2",
            *FAST_ARGS,
        ]
    )
    assert rc == 1  # two inputs failed
    with open(out, newline="") as fh:
        assert next(csv.reader(fh)) == COLUMNS
    rows = {r["name"]: r for r in _read(out)}
    assert set(rows) == {"SENWAL_clean", "PEKKAS_clean", "broken", "missing"}
    ident = FAST.identity()
    for name in ("SENWAL_clean", "PEKKAS_clean"):
        r = rows[name]
        assert r["status"] == "ok" and r["reason"] == "" and r["protocol"] == ident
        assert float(r["uptake_mol_kg"]) > 0 and float(r["uptake_err_mol_kg"]) >= 0
        assert float(r["uptake_cm3_cm3"]) > 0 and float(r["seconds"]) > 0
        assert len(r["sha256"]) == 64 and r["raspalib"] and r["finished_utc"].endswith("Z")
    assert rows["SENWAL_clean"]["uptake_mol_kg"] > rows["PEKKAS_clean"]["uptake_mol_kg"]
    assert rows["broken"]["status"] == "failed" and rows["broken"]["kind"] == "structure"
    assert rows["broken"]["reason"] == "no unit cell: _cell_length_b, _cell_length_c missing"
    assert rows["missing"]["reason"] == "file not found"
    for name in ("broken", "missing"):  # never a silent zero
        assert rows[name]["uptake_mol_kg"] == "" and rows[name]["protocol"] == ident


def test_rerun_resumes_without_recomputing(tmp_path, capsys):
    out = tmp_path / "labels.csv"
    files = [str(demo("SENWAL_clean")), str(demo("PEKKAS_clean"))]
    assert main(["label", *files, "-o", str(out), "--limit", "1", *FAST_ARGS]) == 0
    first = _read(out)
    assert [r["name"] for r in first] == ["SENWAL_clean"]  # files run in the given order
    assert main(["label", *files, "-o", str(out), *FAST_ARGS]) == 0
    second = _read(out)
    assert [r["name"] for r in second] == ["SENWAL_clean", "PEKKAS_clean"]
    assert second[0] == first[0]  # the finished row was not recomputed
    hours = float(second[1]["wall_seconds"]) / 3600  # the summary counts this run's rows only
    said = capsys.readouterr().out
    assert f"1 ok, 0 failed (none) in {hours:.2f} structure-hours (0.00 CPU-hours)" in said
    before = out.read_bytes()
    assert main(["label", *files, "-o", str(out), *FAST_ARGS]) == 0
    assert out.read_bytes() == before  # nothing left to do
    # another protocol is another label: it runs again
    assert main(["label", files[0], "-o", str(out), "--seed", "7", *FAST_ARGS]) == 0
    third = _read(out)
    assert (
        len(third) == 3
        and third[2]["protocol"] == Protocol(init_cycles=20, cycles=60, seed=7).identity()
    )


def test_killed_batch_resumes_from_the_table(tmp_path):
    out = tmp_path / "labels.csv"
    files = [str(demo(n)) for n in ("SENWAL_clean", "EDUSIF_clean", "VOGTIV_clean_h")]
    cmd = [sys.executable, "-m", "retvis", "label", *files, "-o", str(out), *FAST_ARGS]
    proc = subprocess.Popen(cmd, cwd=REPO)
    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or len(_read(out)) < 1):
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    done_before = _read(out)
    assert 1 <= len(done_before) <= 3
    with open(out, "a") as fh:  # a line torn by the kill
        fh.write("VOGTIV_clean_h,ok,,,12.")
    assert main(["label", *files, "-o", str(out), *FAST_ARGS]) == 0
    rows = _read(out)
    assert sorted(r["name"] for r in rows) == ["EDUSIF_clean", "SENWAL_clean", "VOGTIV_clean_h"]
    assert rows[: len(done_before)] == done_before
    assert all(r["status"] == "ok" for r in rows)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process from /proc, None if it is gone."""
    from pathlib import Path

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def _workers_of(parent_pid: int) -> list[int]:
    """Pids of ``retvis.sim.worker`` processes whose parent is ``parent_pid``."""
    from pathlib import Path

    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        st = _stat(int(d.name))
        if b"retvis.sim.worker" in cmd and st is not None and st[1] == parent_pid:
            found.append(int(d.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl death signal: Linux")
def test_killing_the_label_command_kills_its_simulation(tmp_path):
    """kill -9 of `retvis label` leaves no simulation running as an orphan."""
    out = tmp_path / "labels.csv"
    cmd = [sys.executable, "-m", "retvis", "label", str(demo("FIQCEN_clean")), "-o", str(out)]
    proc = subprocess.Popen(cmd, cwd=REPO)  # full protocol: minutes, killed long before
    deadline = time.time() + 60
    workers = []
    while time.time() < deadline and not workers:
        time.sleep(0.2)
        workers = _workers_of(proc.pid)
    assert workers, "the simulation process never started"
    proc.kill()
    proc.wait()
    deadline = time.time() + 10
    alive = workers
    while time.time() < deadline and alive:
        time.sleep(0.2)
        alive = [w for w in workers if (st := _stat(w)) is not None and st[0] != "Z"]
    assert not alive, f"orphaned simulation process(es) {alive}"


def test_a_row_reports_the_cpu_time_of_its_process():
    row = label_one(demo("SENWAL_clean"), FAST)
    assert row["status"] == "ok"
    assert 0.2 < row["cpu_seconds"] <= 1.05 * row["wall_seconds"] + 0.1  # one thread
    assert "cpu_seconds" not in COLUMNS  # reported by the command, not stored


def test_timeout_is_a_row_with_its_reason():
    # a wall cap well above the CPU limit: on a crowded machine the default 4x (4 s) can
    # pass before the worker has had 1 s of CPU, and the wall cap is tested below
    row = label_one(demo("FIQCEN_clean"), Protocol(), timeout=1.0, wall_timeout=60.0)
    assert row["status"] == "timeout" and "1 s CPU-time limit" in row["reason"]
    assert "uptake_mol_kg" not in row and row["wall_seconds"] < 30


def _label_with_worker_paused(pause_s, **limits):
    """Run SENWAL (fast protocol) while its worker is stopped for ``pause_s`` seconds.

    Returns the row and whether the worker was caught and stopped while alive.
    """
    import signal
    import threading

    out = {}
    t = threading.Thread(
        target=lambda: out.update(row=label_one(demo("SENWAL_clean"), FAST, **limits))
    )
    t.start()
    stopped = False
    deadline = time.time() + 30
    while time.time() < deadline and t.is_alive() and not stopped:
        for pid in _workers_of(os.getpid()):
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            stopped = True
            time.sleep(pause_s)
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        time.sleep(0.01)
    t.join(120)
    return out["row"], stopped


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CPU time from /proc: Linux")
def test_the_limit_counts_cpu_time_so_a_starved_worker_still_finishes():
    """A worker that gets no CPU for longer than the limit is not killed for it."""
    row, stopped = _label_with_worker_paused(6.0, timeout=3.0, wall_timeout=120)
    assert stopped, "the simulation process was never caught running"
    assert row["wall_seconds"] > 6.0  # it sat stopped past the 3 s limit...
    assert row["status"] == "ok", row.get("reason")  # ...and still finished


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CPU time from /proc: Linux")
def test_label_refuses_a_limit_that_is_not_positive(tmp_path, capsys):
    out = tmp_path / "labels.csv"
    assert main(["label", str(demo("SENWAL_clean")), "-o", str(out), "--timeout", "0"]) != 0
    assert "--timeout must be a positive number of seconds" in capsys.readouterr().err
    assert not out.exists()


def test_a_hung_worker_stops_at_the_wall_clock_cap():
    row, stopped = _label_with_worker_paused(8.0, timeout=600, wall_timeout=2.0)
    assert stopped
    assert row["status"] == "timeout" and "2 s wall-clock cap" in row["reason"], row
    assert row["wall_seconds"] < 8.0


def test_foreign_table_is_refused(tmp_path):
    p = tmp_path / "other.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="not a RetVis labels table"):
        LabelTable(p).done(FAST.identity())


def test_retry_failed_reruns_only_failures(tmp_path):
    out = tmp_path / "labels.csv"
    target = tmp_path / "late.cif"
    assert main(["label", str(target), "-o", str(out), *FAST_ARGS]) == 1
    assert _read(out)[0]["status"] == "failed"
    target.write_bytes(demo("PEKKAS_clean").read_bytes())
    assert main(["label", str(target), "-o", str(out), *FAST_ARGS]) == 0  # skipped: recorded
    assert len(_read(out)) == 1
    assert main(["label", str(target), "-o", str(out), "--retry-failed", *FAST_ARGS]) == 0
    rows = _read(out)
    assert [r["status"] for r in rows] == ["failed", "ok"]
    assert LabelTable(out).done(FAST.identity())["late"]["status"] == "ok"  # last row wins


def test_labels_for_training_pick_one_protocol(tmp_path):
    out = tmp_path / "labels.csv"
    t = LabelTable(out)
    base = {
        "status": "ok",
        "uptake_mol_kg": 1.5,
        "uptake_err_mol_kg": 0.1,
        "uptake_cm3_cm3": 30.0,
        "uptake_err_cm3_cm3": 2.0,
    }
    t.append(dict(base, name="A", protocol="p1"))
    t.append({"name": "B", "status": "failed", "reason": "x", "protocol": "p1"})
    t.append(dict(base, name="A", protocol="p2", uptake_mol_kg=2.5))
    with pytest.raises(DataError, match="2 protocols"):
        t.labels()
    names, values, errors = t.labels("p2")
    assert names == ["A"] and values.tolist() == [2.5] and errors.tolist() == [0.1]
    names, values, _ = t.labels("p1", column="uptake_cm3_cm3")
    assert names == ["A"] and values.tolist() == [30.0]  # the failure is no label
    with pytest.raises(DataError, match="no rows for protocol"):
        t.labels("p3")


@pytest.mark.skipif(not os.path.exists("/proc/self/autogroup"), reason="no autogroup scheduling")
def test_a_niced_worker_in_its_own_session_stays_nice():
    """Workers start a session of their own, which autogroup scheduling weighs as a whole,
    ignoring nice; ``keep_nice`` gives the group the worker's nice value."""
    code = (
        "from pathlib import Path; from retvis.sim.worker import keep_nice; "
        "before = Path('/proc/self/autogroup').read_text().split()[-1]; keep_nice(); "
        "print(before, Path('/proc/self/autogroup').read_text().split()[-1])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        start_new_session=True,  # as label_one starts its workers
        preexec_fn=lambda: os.nice(7),
        check=True,
    ).stdout.split()
    assert out == ["0", str(min(19, os.nice(0) + 7))]  # +7 on top of the suite's own nice
