"""Child process that runs one GCMC simulation: ``python -m retvis.sim.worker``.

:mod:`retvis.sim.labels` starts one of these per structure, so that a RASPA crash, a
runaway simulation (killed at the timeout) or a memory blow-up costs one row, not the
batch. The result is written as JSON to ``--out``; the exit status is 0 whenever that
file was written, success or recorded failure.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import traceback
from pathlib import Path

#: Environment variable holding the pid of the process that started this worker.
PARENT_ENV = "RETVIS_PARENT_PID"


def die_with_parent() -> None:
    """Be killed when the process that started this one dies (Linux; else nothing).

    The worker runs in a session of its own (so a timeout kills its whole group); without
    this, killing ``retvis label`` left its simulation running as an orphan.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    expected = os.environ.get(PARENT_ENV)
    if expected and os.getppid() != int(expected):  # the parent died before prctl
        os._exit(1)


def keep_nice() -> None:
    """Make this process's nice value count again after it started a session of its own.

    On Linux with autogroup scheduling (most desktop kernels) each session is scheduled as
    a group whose weight ignores the nice values inside it, so ``nice retvis label`` ran
    its simulations at full priority against everything else: measured here, a
    training run's epochs went from 3.4 s to 10.4 s beside two "nice 19" workers. The
    group's own nice is set to this process's (inherited) value; nothing elsewhere.
    """
    nice = os.nice(0)
    if nice <= 0:
        return
    try:
        Path("/proc/self/autogroup").write_text(str(nice))
    except OSError:  # no autogroup support, or not allowed
        return


def _run(cif: Path, protocol_json: str) -> dict:
    from ..core.structure import read_structure
    from ..errors import RetvisError
    from .gcmc import WidomProtocol, protocol_from_dict, run_gcmc, run_widom

    try:
        protocol = protocol_from_dict(json.loads(protocol_json))
        structure = read_structure(cif)
        charges = None
        if protocol.charges:
            from .charges import framework_charges

            charges = framework_charges(structure)
        run = run_widom if isinstance(protocol, WidomProtocol) else run_gcmc
        res = run(structure, protocol, charges)
    except RetvisError as exc:
        return {"status": "failed", "kind": exc.kind, "reason": exc.reason}
    except (RuntimeError, ValueError, TypeError, MemoryError) as exc:
        # raspalib raises plain C++-translated exceptions; record them as a failure row.
        msg = str(exc).strip().splitlines()
        return {
            "status": "failed",
            "kind": "simulation",
            "reason": f"RASPA: {type(exc).__name__}: {msg[0] if msg else ''}".strip(),
        }
    out = dict(vars(res))
    out["supercell"] = "x".join(str(c) for c in res.supercell)
    out["sha256"] = structure.digest
    out["status"] = "ok"
    return out


def _cpu_seconds() -> float | None:
    """CPU time this process used so far (user + system), s; None without ``resource``."""
    try:
        import resource
    except ImportError:  # not a Unix
        return None
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return round(ru.ru_utime + ru.ru_stime, 3)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m retvis.sim.worker")
    p.add_argument("cif", type=Path)
    p.add_argument("--protocol", required=True, help="Protocol.to_dict() as JSON")
    p.add_argument("--out", required=True, type=Path, help="JSON result file")
    args = p.parse_args(argv)
    die_with_parent()
    keep_nice()
    try:
        result = _run(args.cif, args.protocol)
        result["cpu_seconds"] = _cpu_seconds()  # reported, not a table column
    except BaseException:
        traceback.print_exc()
        return 3
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
