"""Datasets for RetNet: voxels joined to labels, splits, standardization, augmentation.

Voxels come in the layout ``retvis grid`` writes (and the published MOXελ batches use):
``voxels.npy`` of shape (N, n, n, n) float32 Boltzmann factors and ``names.json`` with the
N material names in the same order (``gridspec.json`` too when RetVis wrote it). They
are opened memory-mapped, so a 12,000-structure set costs no RAM until read.

Labels are a CSV with a header, one row per material: a name column (``name``) and a
value column (``value`` by default; any numeric column can be chosen). When the table
has a ``status`` column (the GCMC labels do), only rows whose status is ``ok`` are used.
They are read by :mod:`retvis.core.labels`; negative values are refused unless the
target allows them (``TrainConfig.allow_negative``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..core import formats
from ..core.cache import atomic_write_bytes
from ..core.labels import Labels, read_label_table
from ..errors import DataError, SpecError
from .config import REWEIGHTS, TrainConfig

#: Names of the four augmentations of docs/method.md section 3, drawn with equal probability.
AUGMENTATIONS: tuple[str, ...] = ("identity", "rotate", "flip", "transpose")


# --------------------------------------------------------------------------- voxels
@dataclass(frozen=True, eq=False)
class VoxelSet:
    """A memory-mapped batch of energy grids.

    Attributes
    ----------
    voxels : NDArray[np.float32]
        Shape (N, n, n, n), Boltzmann factors (dimensionless), memory-mapped read-only.
    names : list of str
        N material names, unique.
    spec : dict or None
        The GridSpec dict from ``gridspec.json`` when present.
    path : Path
        The folder.
    densities : NDArray[np.float64] or None
        Shape (N,), each framework's density in g/cm³ from ``densities.json`` (NaN where
        unknown); None for a folder without the file (written before grids carried it).
    """

    voxels: NDArray[np.float32]
    names: list[str]
    spec: dict | None
    path: Path
    densities: NDArray[np.float64] | None = None

    @property
    def n(self) -> int:
        return int(self.voxels.shape[1])

    def index(self) -> dict[str, int]:
        """Name -> row."""
        return {name: i for i, name in enumerate(self.names)}

    def take(self, rows) -> tuple[NDArray[np.float32], NDArray[np.float64] | None]:
        """The grids of ``rows`` (read in file order, quick on a memory map) and their
        densities (None for a folder without ``densities.json``), in the order of ``rows``."""
        rows = np.asarray(rows, dtype=np.int64)
        order = np.argsort(rows, kind="stable")
        x = np.empty((len(rows),) + self.voxels.shape[1:], dtype=np.float32)
        x[order] = self.voxels[rows[order]]
        return x, (self.densities[rows] if self.densities is not None else None)


#: The voxels folder's format (``voxels.json``; :mod:`retvis.core.formats`).
VOXELS_FORMAT = "retvis-voxels"


def write_voxels_index(folder: Path, names, densities, spec: dict) -> None:
    """The files beside a folder's ``voxels.npy`` (written by the caller): ``names.json``,
    ``densities.json``, ``gridspec.json`` and the format record ``voxels.json``; each
    written atomically, the record last."""
    folder = Path(folder)
    atomic_write_bytes(folder / "names.json", json.dumps(list(names), indent=1).encode())
    atomic_write_bytes(
        folder / "densities.json", json.dumps([float(d) for d in densities]).encode()
    )
    atomic_write_bytes(folder / "gridspec.json", json.dumps(spec, indent=1).encode())
    atomic_write_bytes(folder / "voxels.json", json.dumps(formats.stamp(VOXELS_FORMAT)).encode())


def open_voxels(folder: str | Path) -> VoxelSet:
    """Open ``voxels.npy`` + ``names.json`` (+ ``gridspec.json``) of a folder.

    Raises
    ------
    DataError
        Missing files, a shape that is not (N, n, n, n), a name count that differs from N,
        or duplicated names.
    """
    folder = Path(folder)
    vpath, npath = folder / "voxels.npy", folder / "names.json"
    for p in (vpath, npath):
        if not p.is_file():
            raise DataError(
                f"expected {p.name} in the voxels folder (the layout of `retvis grid`), found none",
                folder,
            )
    try:
        voxels = np.load(vpath, mmap_mode="r")
    except (ValueError, OSError) as exc:
        raise DataError(f"not a NumPy array file ({exc})", vpath) from exc
    if voxels.ndim != 4 or len(set(voxels.shape[1:])) != 1:
        raise DataError(f"expected voxels of shape (N, n, n, n), got {voxels.shape}", vpath)
    if voxels.dtype != np.float32:
        raise DataError(f"expected float32 voxels, got {voxels.dtype}", vpath)
    try:
        names = json.loads(npath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not a JSON list of names ({exc})", npath) from exc
    if not isinstance(names, list) or not all(isinstance(s, str) for s in names):
        raise DataError("expected a JSON list of strings", npath)
    if len(names) != voxels.shape[0]:
        raise DataError(f"{len(names)} names for {voxels.shape[0]} grids", npath)
    dup = [k for k, c in Counter(names).items() if c > 1]
    if dup:
        raise DataError(f"{len(dup)} duplicated name(s), e.g. {dup[:5]}", npath)
    record = {}
    fpath = folder / "voxels.json"
    if fpath.is_file():
        try:
            record = json.loads(fpath.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"not a voxels folder's record ({exc})", fpath) from exc
        if not isinstance(record, dict) or record.get("format") != VOXELS_FORMAT:
            raise DataError("not a voxels folder's record", fpath)
    # version 0 (no voxels.json): written before versions, or by hand; gridspec.json and
    # densities.json may be missing. From version 1 RetVis writes both.
    version = formats.version_of(record, VOXELS_FORMAT, fpath)
    spec = None
    spath = folder / "gridspec.json"
    dpath = folder / "densities.json"
    for p in (spath, dpath) if version >= 1 else ():
        if not p.is_file():
            raise DataError(f"{p.name} is missing from this voxels folder", folder)
    if spath.is_file():
        spec = json.loads(spath.read_text(encoding="utf-8"))
    densities = None
    if dpath.is_file():
        try:
            densities = np.array(json.loads(dpath.read_text(encoding="utf-8")), dtype=np.float64)
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError, TypeError) as exc:
            raise DataError(f"not a JSON list of densities ({exc})", dpath) from exc
        if densities.shape != (len(names),):
            raise DataError(f"{densities.size} densities for {len(names)} grids", dpath)
    return VoxelSet(voxels, names, spec, folder, densities)


# --------------------------------------------------------------------------- labels
def read_labels(
    path: str | Path,
    column: str | None = None,
    name_column: str = "name",
    *,
    allow_negative: bool = False,
) -> Labels:
    """Read a labels CSV (:func:`retvis.core.labels.read_label_table`).

    Parameters
    ----------
    path : path-like
        CSV with a header; with a ``status`` column only ``ok`` rows are used.
    column : str, optional
        Value column; default ``value``, the only column besides the name and status, or
        the only numeric one.
    name_column : str
        Column holding material names.
    allow_negative : bool
        Accept negative values (a target other than an uptake, e.g. an enthalpy).

    Raises
    ------
    DataError
        Missing columns, a missing or duplicated name, or a value that is not a finite
        number (or is negative, unless allowed), each naming its row.
    """
    return read_label_table(path, column, name_column=name_column, allow_negative=allow_negative)


def read_name_list(path: str | Path) -> set[str]:
    """Names in a text file, one a line (blank lines and ``#`` comments ignored)."""
    out = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.add(line)
    return out


@dataclass(frozen=True, eq=False)
class Dataset:
    """Voxels joined to labels by name.

    Attributes
    ----------
    voxels : VoxelSet
    names : list of str
        Labelled materials, in label-table order.
    rows : NDArray[np.int64]
        Row of each name in ``voxels.voxels``, shape (M,).
    y : NDArray[np.float64]
        Labels, shape (M,).
    column : str
        Label column.
    """

    voxels: VoxelSet
    names: list[str]
    rows: NDArray[np.int64]
    y: NDArray[np.float64]
    column: str

    def select(self, names: list[str]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Voxel rows and labels of the given names (all must be in the dataset)."""
        pos = {k: i for i, k in enumerate(self.names)}
        missing = [k for k in names if k not in pos]
        if missing:
            raise DataError(
                f"{len(missing)} name(s) of the split are not in the dataset, e.g. {missing[:5]}"
            )
        ii = np.array([pos[k] for k in names], dtype=np.int64)
        return self.rows[ii], self.y[ii]

    def arrays(
        self, names: list[str]
    ) -> tuple[NDArray[np.float64], NDArray[np.float32], NDArray[np.float64] | None]:
        """Labels (M,), grids (M, n, n, n) and densities (M,) in g/cm³ of the given names
        (:meth:`select`, then :meth:`VoxelSet.take`; densities None where the voxels
        folder has none)."""
        rows, y = self.select(names)
        x, densities = self.voxels.take(rows)
        return y, x, densities

    def digest(self) -> str:
        """SHA-256 of the names, labels and voxel bytes used (training-set identity)."""
        h = hashlib.sha256()
        order = np.argsort(np.array(self.names))
        for i in order:
            h.update(self.names[i].encode() + b"\0")
            h.update(np.float64(self.y[i]).tobytes())
            h.update(np.ascontiguousarray(self.voxels.voxels[self.rows[i]]).tobytes())
        return h.hexdigest()


def join(
    voxels: VoxelSet, labels: Labels, missing: str = "error", exclude: set[str] | None = None
) -> Dataset:
    """Join labels to voxels by name.

    Parameters
    ----------
    voxels : VoxelSet
    labels : Labels
    missing : {"error", "drop"}
        What to do with labelled names that have no grid: raise (default) or leave out.
    exclude : set of str, optional
        Names never used (e.g. the hold-out list).

    Raises
    ------
    DataError
        Labelled names without a grid (``missing="error"``), or nothing left to use.
    """
    if missing not in ("error", "drop"):
        raise DataError(f"missing must be 'error' or 'drop', got {missing!r}")
    index = voxels.index()
    exclude = exclude or set()
    names, rows, ys, absent = [], [], [], []
    for name, v in zip(labels.names, labels.values, strict=True):
        if name in exclude:
            continue
        r = index.get(name)
        if r is None:
            absent.append(name)
            continue
        names.append(name)
        rows.append(r)
        ys.append(v)
    if absent and missing == "error":
        raise DataError(
            f"{len(absent)} labelled name(s) have no grid in {voxels.path}, e.g. "
            f"{absent[:5]} (use --drop-missing to leave them out)",
            labels.path,
        )
    if not names:
        raise DataError("no labelled material has a grid: check that the names match", labels.path)
    return Dataset(voxels, names, np.array(rows, dtype=np.int64), np.array(ys), labels.column)


def open_dataset(
    voxels_dir: str | Path,
    labels_csv: str | Path,
    column: str | None = None,
    *,
    allow_negative: bool = False,
    drop_missing: bool = False,
    exclude: str | Path | None = None,
) -> tuple[Dataset, Labels, set[str]]:
    """Open a voxels folder, read a labels table and join them by name: how training,
    learning curves and evaluation read their data.

    Parameters
    ----------
    voxels_dir, labels_csv : path-like
        :func:`open_voxels` and :func:`read_labels` (with ``column`` and
        ``allow_negative``).
    drop_missing : bool
        Leave out labelled names without a grid instead of failing (:func:`join`).
    exclude : path-like, optional
        A :func:`read_name_list` file of names never used.

    Returns
    -------
    tuple
        The dataset, the labels as read and the excluded names (empty without
        ``exclude``).
    """
    voxels = open_voxels(voxels_dir)
    labels = read_labels(labels_csv, column, allow_negative=allow_negative)
    excluded = read_name_list(exclude) if exclude else set()
    ds = join(voxels, labels, "drop" if drop_missing else "error", excluded)
    return ds, labels, excluded


def open_training_dataset(
    voxels_dir: str | Path, labels_csv: str | Path, cfg: TrainConfig
) -> tuple[Dataset, Labels, set[str]]:
    """:func:`open_dataset` as a training recipe reads its data: ``cfg``'s label column,
    negative labels, names without a grid and exclusion list."""
    return open_dataset(
        voxels_dir,
        labels_csv,
        cfg.target,
        allow_negative=cfg.allow_negative,
        drop_missing=cfg.drop_missing,
        exclude=cfg.exclude,
    )


# --------------------------------------------------------------------------- splits
def make_split(
    names: list[str], seed: int = 0, val_fraction: float = 0.1, test_fraction: float = 0.1
) -> dict:
    """A seeded random train/validation/test split of names.

    Returns
    -------
    dict
        ``{"seed", "val_fraction", "test_fraction", "train": [...], "val": [...],
        "test": [...]}``; each list sorted by the permutation, disjoint, covering ``names``.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise DataError(f"bad split fractions: val {val_fraction}, test {test_fraction}")
    m = len(names)
    order = np.random.default_rng(seed).permutation(sorted(names)).tolist()
    n_test = int(round(test_fraction * m))
    n_val = int(round(val_fraction * m))
    if m - n_test - n_val < 2:
        raise DataError(
            f"{m} labelled materials are too few to split "
            f"(val {val_fraction}, test {test_fraction})"
        )
    return {
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
        "test": order[:n_test],
        "val": order[n_test : n_test + n_val],
        "train": order[n_test + n_val :],
    }


def save_split(split: dict, path: str | Path) -> None:
    from ..core.cache import atomic_write_bytes

    atomic_write_bytes(Path(path), json.dumps(split, indent=1).encode())


#: What ``retvis evaluate`` scores: a split of a run, all of it, or ``external``: the
#: labelled materials the run neither trained nor selected on (a new dataset).
EVALUATION_SPLITS = ("test", "val", "train", "all", "external")


def load_split(path: str | Path) -> dict:
    path = Path(path)
    try:
        split = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError("split file not found", path) from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"not a JSON split ({exc})", path) from exc
    for k in ("train", "val", "test"):
        if not isinstance(split.get(k), list):
            raise DataError(f"split has no '{k}' list", path)
    return split


# --------------------------------------------------------------------------- standardization
#: Input scales: the Boltzmann factor itself (docs/method.md), or its logarithm.
INPUT_SCALES = ("linear", "log")
#: Boltzmann factors below this count as this on the log scale (0 at atoms: ln -> -13.8).
LOG_FLOOR = 1e-6


def log_input(input_scale: str, gridspec: dict) -> bool:
    """Whether voxels of ``gridspec`` are standardized on the log scale: ``"log"``, or
    ``"auto"`` for grids of a charged (non-sphere) probe such as CO2's."""
    return input_scale == "log" or (
        input_scale == "auto" and gridspec.get("probe", "sphere") != "sphere"
    )


@dataclass(frozen=True)
class Standardization:
    """One-channel standardization: ``(x - mean) / std`` of the training voxels.

    ``log``: ``x`` is ``ln(max(B, LOG_FLOOR))`` instead of the Boltzmann factor ``B``
    (for grids whose factors span many decades, like the CO2 probe's).
    """

    mean: float
    std: float
    log: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        if not self.log:  # model cards written before the option stay as they were
            del d["log"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Standardization:
        return cls(float(d["mean"]), float(d["std"]), bool(d.get("log", False)))

    def scaled(self, x):
        """``x`` on the input scale (NumPy float32, or a torch tensor for gradients)."""
        if not self.log:
            return x
        if isinstance(x, np.ndarray):
            return np.log(np.maximum(x, np.float32(LOG_FLOOR)))
        return x.clamp(min=LOG_FLOOR).log()  # torch

    def apply(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        """Standardize Boltzmann factors (any shape), float32 out."""
        x = self.scaled(np.asarray(x, dtype=np.float32))
        return ((x - np.float32(self.mean)) / np.float32(self.std)).astype(np.float32, copy=False)


def standardization(
    voxels: NDArray[np.float32], rows: NDArray[np.int64], chunk: int = 256, log: bool = False
) -> Standardization:
    """Mean and standard deviation over all voxels of the given rows (float64 sums), of
    the Boltzmann factors or, with ``log``, of their logarithms."""
    if len(rows) == 0:
        raise DataError("no training rows to standardize on")
    on_scale = Standardization(0.0, 1.0, log)
    s = s2 = 0.0
    count = 0
    rows = np.sort(np.asarray(rows))
    for i in range(0, len(rows), chunk):
        x = np.asarray(
            on_scale.scaled(np.asarray(voxels[rows[i : i + chunk]], dtype=np.float32)),
            dtype=np.float64,
        )
        s += float(x.sum())
        s2 += float(np.square(x).sum())
        count += x.size
    mean = s / count
    var = max(s2 / count - mean * mean, 0.0)
    std = math.sqrt(var)
    if not math.isfinite(std) or std == 0:
        raise DataError(f"training voxels have no spread (std = {std}); cannot standardize")
    return Standardization(mean, std, log)


# --------------------------------------------------------------------------- augmentation
def augment(x: NDArray, rng: np.random.Generator) -> NDArray:
    """One random augmentation of a cubic grid, each of the four with equal probability.

    Identity; a 90° rotation in a random plane (xy, xz or yz) and random sense; a flip
    along a random axis; a transpose of a random pair of axes (docs/method.md section 3).

    Parameters
    ----------
    x : NDArray
        Shape (n, n, n).
    rng : numpy.random.Generator

    Returns
    -------
    NDArray
        Shape (n, n, n): a permutation of ``x``'s voxels (a view when possible).
    """
    kind = int(rng.integers(4))
    if kind == 0:
        return x
    if kind == 1:
        plane = [(0, 1), (0, 2), (1, 2)][int(rng.integers(3))]
        return np.rot90(x, k=1 if rng.integers(2) else -1, axes=plane)
    if kind == 2:
        return np.flip(x, axis=int(rng.integers(3)))
    i, j = [(0, 1), (0, 2), (1, 2)][int(rng.integers(3))]
    return np.swapaxes(x, i, j)


def periodic_shift(x: NDArray, rng: np.random.Generator) -> NDArray:
    """``x`` rolled by a random whole number of voxels along each axis (a new array).

    On a periodic grid (``GridSpec(endpoint=False)``) this is exactly the grid of the
    framework translated by the same fraction of the supercell.
    """
    return np.roll(x, tuple(int(k) for k in rng.integers(x.shape[0], size=3)), axis=(0, 1, 2))


def label_weights(y: NDArray[np.float64], kind: str = "none") -> NDArray[np.float64]:
    """Per-sample loss weights from the training labels, with mean 1.

    ``"none"`` gives ones. ``"sqrt-inv"`` weights each label by the inverse square root
    of the labels' density there, a Gaussian kernel estimate with Silverman's bandwidth:
    the smoothed inverse-frequency weighting of Yang et al., "Delving into Deep
    Imbalanced Regression" (ICML 2021). Rare labels (the top of an uptake range) then
    count more in the loss than the crowded middle.
    """
    if kind not in REWEIGHTS:
        raise SpecError(f"unknown reweighting {kind!r}; valid: {', '.join(REWEIGHTS)}")
    y = np.asarray(y, dtype=np.float64)
    if kind == "none" or len(y) < 2:
        return np.ones(len(y))
    q75, q25 = np.percentile(y, [75, 25])
    spread = min(float(y.std()), float(q75 - q25) / 1.34) or float(y.std())
    if spread <= 0:  # all labels equal: nothing is rarer than anything else
        return np.ones(len(y))
    h = 0.9 * spread * len(y) ** -0.2
    density = np.exp(-0.5 * ((y[:, None] - y[None, :]) / h) ** 2).mean(axis=1)
    w = density**-0.5
    return w / w.mean()


def iter_batches(
    voxels: NDArray[np.float32],
    rows: NDArray[np.int64],
    y: NDArray[np.float64],
    batch_size: int,
    std: Standardization,
    rng: np.random.Generator | None = None,
    shuffle: bool = False,
    augmented: bool = False,
    shifted: bool = False,
):
    """Yield standardized batches ``(x, y, positions)``.

    ``x`` is float32 (B, 1, n, n, n), ``y`` float32 (B,), ``positions`` the indices into
    ``rows``. With ``shuffle``, ``augmented`` or ``shifted``, ``rng`` drives the order and
    the draws; ``shifted`` rolls each sample by a random periodic offset
    (:func:`periodic_shift`), after the augmentation.
    """
    m = len(rows)
    order = rng.permutation(m) if shuffle else np.arange(m)
    for start in range(0, m, batch_size):
        pos = order[start : start + batch_size]
        r = rows[pos]
        srt = np.argsort(r, kind="stable")  # read the memory map in file order
        block = np.empty((len(r),) + voxels.shape[1:], dtype=np.float32)
        block[srt] = voxels[r[srt]]
        if augmented:
            for k in range(len(block)):
                block[k] = augment(block[k], rng).copy()  # a view of itself
        if shifted:
            for k in range(len(block)):
                block[k] = periodic_shift(block[k], rng)
        xb = std.apply(block)[:, None]
        yield xb, y[pos].astype(np.float32), pos
