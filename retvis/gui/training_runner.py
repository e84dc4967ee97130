"""Child processes of the CLI (``retvis train``, ``retvis label``) driven with QProcess.

The child writes one JSON object per line on stdout; each one is re-emitted as a
signal on the GUI thread. A crash or an out-of-memory in the child cannot take the GUI
down, and the CLI and the GUI run exactly the same code.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

import retvis

log = logging.getLogger(__name__)

#: Seconds to wait after writing the STOP file before sending SIGINT.
STOP_GRACE_S = 15


def cli_command(*args: str) -> tuple[str, list[str]]:
    """Program and arguments running ``python -m retvis ARGS`` with this interpreter."""
    return sys.executable, ["-m", "retvis", *args]


def child_environment() -> QProcessEnvironment:
    """This process's environment, with the package importable (checkouts too)."""
    env = QProcessEnvironment.systemEnvironment()
    root = str(Path(retvis.__file__).resolve().parent.parent)
    old = env.value("PYTHONPATH", "")
    env.insert("PYTHONPATH", root + (os.pathsep + old if old else ""))
    env.insert("PYTHONUNBUFFERED", "1")
    return env


class CliProcess(QObject):
    """Runs one CLI command; parses its JSON lines.

    Signals
    -------
    record(dict)
        One JSON object from stdout.
    text(str)
        A line that is not JSON (stdout) or any stderr line (logs, progress).
    finished(int exit_code, str reason)
        The child ended; ``reason`` is '' on a normal exit, else why it failed to run
        or crashed.
    """

    record = Signal(dict)
    text = Signal(str)
    finished = Signal(int, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.proc = QProcess(self)
        self.proc.setProcessEnvironment(child_environment())
        self.proc.readyReadStandardOutput.connect(self._read_stdout)
        self.proc.readyReadStandardError.connect(self._read_stderr)
        self.proc.finished.connect(self._on_finished)
        self.proc.errorOccurred.connect(self._on_error)
        self._out = b""
        self._err = b""
        self.stop_file: Path | None = None
        self._sigint_timer = QTimer(self, singleShot=True)
        self._sigint_timer.timeout.connect(self.interrupt)
        self._reported = False

    def start(self, args: list[str], stop_file: Path | None = None) -> None:
        """Start ``python -m retvis ARGS``; ``stop_file`` is created by :meth:`stop`."""
        program, argv = cli_command(*args)
        self.stop_file = stop_file
        self._reported = False
        log.info("starting %s %s", program, " ".join(argv))
        self.proc.start(program, argv)

    def running(self) -> bool:
        return self.proc.state() != QProcess.ProcessState.NotRunning

    def stop(self) -> None:
        """Ask the child to stop cleanly: the STOP file, then SIGINT after a grace period."""
        if not self.running():
            return
        if self.stop_file is not None:
            self.stop_file.parent.mkdir(parents=True, exist_ok=True)
            self.stop_file.touch()
            self._sigint_timer.start(STOP_GRACE_S * 1000)
        else:
            self.interrupt()

    def interrupt(self) -> None:
        """Send SIGINT (Ctrl-C): the CLI stops after its current step."""
        pid = self.proc.processId()
        if self.running() and pid:
            if hasattr(signal, "SIGINT") and os.name != "nt":
                os.kill(pid, signal.SIGINT)
            else:
                self.proc.terminate()

    def kill(self) -> None:
        if self.running():
            self.proc.kill()
            self.proc.waitForFinished(5000)

    def _read_stdout(self) -> None:
        self._out += bytes(self.proc.readAllStandardOutput())
        *lines, self._out = self._out.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                self.text.emit(line)
                continue
            if isinstance(rec, dict):
                self.record.emit(rec)
            else:
                self.text.emit(line)

    def _read_stderr(self) -> None:
        self._err += bytes(self.proc.readAllStandardError())
        *lines, self._err = self._err.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.text.emit(line)

    def _on_finished(self, code: int, status) -> None:
        self._sigint_timer.stop()
        self._read_stdout()
        self._read_stderr()
        for rest in (self._out, self._err):
            if rest.strip():
                self.text.emit(rest.decode("utf-8", "replace").strip())
        self._out = self._err = b""
        if self.stop_file is not None:
            self.stop_file.unlink(missing_ok=True)
        crashed = status == QProcess.ExitStatus.CrashExit
        if not self._reported:
            self._reported = True
            self.finished.emit(code, "the process crashed" if crashed else "")

    def _on_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self._reported:
            self._reported = True
            self.finished.emit(-1, f"could not start {sys.executable}: {self.proc.errorString()}")
