"""Content-addressed on-disk cache of energy grids.

Key: SHA-256 of (file content digest, GridSpec key). A structure's grid is computed
once per spec, whatever its file is called or wherever it lives. Writes go to a
temporary file in the same folder and are renamed into place, so a crash never leaves
a half-written entry, and concurrent writers of the same key are harmless.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import formats
from .grid import EnergyGrid, GridSpec


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def umask() -> int:
    """The process's file-mode creation mask, read without changing it where the system
    says it (Linux: ``/proc/self/status``), else set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def user_mode(path: str | os.PathLike[str]) -> None:
    """Give a file made by :func:`tempfile.mkstemp` (mode 0600) the mode ``open()`` would
    have given it: 0666 less the user's umask, so a group on a shared cluster can read
    what RetVis writes when the user's umask says so."""
    os.chmod(path, 0o666 & ~umask())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename), with the mode
    a plain ``open()`` would give it (:func:`user_mode`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        user_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


#: The grid cache entries' format (:mod:`retvis.core.formats`).
CACHE_FORMAT = "retvis-grid-cache"


@formats.upgrade_step(CACHE_FORMAT, 0)
def _cache_v0(record: dict) -> dict:
    """Entries written before versions: some without the density (NaN: the reader fills
    it from the structure) or the crystal's metadata."""
    return {"density": float("nan"), "meta": "{}", **record}


class GridCache:
    """A folder of ``.npz`` files holding Boltzmann-factor grids.

    Parameters
    ----------
    root : Path, optional
        Cache folder; defaults to ``<user cache>/grids``.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        if root is None:
            from ..paths import cache_dir

            root = cache_dir() / "grids"
        self.root = Path(root)

    def key(self, digest: str, spec: GridSpec) -> str:
        """Cache key of a structure (content digest) under a spec."""
        return hashlib.sha256(f"{digest}:{spec.key()}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, digest: str, spec: GridSpec, name: str) -> EnergyGrid | None:
        """Return the cached grid, or ``None`` (also for an unreadable entry, which is removed)."""
        path = self._path(self.key(digest, spec))
        try:
            with np.load(path) as z:
                boltz = z["boltzmann"]
                box, origin, sc = z["box"], z["origin"], tuple(int(x) for x in z["supercell"])
                record = {k: z[k].item() for k in ("density", "meta", "format_version") if k in z}
            record = formats.upgraded(record, CACHE_FORMAT, path)
            density, meta = float(record["density"]), json.loads(record["meta"])
        except FileNotFoundError:
            return None
        except DataError:  # written by a newer RetVis: compute it here (put replaces it)
            return None
        except (OSError, ValueError, KeyError, EOFError, TypeError):
            path.unlink(missing_ok=True)  # corrupt entry: recompute
            return None
        if (
            boltz.shape != (spec.n,) * 3
            or not np.isfinite(boltz).all()
            or (spec.cell == "canonical" and "crystal" not in meta)
        ):
            # foreign, overflowed before compute_grid refused it, or without its crystal
            path.unlink(missing_ok=True)
            return None
        return EnergyGrid(name, boltz, spec, box, origin, sc, density, meta)

    def put(self, digest: str, grid: EnergyGrid) -> Path:
        """Store a grid under its structure digest and spec; returns the file."""
        import io

        path = self._path(self.key(digest, grid.spec))
        buf = io.BytesIO()
        np.savez(
            buf,
            boltzmann=grid.boltzmann,
            box=grid.box,
            origin=grid.origin,
            supercell=np.array(grid.supercell),
            density=np.float64(grid.density),
            meta=np.array(json.dumps(grid.meta, sort_keys=True)),
            format_version=np.int64(formats.CURRENT[CACHE_FORMAT]),
        )
        atomic_write_bytes(path, buf.getvalue())
        return path
