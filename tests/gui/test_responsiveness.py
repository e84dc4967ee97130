"""The GUI thread keeps running while ~100 grids compute in the background."""

from __future__ import annotations

import time

import numpy as np


def test_gui_thread_heartbeat_during_batch(
    qtbot, make_window, drop, all_finished, demo_cifs, tmp_path, record_property, no_shipped_model
):
    from PySide6.QtCore import QTimer

    # 100 distinct files: the 20 demo CIFs five times, each copy's bytes made unique
    for k in range(5):
        for p in demo_cifs:
            (tmp_path / f"{p.stem}_{k}.cif").write_bytes(p.read_bytes() + f"\n# {k}\n".encode())
    win = make_window()  # default pool size for this machine, no cache
    beats: list[float] = []
    timer = QTimer(win)
    timer.setInterval(10)
    timer.timeout.connect(lambda: beats.append(time.perf_counter()))
    renders: list[tuple[float, float]] = []
    win.viewer.rendered.connect(lambda a, b: renders.append((a, b)))
    timer.start()
    # the app loads the compiled grid kernel at start-up (it holds the GIL for up to a
    # second once); the batch is measured after that, as a user's first drop would be
    qtbot.waitUntil(lambda: win.warmed_up, timeout=60_000)
    qtbot.wait(200)
    drop(win, [tmp_path])
    qtbot.waitUntil(lambda: all_finished(win, 100), timeout=170_000)
    timer.stop()
    gaps = np.diff(beats) * 1000.0
    assert all(r.status == "ok" for r in win.model.records())
    longest = float(gaps.max())
    # gaps that contain a 3D render or repaint (the first row is selected and drawn)
    # are the viewer's cost (software OpenGL here), not the batch's: report them apart
    b = np.asarray(beats)
    in_render = np.array(
        [any(s < e1 and e > s0 for s0, e1 in renders) for s, e in zip(b[:-1], b[1:], strict=True)]
    )
    batch_gaps = gaps[~in_render]
    longest_batch = float(batch_gaps.max())
    record_property("longest_gap_ms", longest)
    record_property("longest_gap_outside_renders_ms", longest_batch)
    print(
        f"\nGUI heartbeat over {len(beats)} beats while 100 grids computed "
        f"({win.grid_runner.workers} worker(s), viewer "
        f"{'in its own window' if win.viewer_in_window else 'docked'}): "
        f"longest gap {longest:.1f} ms ({len(renders)} 3D renders/repaints, longest "
        f"{max((e - s) * 1000 for s, e in renders):.0f} ms); "
        f"outside them: longest {longest_batch:.1f} ms, 99th percentile "
        f"{float(np.percentile(batch_gaps, 99)):.1f} ms, median "
        f"{float(np.median(batch_gaps)):.1f} ms"
    )
    # Not a timing gate (the machine is shared): a stall of half a second means a bug.
    assert longest_batch < 500.0
