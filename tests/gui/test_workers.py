"""Thread plumbing pieces that need no window: zip expansion and file hashing."""

from __future__ import annotations

import hashlib
import time
import zipfile

from retvis.core.structure import read_structure
from retvis.gui import workers


def test_zip_members_are_extracted_once_and_hashed_like_structures(demo_cifs, tmp_path):
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(demo_cifs[0], demo_cifs[0].name)
        zf.write(demo_cifs[1], f"nested/dir/{demo_cifs[1].name}")
    resp = workers.import_job([archive], tmp_path / "imports")
    assert not resp.errors
    assert sorted(f.path.name for f in resp.files) == sorted(p.name for p in demo_cifs[:2])
    for f in resp.files:
        assert f.digest == read_structure(f.path).digest
    again = workers.import_job([archive], tmp_path / "imports")  # same folder, same digests
    assert [f.digest for f in again.files] == [f.digest for f in resp.files]


def test_unsafe_or_broken_archives_are_refused_with_a_reason(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../outside.cif", "data_x\n")
    resp = workers.import_job([evil], tmp_path / "imports")
    assert [f.path for f in resp.files] == [evil / "../outside.cif"]
    assert "unsafe member" in resp.files[0].reason and resp.files[0].digest.startswith("unread")
    assert not (tmp_path / "outside.cif").exists()
    fake = tmp_path / "fake.zip"
    fake.write_text("not a zip")
    resp = workers.import_job([fake], tmp_path / "imports")
    assert resp.files == [] and "zip" in resp.errors[0][1]


def test_unreadable_files_get_a_reason_and_a_stable_key(tmp_path):
    missing = tmp_path / "gone.cif"
    f = workers.file_digest(missing)
    assert f.reason == "file not found" and f.digest.startswith("unreadable:")
    ok = tmp_path / "x.cif"
    ok.write_bytes(b"data_x\n")
    assert workers.file_digest(ok).digest == hashlib.sha256(b"data_x\n").hexdigest()


def test_grid_job_reports_failures_without_raising(demo_cifs, tmp_path):
    from retvis.core.grid import GridSpec

    bad = tmp_path / "bad.cif"
    bad.write_text("data_x\n_cell_length_a 4\n")
    r = workers.compute_grid_job(workers.GridRequest(0, "k", bad, GridSpec()), workers.NEVER)
    assert r.status == "failed" and "unit cell" in r.reason and r.kind == "structure"
    good = workers.compute_grid_job(
        workers.GridRequest(0, "k", demo_cifs[0], GridSpec(n=8), tmp_path / "cache"), workers.NEVER
    )
    assert good.status == "ok" and good.grid.boltzmann.shape == (8, 8, 8)


def test_a_runner_deleted_while_its_job_runs_drops_the_result_quietly(qtbot):
    """Closing the window mid-job deletes the runners; the job's result has nowhere to go.

    Before the fix, the pool thread raised "Signal source has been deleted" into the
    Qt event loop (pytest-qt fails the test on that).
    """
    import threading

    import shiboken6

    from retvis.gui.workers import TaskRunner

    runner = TaskRunner(1)
    started = threading.Event()

    def slow() -> str:
        started.set()
        time.sleep(0.5)
        return "done"

    runner.submit("slow", slow)
    assert started.wait(5)
    shiboken6.delete(runner)  # ~QObject deletes the pool, which waits for the job
    assert not shiboken6.isValid(runner)


def test_a_shut_down_runner_ignores_new_work(qtbot):
    from retvis.gui.workers import TaskRunner

    runner = TaskRunner(1)
    got = []
    runner.finished.connect(got.append)
    runner.submit("one", lambda: 1)
    qtbot.waitUntil(lambda: len(got) == 1, timeout=5_000)
    assert runner.shutdown(1_000)
    runner.submit("two", lambda: 2)
    assert runner.wait(1_000)
    qtbot.wait(50)
    assert [r.value for r in got] == [1] and not runner.busy()


def test_cyclic_garbage_is_collected_on_the_gui_thread_never_on_a_pool_thread(qtbot):
    """A collection on a pool thread finalizes cycles made on the GUI thread there; with
    Qt or VTK objects in them that aborted CI (``retvis.gui.collector``)."""
    import gc
    import threading
    import weakref

    from retvis.gui import collector
    from retvis.gui.workers import TaskRunner

    runner = TaskRunner(1)
    assert collector.installed() and not gc.isenabled()
    where: list[str] = []

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the cyclic collector frees it
    weakref.finalize(a, lambda: where.append(threading.current_thread().name))
    del a, b

    def churn() -> list[list[int]]:  # allocates like a grid job, far past gen-0's threshold
        return [[i] for i in range(200_000)]

    got = []
    runner.finished.connect(got.append)
    runner.submit("churn", churn)
    qtbot.waitUntil(lambda: bool(got) and bool(where), timeout=10_000)
    assert len(got[0].value) == 200_000
    assert where == [threading.main_thread().name]  # the GUI thread's timer collected it
    assert runner.wait(5_000)
    collector.uninstall()
    assert gc.isenabled() and not collector.installed()


def test_grid_runner_hands_results_over_in_order_and_never_restarts_a_finished_file(
    qtbot, demo_cifs
):
    """Results come in batches; a start that arrives after its file's result is dropped.

    (With batched hand-overs a job's "started" can reach the GUI thread after its
    result; before the fix such rows went back to "running" for good.)
    """
    from retvis.core.grid import GridSpec
    from retvis.gui.workers import GridRequest, GridRunner

    runner = GridRunner(2)
    events: list[tuple[str, str]] = []
    batches: list[int] = []
    runner.started.connect(lambda k: events.append(("start", k)))

    def on_results(batch):
        batches.append(len(batch))
        events.extend(("done", r.request.key) for r in batch)
        time.sleep(0.05)  # a busy GUI thread: results pile up meanwhile

    runner.results.connect(on_results)
    files = demo_cifs * 2
    b = runner.new_batch()
    reqs = [GridRequest(b, f"{f.stem}-{i}", f, GridSpec(n=8), None) for i, f in enumerate(files)]
    runner.submit(reqs)
    qtbot.waitUntil(lambda: sum(batches) == len(reqs), timeout=60_000)
    qtbot.wait(100)
    done_at = {k: i for i, (what, k) in enumerate(events) if what == "done"}
    assert set(done_at) == {r.key for r in reqs}
    for i, (what, k) in enumerate(events):
        if what == "start":
            assert i < done_at[k], f"{k} announced as started after its result"
    assert max(batches) > 1, "results were never batched"
    assert not runner.busy() and not runner.running()
