"""Geometric descriptors of porous materials from Zeo++ (``pyzeo``), in a subprocess.

Zeo++ calls ``exit()`` from C++ on some inputs (about 1 in 10 CoRE MOF CIFs), which
would end the calling Python process; so every structure is analysed in its own child
process with a timeout, and a crash or a timeout becomes a recorded failure with its
reason. This module imports no torch and no Qt; ``pyzeo`` is imported in the child only.

Descriptors (per unit cell; the columns of :data:`retvis.core.descriptor_table.DESCRIPTORS`):

- ``lcd``: largest included sphere diameter, Å
- ``pld``: largest free sphere diameter (pore limiting diameter), Å
- ``lfpd``: largest included sphere along the free sphere path, Å
- ``asa_m2_g``: accessible surface area, m²/g (probe radius 1.86 Å, N2; channels only)
- ``void_fraction``: accessible volume fraction for a point probe (radius 0)
- ``pore_volume_cm3_g``: accessible pore volume for a point probe, cm³/g
- ``density_g_cm3``: framework density, g/cm³
- ``cell_volume_A3``: unit-cell volume, Å³
- ``cell_mass_amu``: unit-cell mass, g/mol (density x volume)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..core.descriptor_table import DescriptorResult
from ..core.units import AVOGADRO

#: Probe radius of the accessible surface area, Å (N2).
SA_PROBE_RADIUS = 1.86
#: Monte Carlo samples per atom (surface area) and per cell (volume).
SA_SAMPLES = 2000
VOLUME_SAMPLES = 50000
#: Default time limit per structure, s.
TIMEOUT = 120.0


def _field(text: str, key: str) -> float:
    tokens = text.split()
    try:
        return float(tokens[tokens.index(key) + 1])
    except (ValueError, IndexError) as exc:
        raise ValueError(f"Zeo++ output lacks {key!r}: {text[:200]!r}") from exc


def _analyse(cif: str) -> dict[str, float]:
    """Run Zeo++ on one CIF (in this process: call only from the child)."""
    from pyzeo.extension import AtomNetwork, surface_area, volume

    net = AtomNetwork.read_from_CIF(cif)
    res = os.path.join(tempfile.mkdtemp(prefix="retvis-zeo-"), "out.res")
    net.calculate_free_sphere_parameters(res)
    with open(res, encoding="utf-8") as fh:
        parts = fh.read().split()
    lcd, pld, lfpd = (float(v) for v in parts[1:4])
    sa = surface_area(net, SA_PROBE_RADIUS, SA_PROBE_RADIUS, SA_SAMPLES)
    sa = (sa[0] if isinstance(sa, tuple) else sa).decode()
    vol = volume(net, 0.0, 0.0, VOLUME_SAMPLES)
    vol = (vol[0] if isinstance(vol, tuple) else vol).decode()
    cell = _field(vol, "Unitcell_volume:")
    density = _field(vol, "Density:")
    return {
        "lcd": lcd,
        "pld": pld,
        "lfpd": lfpd,
        "asa_m2_g": _field(sa, "ASA_m^2/g:"),
        "void_fraction": _field(vol, "AV_Volume_fraction:"),
        "pore_volume_cm3_g": _field(vol, "AV_cm^3/g:"),
        "density_g_cm3": density,
        "cell_volume_A3": cell,
        "cell_mass_amu": density * cell * 1e-24 * AVOGADRO,  # g/cm³ x Å³ -> g/mol
    }


def _child_main(argv: list[str]) -> int:
    """Child entry: analyse ``argv[0]``, write JSON to ``argv[1]``."""
    cif, out = argv
    values = _analyse(cif)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(values, fh)
    return 0


def zeo_descriptors(
    path: str | Path, timeout: float = TIMEOUT, wall_timeout: float | None = None
) -> DescriptorResult:
    """Zeo++ descriptors of one CIF, computed in a child process.

    Parameters
    ----------
    path : path-like
        CIF file.
    timeout : float
        CPU seconds the child may use (``RLIMIT_CPU``: a crowded machine does not cut a
        structure short), as ``retvis label --timeout``.
    wall_timeout : float, optional
        Wall-clock seconds before the child is killed, for a hung one; default
        :data:`retvis.sim.labels.WALL_FACTOR` x ``timeout``.

    Returns
    -------
    DescriptorResult
        ``status`` "ok", "failed" (with Zeo++'s exit status and last message) or
        "timeout"; never raises for a bad structure.
    """
    path = Path(path)
    t0 = time.perf_counter()
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with tempfile.TemporaryDirectory(prefix="retvis-zeo-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            sys.executable,
            "-c",
            "import sys; from retvis.sim.descriptors import _child_main; "
            "sys.exit(_child_main(sys.argv[1:]))",
            str(path.resolve()),
            str(out),
        ]
        from .labels import WALL_FACTOR  # the same wall-clock cap as retvis label's

        wall = WALL_FACTOR * timeout if wall_timeout is None else wall_timeout
        proc = subprocess.Popen(
            cmd, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        cpu = max(1, math.ceil(timeout))
        with contextlib.suppress(OSError, ValueError):  # the child has already ended
            resource.prlimit(proc.pid, resource.RLIMIT_CPU, (cpu, cpu + 1))
        try:
            _, err = proc.communicate(timeout=wall)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return DescriptorResult(
                path.stem,
                path,
                "timeout",
                reason=f"Zeo++ took longer than {wall:g} s of wall-clock time",
                seconds=time.perf_counter() - t0,
            )
        dt = time.perf_counter() - t0
        if proc.returncode == -signal.SIGXCPU:
            return DescriptorResult(
                path.stem,
                path,
                "timeout",
                reason=f"Zeo++ used more than {timeout:g} s of CPU time",
                seconds=dt,
            )
        if proc.returncode != 0 or not out.is_file():
            msg = err.decode(errors="replace").strip().splitlines()
            last = msg[-1] if msg else "no message"
            return DescriptorResult(
                path.stem,
                path,
                "failed",
                reason=f"Zeo++ exited with status {proc.returncode}: {last}",
                seconds=dt,
            )
        values = json.loads(out.read_text(encoding="utf-8"))
    return DescriptorResult(path.stem, path, "ok", values, seconds=dt)


def iter_descriptors(
    paths: Iterable[str | Path],
    jobs: int | None = None,
    timeout: float = TIMEOUT,
    cancel=None,
    wall_timeout: float | None = None,
) -> Iterator[DescriptorResult]:
    """Descriptors of many files, ``jobs`` child processes at a time, in completion order.

    ``timeout`` and ``wall_timeout`` as in :func:`zeo_descriptors`; ``cancel``: a
    ``threading.Event``; when set, no new file starts.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    files = [Path(p) for p in paths]
    jobs = max(1, jobs or os.cpu_count() or 1)
    with ThreadPoolExecutor(jobs) as ex:
        it = iter(files)
        pending: set = set()
        while True:
            while len(pending) < jobs and not (cancel is not None and cancel.is_set()):
                p = next(it, None)
                if p is None:
                    break
                pending.add(ex.submit(zeo_descriptors, p, timeout, wall_timeout))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                yield f.result()
