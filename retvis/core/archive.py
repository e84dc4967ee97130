"""Zip archives of CIFs, expanded one member at a time with every size counted.

The boundary where a dropped or given ``.zip`` becomes files: each member on its own (a
member that cannot be read is a failure with its reason, the others are extracted), its
bytes counted as they are written (the sizes a zip declares can lie), a budget of bytes
for the archive (the smaller of :data:`MAX_ARCHIVE_BYTES` and half the free disk), a
bound on the compression ratio (a zip bomb is refused after a few megabytes, not after
gigabytes), every file written atomically, and nothing left behind by a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StructureError
from .cache import sha256_file, user_mode
from .structure import MAX_FILE_BYTES

#: Most bytes of CIFs one archive may expand to (CoRE MOF 2019's 12,020 CIFs are
#: about 0.9 GiB).
MAX_ARCHIVE_BYTES = 4 * 2**30
#: Largest expansion of one member over its compressed size: CIF text compresses 3-10x,
#: so far beyond this is a zip bomb.
MAX_RATIO = 200
#: Bytes read at a time.
CHUNK = 1 << 20


@dataclass
class Extracted:
    """What an archive gave.

    Attributes
    ----------
    folder : Path
        Where its CIFs are (empty if none could be extracted).
    failures : list of (str, str)
        ``(member name, reason)`` for each member not extracted.
    """

    folder: Path
    failures: list[tuple[str, str]] = field(default_factory=list)


def _copy_member(zf: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Stream one member to ``target`` atomically; returns the bytes written.

    Raises ValueError with the reason when a limit is passed (the partial file removed);
    the zip module's own errors pass through.
    """
    limit = min(MAX_FILE_BYTES, budget, MAX_RATIO * max(member.compress_size, 1) + CHUNK)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".extract-")
    written = 0
    try:
        with os.fdopen(fd, "wb") as out, zf.open(member) as src:
            while chunk := src.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    if limit == budget:
                        raise ValueError("the archive expands beyond its budget")
                    if limit == MAX_FILE_BYTES:
                        raise ValueError(f"member is larger than {MAX_FILE_BYTES / 2**20:.0f} MiB")
                    raise ValueError(
                        f"member expands more than {MAX_RATIO}x its compressed size "
                        f"({member.compress_size} bytes): a zip bomb"
                    )
                out.write(chunk)
        user_mode(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written


def extract_cifs(archive: Path, root: Path, max_bytes: int | None = None) -> Extracted:
    """Extract the ``*.cif`` members of a zip archive into ``root/<stem>-<digest>/``.

    Parameters
    ----------
    archive : Path
    root : Path
        Folder of extracted archives (the user cache).
    max_bytes : int, optional
        Budget for this archive; default the smaller of :data:`MAX_ARCHIVE_BYTES` and
        half the free space under ``root``.

    Returns
    -------
    Extracted
        The folder and a failure per member that was not extracted: a name that would
        leave the folder, encryption, an unsupported compression, a bad CRC, a member
        past :data:`~retvis.core.structure.MAX_FILE_BYTES` or :data:`MAX_RATIO`, the
        budget spent (every remaining member then fails with that reason).

    Raises
    ------
    StructureError
        The file is not a readable zip archive.
    """
    archive = Path(archive)
    try:
        dest = root / f"{archive.stem}-{sha256_file(archive)[:12]}"
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise StructureError(f"not a readable zip archive ({exc})", archive) from None
    if max_bytes is None:
        root.mkdir(parents=True, exist_ok=True)
        max_bytes = min(MAX_ARCHIVE_BYTES, shutil.disk_usage(root).free // 2)
    out = Extracted(dest)
    spent = 0
    fresh = not dest.exists()
    with zf:
        members = [
            m for m in zf.infolist() if not m.is_dir() and m.filename.lower().endswith(".cif")
        ]
        for i, m in enumerate(members):
            where = m.filename
            rel = Path(m.filename)
            if rel.is_absolute() or ".." in rel.parts or rel.drive:
                out.failures.append((where, f"unsafe member name {m.filename!r}"))
                continue
            target = dest / rel
            if target.is_file() and target.stat().st_size == m.file_size:
                spent += m.file_size
                continue  # extracted before (writes are atomic: a file there is whole)
            try:
                spent += _copy_member(zf, m, target, max_bytes - spent)
            except ValueError as exc:
                out.failures.append((where, str(exc)))
                if "budget" in str(exc):
                    reason = (
                        f"the archive expands beyond {max_bytes / 2**30:.1f} GiB "
                        "(the smaller of the limit and half the free disk)"
                    )
                    out.failures[-1] = (where, reason)
                    out.failures += [(r.filename, reason) for r in members[i + 1 :]]
                    break
            except RuntimeError as exc:  # encrypted
                out.failures.append((where, f"cannot be read: {exc}"))
            except NotImplementedError as exc:
                out.failures.append((where, f"unsupported compression ({exc})"))
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                out.failures.append((where, f"damaged member ({exc})"))
            except OSError as exc:
                out.failures.append((where, f"cannot be written: {exc.strerror or exc}"))
    if fresh and dest.exists() and not any(p.is_file() for p in dest.rglob("*")):
        shutil.rmtree(dest, ignore_errors=True)
    return out
