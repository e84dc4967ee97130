"""`retvis app --demo` starts the real app in a child process and draws the demo set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def test_retvis_app_demo_starts_and_quits(tmp_path):
    from PySide6.QtGui import QImage

    shot = tmp_path / "app.png"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "retvis",
            "app",
            "--demo",
            "--quit-after",
            "12",
            "--screenshot",
            str(shot),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    img = QImage(str(shot))
    assert not img.isNull() and img.width() > 400
    ptr = img.convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(ptr.constBits(), np.uint8).reshape(ptr.height(), ptr.bytesPerLine())[
        :, : ptr.width() * 3
    ]
    assert arr.std() > 20  # a window, not an empty screen
    log = Path(env.get("RETVIS_LOGS", "")) / "retvis.log"
    assert log.is_file() and "RetVis starting" in log.read_text()


def test_app_command_does_not_load_qt_to_build_the_parser():
    code = (
        "import sys; from retvis.cli import build_parser; build_parser(); "
        "print(any(m.startswith('PySide6') for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
