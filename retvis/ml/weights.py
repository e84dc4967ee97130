"""Model files: save, verify and load RetNet models, and the :class:`Predictor` API.

A model is a folder::

    model.json        metadata ("card"): format, architecture, members with SHA-256,
                      standardization, GridSpec, target name and units, training-set
                      identity, metrics, library versions
    member_0.pt       state dict of ensemble member 0 (torch.save)
    member_1.pt       ... (a deep ensemble has K members)

Loading checks every member file's SHA-256 against the card before reading it, and
reads it with ``torch.load(weights_only=True)`` (no pickled code runs). A model that
fails either check raises :class:`~retvis.errors.WeightsError`.

The GUI and the render helpers use :func:`load_model` and :class:`Predictor` only.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import math
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from ..core import formats
from ..core.cache import atomic_write_bytes, sha256_file
from ..core.grid import GridSpec
from ..errors import DataError, SpecError, WeightsError
from .config import INFERENCE_BATCH
from .data import Standardization
from .retnet import MAP_LAYERS, ConvBlock, RetNet, map_shapes

log = logging.getLogger(__name__)

MODEL_FORMAT = "retvis-model"
#: 2: cards may hold a ``calibration`` that changes every prediction (version 1 readers
#: would ignore it, so they refuse these cards instead).
FORMAT_VERSION = formats.CURRENT[MODEL_FORMAT]
CARD_NAME = "model.json"


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on."""
    import platform

    import scipy
    import sklearn

    from .. import __version__

    return {
        "retvis": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "python": platform.python_version(),
    }


def save_torch(path: Path, obj) -> None:
    """``torch.save`` of ``obj`` to ``path``, atomically (a crash leaves the old file)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def save_model(folder: str | Path, members: list[RetNet], card: dict) -> Path:
    """Write a model folder.

    Parameters
    ----------
    folder : path-like
        Created if needed; existing member files are replaced.
    members : list of RetNet
        One network per ensemble member (same architecture).
    card : dict
        Metadata; must hold ``standardization`` ({mean, std}), ``gridspec`` (GridSpec
        dict), ``target`` ({name, units}); may hold ``training_set``, ``metrics`` and a
        ``members_info`` list (one dict per member, merged into ``members``).

    Returns
    -------
    Path
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not members:
        raise WeightsError("a model needs at least one member network", folder)
    info = card.pop("members_info", [{}] * len(members))
    entries = []
    for k, net in enumerate(members):
        buf = io.BytesIO()
        torch.save({k2: v.detach().cpu().contiguous() for k2, v in net.state_dict().items()}, buf)
        data = buf.getvalue()
        name = f"member_{k}.pt"
        atomic_write_bytes(folder / name, data)
        entries.append({"file": name, "sha256": hashlib.sha256(data).hexdigest(), **info[k]})
    for key in ("standardization", "gridspec", "target"):
        if key not in card:
            raise WeightsError(f"model metadata lacks '{key}'", folder)
    full = {
        "format": MODEL_FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": _architecture(members[0]),
        "members": entries,
        "versions": library_versions(),
        **card,
    }
    atomic_write_bytes(folder / CARD_NAME, json.dumps(full, indent=1).encode())
    return folder


def _architecture(net: RetNet) -> dict:
    arch = {"name": "RetNet", "n": net.n, "dropout": net.dropout_p}
    outputs = net.fc.out.out_features
    if outputs != 1:  # a multi-task backbone (retvis.ml.pretrain)
        arch["outputs"] = outputs
    return arch


#: ``kind`` of a pretrained backbone's card (``retvis pretrain``).
BACKBONE = "backbone"


def is_backbone(card: dict) -> bool:
    """A pretrained backbone (``retvis pretrain``): a start for training, not a predictor."""
    return card.get("kind") == BACKBONE


def user_models_dir() -> Path:
    """Folder of the user's own models (``data_dir()/models``)."""
    from ..paths import data_dir

    return data_dir() / "models"


def available_models(backbones: bool = False) -> dict[str, Path]:
    """Named models: name -> folder; shipped (resources/models) and the user's
    (``data_dir()/models``); a user model named like a shipped one takes precedence.
    Pretrained backbones are listed only with ``backbones``."""
    from ..paths import models_dir

    out: dict[str, Path] = {}
    for root in (models_dir(), user_models_dir()):
        if root.is_dir():
            for d in sorted(root.iterdir()):
                if (d / CARD_NAME).is_file() and (backbones or not _card_is_backbone(d)):
                    out[d.name] = d
    return out


#: ``init_from`` meaning "the installed backbone that reads these grids, if any" (the
#: default start of ``retvis train`` and of the app's training dialog).
FROM_BACKBONE = "backbone"


def backbone_for(gridspec: dict | None) -> str | None:
    """The name of an installed backbone whose grid settings are ``gridspec``, or None."""
    if not gridspec:
        return None
    from ..core.grid import GridSpec

    want = GridSpec.from_dict(gridspec).to_dict()
    for name, folder in available_models(backbones=True).items():
        try:
            card = read_card(folder)
        except WeightsError:
            continue
        if is_backbone(card) and GridSpec.from_dict(card["gridspec"]).to_dict() == want:
            return name
    return None


def _card_is_backbone(folder: Path) -> bool:
    try:
        return is_backbone(read_card(folder))
    except WeightsError:
        return False  # a broken card: listed, and refused with its reason when loaded


def resolve_model(path_or_name: str | Path) -> Path:
    """The model folder for a path (model folder, its model.json, a run folder) or a name.

    Raises
    ------
    WeightsError
        Nothing found; the message lists the named models.
    """
    p = Path(path_or_name)
    models = available_models(backbones=True)
    if str(path_or_name) in models and len(p.parts) == 1 and not str(path_or_name).startswith("."):
        return models[str(path_or_name)]  # a bare name is the named model, not a local folder
    if p.is_file() and p.name == CARD_NAME:
        return p.parent
    if p.is_dir():
        if (p / CARD_NAME).is_file():
            return p
        if (p / "model" / CARD_NAME).is_file():  # a training run folder
            return p / "model"
        raise WeightsError(f"no {CARD_NAME} in this folder (nor in its model/ subfolder)", p)
    raise WeightsError(
        f"no model file or named model '{path_or_name}'; named models: "
        f"{sorted(models) or 'none installed'}"
    )


def read_card(folder: str | Path) -> dict:
    """Read and validate a model folder's ``model.json``."""
    folder = Path(folder)
    path = folder / CARD_NAME
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise WeightsError("model metadata not found", path) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsError(f"model metadata is not JSON ({exc})", path) from exc
    if not isinstance(card, dict) or card.get("format") != MODEL_FORMAT:
        raise WeightsError(
            f"not a RetVis model (format {card.get('format')!r} instead of {MODEL_FORMAT!r})"
            if isinstance(card, dict)
            else "not a RetVis model",
            path,
        )
    formats.version_of(card, MODEL_FORMAT, path, WeightsError)
    arch = card.get("architecture", {})
    if not isinstance(arch, dict) or arch.get("name") != "RetNet":
        name = arch.get("name") if isinstance(arch, dict) else arch
        raise WeightsError(f"unknown architecture {name!r}; valid: ['RetNet']", path)
    if not card.get("members"):
        raise WeightsError("model lists no member weights", path)
    _check_card(card, folder, path)
    cal = card.get("calibration") or {}
    if "b" in cal:
        try:
            a, b = float(cal["a"]), float(cal["b"])
        except (KeyError, TypeError, ValueError):
            a, b = float("nan"), float("nan")
        if not (np.isfinite(a) and np.isfinite(b) and b > 0):
            raise WeightsError(
                f"bad calibration {cal!r}: needs finite 'a' and a positive 'b'", path
            )
    return card


#: Most networks a model card may list.
MAX_MEMBERS = 32


def _check_card(card: dict, folder: Path, path: Path) -> None:
    """Every field a model is built from, of its type and in range, before any work:
    member files named inside the folder with a SHA-256, the grid size of the network
    and of the grid spec equal and within the engine's limit, finite standardization."""
    from ..core.grid import MAX_N

    def bad(what: str):
        raise WeightsError(f"model metadata: {what}", path)

    arch = card["architecture"]
    n = arch.get("n")
    if not isinstance(n, int) or isinstance(n, bool) or not 2 <= n <= MAX_N:
        bad(f"architecture n must be an integer in [2, {MAX_N}], got {n!r}")
    dropout = arch.get("dropout", 0.3)
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        bad(f"architecture dropout must be in [0, 1), got {dropout!r}")
    outputs = arch.get("outputs", 1)
    if not isinstance(outputs, int) or isinstance(outputs, bool) or not 1 <= outputs <= 256:
        bad(f"architecture outputs must be an integer in [1, 256], got {outputs!r}")
    members = card["members"]
    if not isinstance(members, list) or len(members) > MAX_MEMBERS:
        bad(f"members must be a list of at most {MAX_MEMBERS}")
    root = folder.resolve()
    for m in members:
        f = m.get("file") if isinstance(m, dict) else None
        digest = m.get("sha256") if isinstance(m, dict) else None
        if not isinstance(f, str) or not isinstance(digest, str) or len(digest) != 64:
            bad(f"a member needs a file name and a SHA-256, got {m!r}"[:200])
        if (root / f).resolve().parent != root:
            bad(f"member file {f!r} is not a file of the model folder")
    st = card.get("standardization")
    if st is not None:
        vals = [st.get(k) for k in ("mean", "std")] if isinstance(st, dict) else [None]
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals) or vals[1] <= 0:
            bad(f"standardization needs a finite mean and a positive std, got {st!r}"[:200])
    gs = card.get("gridspec")
    if gs is not None:
        if not isinstance(gs, dict):
            bad(f"gridspec must be an object, got {gs!r}"[:200])
        try:
            spec = GridSpec.from_dict(gs)
            spec.key()  # its force field: a shipped table by name, nothing outside
        except (SpecError, TypeError, ValueError) as exc:
            bad(f"gridspec: {getattr(exc, 'reason', exc)}")
        if spec.n != n:
            bad(f"the grid spec's n = {spec.n} does not fit the network's n = {n}")


def load_member(folder: Path, entry: dict, arch: dict, device: str = "cpu") -> RetNet:
    """Verify one member file's SHA-256 and load it into a RetNet (eval mode)."""
    path = folder / entry["file"]
    if not path.is_file():
        raise WeightsError("weights file listed in model.json is missing", path)
    digest = sha256_file(path)
    if digest != entry.get("sha256"):
        raise WeightsError(
            f"SHA-256 mismatch: the file was changed or replaced (expected "
            f"{str(entry.get('sha256'))[:12]}..., got {digest[:12]}...)",
            path,
        )
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # any unpickling/format error means a foreign file
        raise WeightsError(
            f"not a weights file torch can read safely ({type(exc).__name__}: {exc})", path
        ) from exc
    net = RetNet(int(arch["n"]), float(arch.get("dropout", 0.3)), int(arch.get("outputs", 1)))
    try:
        net.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise WeightsError(f"weights do not fit RetNet(n={arch['n']}): {exc}", path) from exc
    return net.to(device).eval()


def fuse_for_inference(net: RetNet) -> RetNet:
    """A copy of ``net`` with each conv block's batch norm folded into its convolution.

    Same outputs (to float rounding) and the same layer names, fewer passes over memory.
    """
    net = copy.deepcopy(net).eval()
    for m in net.modules():
        if isinstance(m, ConvBlock) and isinstance(m.bn, nn.BatchNorm3d):
            conv, bn = m.conv, m.bn
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            fused = nn.Conv3d(
                conv.in_channels,
                conv.out_channels,
                conv.kernel_size,
                padding=conv.padding,
                padding_mode=conv.padding_mode,
                bias=True,
            )
            with torch.no_grad():
                fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1, 1))
                fused.bias.copy_(bn.bias - bn.running_mean * scale)
            m.conv = fused.to(conv.weight.device)
            m.bn = nn.Identity()
            m.act = nn.LeakyReLU(m.act.negative_slope, inplace=True)
    return net.eval()


#: An ensemble spread this many times the model's mean spread on its test set marks a
#: structure as outside what the model learned.
SPREAD_FACTOR = 3.0


#: How :func:`domain_notes` names its two kinds of note (:func:`notes_summary` counts by
#: them): out of the model's domain, and at the sparse top of its training labels (p95).
OUTSIDE = "outside what the model learned"
TOP_END = "above 95 % of its training labels"


def label_quantiles(y: NDArray[np.float64]) -> dict[str, float]:
    """The training labels' distribution as a card records it (target units)."""
    y = np.asarray(y, dtype=float)
    q = np.percentile(y, [5, 50, 95])
    return {"min": float(y.min()), "p5": float(q[0]), "p50": float(q[1]),
            "p95": float(q[2]), "max": float(y.max())}  # fmt: skip


def fit_calibration(y, pred, min_n: int | None = None) -> dict:
    """Least-squares ``y = a + b * pred`` on held-out (validation) predictions.

    Returns the card's ``calibration`` entry: ``{"a", "b", "n", "fitted_on"}``, or
    ``{"skipped": reason, "n"}`` with fewer than ``min_n`` points (default
    :data:`~retvis.ml.config.MIN_CALIBRATION`) or a slope that is not positive (a model
    whose predictions do not rise with the labels is not made better by stretching).
    """
    from .config import MIN_CALIBRATION

    min_n = MIN_CALIBRATION if min_n is None else min_n
    y = np.asarray(y, dtype=np.float64).ravel()
    pred = np.asarray(pred, dtype=np.float64).ravel()
    n = len(y)
    if n < min_n:
        return {"skipped": f"{n} validation structures < {min_n}", "n": n}
    if np.ptp(pred) == 0:
        return {"skipped": "constant predictions", "n": n}
    b, a = np.polyfit(pred, y, 1)
    if not b > 0:
        return {"skipped": f"slope {b:.3g} is not positive", "n": n}
    return {"a": float(a), "b": float(b), "n": n, "fitted_on": "validation"}


def domain_notes(mean: NDArray[np.float64], std: NDArray[np.float64], card: dict) -> list[str]:
    """A note per prediction that a user should read before trusting it ('' if none).

    Three rules, all read from the model itself:

    - a negative uptake (the target is an amount adsorbed, never negative): outside what
      the model learned;
    - an ensemble spread above :data:`SPREAD_FACTOR` times the mean spread the model
      showed on its own test set (``card["evaluation_test"]["mean_ensemble_std"]``;
      skipped for single networks and cards without it): outside what it learned;
    - a prediction above the 95th percentile of the training labels
      (``card["training_set"]["label_quantiles"]``; skipped for cards without it): few
      examples are that high, and a regressor trained on them shrinks towards the mean,
      so the true value is more likely higher than lower. The spread rule cannot see
      this: the members agree on the shrunk value.

    Screening CoRE MOF 2019 with the first shipped CH4 model (147 labels), the first two
    rules flagged 77 negative predictions (down to -125 mol/kg with a spread of 89) among
    11,191. For the 614-label CH4 model (training labels' 95th percentile 5.84 mol/kg),
    the third rule fires on 4 of its 122 validation and test structures, and all 4 are
    under-predicted, by 0.36 to 1.24 mol/kg; so is the demo set's TOXNEB (6.55 against
    8.97 from GCMC). It misses the 6 others labelled above 5.84, predicted 4.5 to 5.6.
    For the 960-label per-volume model (95th percentile 6.07 mol/kg) it fires on 5 of
    192, all under-predicted by 0.7 to 1.6 mol/kg, and misses 7 of the 12 above 6.07;
    TOXNEB is flagged again (6.93). Calibrated (``card["calibration"]``, slope 1.15), the
    same model's rule fires on 7 of 192, 5 of them under-predicted, and catches 7 of the
    12 labelled above 6 mol/kg; TOXNEB: 7.78.
    """
    mean = np.asarray(mean, dtype=float).ravel()
    std = np.asarray(std, dtype=float).ravel()
    ev = card.get("evaluation_test") or {}
    ref = ev.get("mean_ensemble_std") if isinstance(ev, dict) else None
    target = card.get("target") or {}
    nonneg = not target.get("allow_negative", False)  # a target trained with negatives
    units = target.get("units", "")
    quant = (card.get("training_set") or {}).get("label_quantiles") or {}
    top = quant.get("p95")
    notes = []
    for m, s in zip(mean, std, strict=True):
        why = []
        if nonneg and m < 0:
            why.append("negative prediction")
        if isinstance(ref, (int, float)) and ref > 0 and len(card.get("members") or []) > 1:
            if s > SPREAD_FACTOR * ref:
                why.append(f"ensemble spread {s:.2g} {units} is {s / ref:.0f}x its test-set mean")
        parts = [f"{'; '.join(why)}: {OUTSIDE}"] if why else []
        if isinstance(top, (int, float)) and m > top:
            parts.append(
                f"{TOP_END} (> {top:.3g} {units}), where examples are few and predictions "
                "shrink towards the mean: likely an underestimate"
            )
        notes.append("; ".join(parts))
    return notes


#: Lowest framework density predicted for, g/cm³. The lightest of CoRE MOF 2019's
#: structures is 0.127; a cell lighter than 0.1 is mostly vacuum (one atom in a 999 Å
#: cube is 2e-8), where an uptake per mass means nothing a model has learned.
MIN_FRAMEWORK_DENSITY = 0.1
#: Highest molar density of any guest as a liquid, mol/L (water 55.5; CH4 26, CO2 27):
#: no pore holds more, so no framework of density rho holds more than this / rho mol/kg.
MAX_GUEST_DENSITY = 60.0


def refusals(mean: NDArray[np.float64], density, card: dict) -> list[str]:
    """Why each prediction cannot stand as an answer ('' where it can).

    Not a note beside a number but a failure in its place: a framework lighter than
    :data:`MIN_FRAMEWORK_DENSITY`; an uptake in mol/kg above what the pores could hold
    filled with the densest liquid (:data:`MAX_GUEST_DENSITY` over the framework's
    density); a prediction that is not a finite number.
    """
    units = (card.get("target") or {}).get("units", "")
    mean = np.asarray(mean, dtype=float).ravel()
    dens = np.broadcast_to(
        np.asarray(density if density is not None else np.nan, float), mean.shape
    )
    out = []
    for m, d in zip(mean, dens, strict=True):
        if not math.isfinite(m):
            out.append("the model gave no finite prediction")
        elif math.isfinite(d) and d < MIN_FRAMEWORK_DENSITY:
            out.append(
                f"not a porous framework the model can judge: density {d:.2g} g/cm³, below "
                f"{MIN_FRAMEWORK_DENSITY} (the lightest CoRE MOF is 0.127)"
            )
        elif units == "mol/kg" and math.isfinite(d) and d > 0 and m > MAX_GUEST_DENSITY / d:
            out.append(
                f"{m:.3g} mol/kg is more than its pores could hold (at most "
                f"{MAX_GUEST_DENSITY / d:.3g} mol/kg filled with liquid at {d:.3g} g/cm³)"
            )
        else:
            out.append("")
    return out


def notes_summary(notes: list[str]) -> str:
    """One line counting :func:`domain_notes` by kind ('' when no prediction has one)."""
    outside = sum(OUTSIDE in n for n in notes)
    top = sum(TOP_END in n for n in notes)
    if not outside and not top:
        return ""
    kinds = [f"{outside} {OUTSIDE}"] if outside else []
    kinds += [f"{top} {TOP_END}"] if top else []
    return f"{sum(bool(n) for n in notes)} prediction(s) with a note ({', '.join(kinds)}): see the note column"


class Predictor:
    """A loaded model (one network or a deep ensemble) working on raw Boltzmann factors.

    Every method takes grids as computed by :func:`retvis.core.grid.compute_grid`
    (``EnergyGrid.boltzmann``) and standardizes them with the model's own statistics.

    Attributes
    ----------
    card : dict
        The model's metadata (``model.json``) plus ``path``.
    spec : GridSpec
        Grid settings the model was trained on; compute grids with this spec.
    """

    def __init__(self, members: list[RetNet], card: dict, device: str = "cpu") -> None:
        self.members = [m.eval() for m in members]
        # batch norm folded, channels-last: about 2x the eager throughput on a CPU
        self._fused = [
            fuse_for_inference(m).to(memory_format=torch.channels_last_3d) for m in self.members
        ]
        self.card = card
        self.device = device
        self.standardization = Standardization.from_dict(card["standardization"])
        gs = card.get("gridspec")
        self.spec = GridSpec.from_dict(gs) if gs else GridSpec(n=members[0].n)
        self.n = members[0].n

    # -- helpers -------------------------------------------------------------------
    @property
    def layers(self) -> dict[str, tuple[int, int, int, int]]:
        """Layer name -> shape (C, d, d, d) of its feature maps."""
        return map_shapes(self.n)

    @property
    def target(self) -> dict:
        """``{"name": ..., "units": ...}`` of the predicted quantity."""
        return dict(self.card.get("target", {}))

    @property
    def calibration(self) -> tuple[float, float]:
        """``(a, b)`` of the card's calibration ``y = a + b * raw`` ((0, 1): none)."""
        cal = self.card.get("calibration") or {}
        if "b" not in cal:
            return 0.0, 1.0
        return float(cal["a"]), float(cal["b"])

    @property
    def per_volume(self) -> bool:
        """The networks predict the target times the framework density (g/cm³)."""
        return bool(self.card.get("target", {}).get("per_volume", False))

    def _density(self, density, m: int) -> NDArray[np.float64]:
        """Shape (m,): what to divide the networks' outputs by (ones for most models)."""
        if not self.per_volume:
            return np.ones(m)
        if density is None:
            raise DataError(
                "this model predicts per volume and needs each framework's density "
                "(EnergyGrid.density, or densities.json of a voxels folder)"
            )
        d = np.broadcast_to(np.asarray(density, dtype=np.float64), (m,))
        if not (np.isfinite(d) & (d > 0)).all():
            raise DataError("framework densities must be finite and positive")
        return d

    def _check(self, x: NDArray, single: bool) -> NDArray[np.float32]:
        x = np.asarray(x)
        shape = (self.n,) * 3
        if single:
            if x.shape != shape:
                raise DataError(f"expected one grid of shape {shape}, got {x.shape}")
            x = x[None]
        elif x.ndim == 3 and x.shape == shape:
            x = x[None]
        if x.ndim != 4 or x.shape[1:] != shape:
            raise DataError(
                f"expected grids of shape (N, {self.n}, {self.n}, {self.n}), got "
                f"{x.shape}; compute them with this model's GridSpec "
                f"(n = {self.n})"
            )
        if not np.isfinite(x).all():
            raise DataError("grids contain NaN or infinite Boltzmann factors")
        return x

    def _tensor(self, x: NDArray) -> torch.Tensor:
        t = torch.from_numpy(self.standardization.apply(x)[:, None]).to(self.device)
        return t.contiguous(memory_format=torch.channels_last_3d)

    # -- API -----------------------------------------------------------------------
    def predict(
        self, boltzmann: NDArray[np.float32], batch_size: int = INFERENCE_BATCH, density=None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Predicted target for each grid, with the ensemble's spread.

        Parameters
        ----------
        boltzmann : NDArray[np.float32]
            Shape (N, n, n, n) (or one grid (n, n, n)), Boltzmann factors.
        batch_size : int
        density : array-like, optional
            Shape (N,) (or a scalar), each framework's density in g/cm³; needed by a
            per-volume model (:attr:`per_volume`), ignored by others.

        Returns
        -------
        mean, std : NDArray[np.float64]
            Shape (N,), in ``target["units"]``; ``std`` is the standard deviation over
            ensemble members (0 for a single network).
        """
        preds = self.predict_members(boltzmann, batch_size, density)
        return preds.mean(axis=0), preds.std(axis=0)

    def domain_notes(self, mean: NDArray[np.float64], std: NDArray[np.float64]) -> list[str]:
        """:func:`domain_notes` with this model's card."""
        return domain_notes(mean, std, self.card)

    def refusals(self, mean: NDArray[np.float64], density) -> list[str]:
        """:func:`refusals` with this model's card (``density`` in g/cm³, per structure)."""
        return refusals(mean, density, self.card)

    def predict_members(
        self, boltzmann: NDArray[np.float32], batch_size: int = INFERENCE_BATCH, density=None
    ) -> NDArray[np.float64]:
        """Each member's predictions, shape (K, N) (``density`` as in :meth:`predict`)."""
        x = self._check(boltzmann, single=False)
        scale = self._density(density, len(x))
        out = np.empty((len(self._fused), len(x)), dtype=np.float64)
        with torch.inference_mode():
            for s in range(0, len(x), batch_size):
                xb = self._tensor(x[s : s + batch_size])
                m = len(xb)
                if m == 1 and self.device == "cpu":
                    # oneDNN takes a slower path for a batch of one: the grid twice costs
                    # 0.4x (benchmarks/ml.py), and networks in eval mode treat rows apart
                    xb = torch.cat([xb, xb])
                for k, net in enumerate(self._fused):
                    out[k, s : s + m] = net(xb)[:m].double().cpu().numpy()
        a, b = self.calibration  # applied to each member: the mean moves, the spread x b
        return a + b * (out / scale)

    def fingerprint(
        self, boltzmann: NDArray[np.float32], member: int = 0, batch_size: int = INFERENCE_BATCH
    ) -> NDArray[np.float32]:
        """The learned 20-number fingerprints, shape (N, 20), of one ensemble member."""
        x = self._check(boltzmann, single=False)
        net = self._fused[member]
        out = []
        with torch.inference_mode():
            for s in range(0, len(x), batch_size):
                out.append(net.forward_all(self._tensor(x[s : s + batch_size])).fingerprint)
        return torch.cat(out).float().cpu().numpy()

    def feature_maps(
        self, boltzmann: NDArray[np.float32], layer: str, member: int = 0
    ) -> NDArray[np.float32]:
        """Feature maps of a named layer for one grid.

        Parameters
        ----------
        boltzmann : NDArray[np.float32]
            One grid, shape (n, n, n).
        layer : str
            One of :data:`retvis.ml.retnet.MAP_LAYERS` (``conv1`` ... ``conv5``, ``max1``,
            ``max2``).

        Returns
        -------
        NDArray[np.float32]
            Shape (C, d, d, d), see :attr:`layers`.
        """
        if layer not in MAP_LAYERS:
            raise SpecError(f"unknown layer {layer!r}; valid: {list(MAP_LAYERS)}")
        x = self._check(boltzmann, single=True)
        with torch.inference_mode():
            out = self._fused[member].forward_all(self._tensor(x), [layer])
        return out.maps[layer][0].float().cpu().contiguous().numpy()

    def saliency(
        self,
        boltzmann: NDArray[np.float32],
        method: str = "gradient",
        steps: int = 32,
        density=None,
    ) -> NDArray[np.float32]:
        """How much each voxel moves the prediction, shape (n, n, n), averaged over members.

        Parameters
        ----------
        boltzmann : NDArray[np.float32]
            One grid, shape (n, n, n).
        method : {"gradient", "integrated"}
            ``"gradient"``: d prediction / d voxel (target units per unit of Boltzmann
            factor). ``"integrated"``: integrated gradients from the training-mean grid
            (a uniform grid at the standardization mean) to the input, ``steps`` points;
            the voxels' attributions sum to prediction(x) - prediction(baseline).
            A model on the log input scale (``standardization.log``) is differentiated
            with respect to ``ln B`` instead.
        steps : int
        density : float, optional
            The framework's density in g/cm³; needed by a per-volume model.
        """
        if method not in ("gradient", "integrated"):
            raise SpecError(
                f"unknown saliency method {method!r}; valid: ['gradient', 'integrated']"
            )
        # on the model's input scale (a log-scale model: attributions to ln B)
        x = self.standardization.scaled(self._check(boltzmann, single=True).astype(np.float32))
        x = torch.from_numpy(np.ascontiguousarray(x))
        scale = float(self._density(density, 1)[0])
        mean, std = self.standardization.mean, self.standardization.std
        total = torch.zeros_like(x[0], dtype=torch.float64)
        for net in self._fused:
            if method == "gradient":
                xi = x.clone().requires_grad_(True)
                (g,) = torch.autograd.grad(
                    net(((xi - mean) / std)[:, None].to(self.device)).sum(), xi
                )
                total += g[0].double()
            else:
                base = torch.full_like(x, mean)
                alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
                acc = torch.zeros_like(x[0], dtype=torch.float64)
                for s in range(0, steps, 16):
                    a = alphas[s : s + 16].view(-1, 1, 1, 1)
                    xi = (base + a * (x - base)).requires_grad_(True)
                    (g,) = torch.autograd.grad(
                        net(((xi - mean) / std)[:, None].to(self.device)).sum(), xi
                    )
                    acc += g.double().sum(0)
                total += acc / steps * (x[0] - base[0]).double()
        b = self.calibration[1]
        return (total / len(self._fused) / scale * b).float().numpy()


def load_model(path_or_name: str | Path, device: str = "cpu", backbone: bool = False) -> Predictor:
    """Load a model folder (or a run folder, or a named model) into a :class:`Predictor`.

    A pretrained backbone (:func:`is_backbone`) loads only with ``backbone`` (as the start
    of a training run): it predicts its pretraining targets, not a user's quantity.

    Named models are looked up in ``resources/models/<name>/`` then in the user's
    ``data_dir()/models/<name>/``.

    Raises
    ------
    WeightsError
        Not found, not a RetVis model, SHA-256 mismatch, unreadable or foreign weights.
    """
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SpecError(f"device {device!r} requested but torch sees no CUDA GPU")
    if device != "cpu" and not device.startswith("cuda"):
        raise SpecError(f"device must be 'cpu' or 'cuda', got {device!r}")
    folder = resolve_model(path_or_name)
    card = read_card(folder)
    if is_backbone(card) and not backbone:
        raise WeightsError(
            f"'{folder.name}' is a pretrained backbone, not a model that predicts a quantity;"
            f" start a model from it with retvis train --init-from {folder.name}",
            folder,
        )
    arch = card["architecture"]
    if not isinstance(arch.get("n"), int) or arch["n"] < 14:
        raise WeightsError(f"bad architecture grid size {arch.get('n')!r}", folder)
    members = [load_member(folder, e, arch, device) for e in card["members"]]
    st = card.get("standardization", {})
    if not (math.isfinite(float(st.get("std", math.nan))) and float(st["std"]) > 0):
        raise WeightsError("model metadata has no valid standardization", folder)
    card = {**card, "path": str(folder)}
    return Predictor(members, card, device)
