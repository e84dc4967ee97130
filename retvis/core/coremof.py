"""The CoRE MOF 2019 database shipped by the ``core-mof`` package, as CIF files on disk.

The package holds each set as one ``.tar.xz`` archive (``CoRE_MOF/data/2019-ASR.tar.xz``,
12,020 CIFs) and a property table (``2019-ASR.csv``). :func:`extract` unpacks an archive
once into the user cache folder and returns the folder; later calls find it complete
and return at once (the archive is never scanned per structure).
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import tempfile
from importlib import resources
from pathlib import Path

from ..errors import DataError
from .cache import umask

log = logging.getLogger(__name__)

#: Sets shipped by core-mof, by archive stem.
SETS = ("2019-ASR", "2019-FSR", "2014")
#: File written last into an extracted folder: archive size and CIF count.
MARKER = ".retvis-extracted"


def archive(name: str = "2019-ASR") -> Path:
    """Path of a set's ``.tar.xz`` archive inside the installed ``core-mof`` package.

    Raises
    ------
    DataError
        Unknown set name, or the package is not installed.
    """
    if name not in SETS:
        raise DataError(f"unknown CoRE MOF set {name!r}; valid: {list(SETS)}")
    try:
        root = resources.files("CoRE_MOF")
    except ModuleNotFoundError as exc:
        raise DataError("the core-mof package is not installed (pip install core-mof)") from exc
    path = Path(str(root / "data" / f"{name}.tar.xz"))
    if not path.is_file():
        raise DataError(f"core-mof has no archive {path.name}", path)
    return path


def table(name: str = "2019-ASR") -> Path:
    """Path of a set's property table (``<name>.csv``) in the ``core-mof`` package."""
    path = archive(name).with_suffix("").with_suffix(".csv")
    if not path.is_file():
        raise DataError(f"core-mof has no table {path.name}", path)
    return path


def extract(dest: str | os.PathLike[str] | None = None, name: str = "2019-ASR") -> Path:
    """Unpack a CoRE MOF set once and return the folder of its CIF files.

    Parameters
    ----------
    dest : path-like, optional
        Target folder; default ``cache_dir()/core-mof/<name>``.
    name : str
        One of :data:`SETS`.

    Returns
    -------
    Path
        Folder holding ``*.cif`` (flat). A folder already extracted from the same archive
        (its marker file records the archive size) is returned without reading the
        archive. Extraction goes to a temporary sibling folder that is renamed when
        complete, so an interrupted extraction leaves nothing half-done behind.
    """
    src = archive(name)
    if dest is None:
        from ..paths import cache_dir

        dest = cache_dir() / "core-mof" / name
    dest = Path(dest)
    stamp = f"{src.stat().st_size}"
    marker = dest / MARKER
    if marker.is_file() and marker.read_text(encoding="ascii").split()[0] == stamp:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        count = 0
        with tarfile.open(src, mode="r:xz") as tf:
            for member in tf:
                base = os.path.basename(member.name)
                if not member.isfile() or not base.lower().endswith(".cif"):
                    continue
                fh = tf.extractfile(member)
                if fh is None:
                    continue
                with open(tmp / base, "wb") as out:
                    shutil.copyfileobj(fh, out)
                count += 1
        (tmp / MARKER).write_text(f"{stamp} {count}\n", encoding="ascii")
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp's folder is 0700
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("extracted %d CIFs from %s to %s", count, src, dest)
    return dest
