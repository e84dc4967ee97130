"""Training settings (no torch import, so the CLI parser stays fast)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ..errors import SpecError

#: Grids per forward pass at inference (prediction, screening); the batch size was chosen
#: with ``benchmarks/ml.py`` (docs/performance.md).
INFERENCE_BATCH = 16

#: Fewest validation structures :attr:`TrainConfig.calibrate` fits a calibration on.
MIN_CALIBRATION = 20

#: Loss weightings ``retvis train --reweight`` accepts (:func:`retvis.ml.data.label_weights`).
REWEIGHTS: tuple[str, ...] = ("none", "sqrt-inv")


#: The smallest training batch: batch normalisation needs two samples.
MIN_BATCH_SIZE = 2


@dataclass
class TrainConfig:
    """Every setting of a training run; the defaults are the thesis's (docs/method.md section 3).

    Attributes
    ----------
    epochs, batch_size, lr, betas, eps : training schedule and Adam settings.
    lr_step, lr_gamma : the learning rate is multiplied by ``lr_gamma`` every ``lr_step``
        epochs (halved every 10).
    dropout : dropout before the first linear layer.
    augment : draw one of the four augmentations per sample and epoch.
    shift : also roll each sample by a random whole number of voxels along each axis.
        A supercell grid (``endpoint=False``) is periodic, so a roll is the framework
        translated by a fraction of the grid, an exact symmetry the network does not
        otherwise learn (its dense head sees positions). Not in docs/method.md; off by
        default (docs/models.md, "CH4: tried and not shipped").
    reweight : loss weights from the training labels' density: ``"none"`` (plain MSE)
        or ``"sqrt-inv"`` (inverse square root of the density, so the sparse top of an
        uptake range counts more; :func:`retvis.ml.data.label_weights`). Not in
        docs/method.md; off by default (docs/models.md, "CH4: tried and not shipped").
    per_volume : learn the label times each framework's density (mol/kg x g/cm³ = mol/L
        for an uptake), a per-volume quantity the grid shows directly, and divide the
        density out again when predicting. Needs grids with ``densities.json``. Not in
        docs/method.md; what it gained is in docs/models.md.
    scale_target : train the network on the target standardized by the training set's
        mean and standard deviation, and fold both into the output layer of the saved
        networks (so a saved model predicts in the label's units, as before). Adam's
        steps are of fixed size, so without it a target in large units (cm³(STP)/cm³,
        0-190) trains far slower than the same target in small ones (docs/training.md).
        Not in docs/method.md (which only sets the output bias to the mean); a run saved
        before this setting resumes without it.
    label_units_loss : with ``per_volume``, weight each sample's squared error (and the
        validation loss that picks the epoch) by 1 / density², so that the network,
        which still learns per volume, is fitted and selected on the squared error of
        the label itself (mol/kg), the error R² is measured in. Light frameworks, whose
        per-volume errors the division by density magnifies, then count more. Not in
        docs/method.md; off by default (docs/models.md, "CH4: tried and not shipped").
    calibrate : after training, fit ``y = a + b * prediction`` by least squares on the
        validation split (the ensemble's mean, in the label's units) and apply it to every
        prediction the saved model makes (``card["calibration"]``): a network trained with
        dropout and augmentation, averaged over an ensemble, predicts too close to the
        mean. Skipped (recorded) with fewer than :data:`MIN_CALIBRATION` validation
        structures or a slope that is not positive. Not in docs/method.md; what it gained
        is in docs/models.md.
    seed : seeds the split, the initial weights, the order and the augmentations; member
        k of an ensemble uses ``seed + k``.
    val_fraction, test_fraction : split fractions (ignored with ``split``).
    split : path of an existing split JSON to reuse (same splits across models).
    train_size : train on this many materials of the training split (learning curves).
    patience : stop a member when validation loss has not improved for this many epochs
        (None: run every epoch; the best validation epoch is kept either way).
    ensemble : number of members (deep ensemble).
    device : "cpu" or "cuda" (or "cuda:N").
    target : label column (default: ``value`` or the only numeric column).
    target_name, units : how the target is shown (default: the column name, no units).
    allow_negative : accept negative labels. Off by default, since an uptake cannot be
        negative; a target that can (an adsorption enthalpy, a log) needs it. Recorded
        in the model's target, so evaluation reads its labels the same way.
    input_scale : "auto" (log for CO2-probe grids, else linear), "linear" (the
        Boltzmann factor, docs/method.md) or "log" (its logarithm), before standardization.
    init_from : model or run folder (or a named model) to fine-tune from.
    freeze_conv : with ``init_from``, train only the fully connected head.
    refit_batchnorm : with ``init_from``, re-estimate the batch-norm statistics on the
        new data. Off by default: a fine-tune keeps the source's statistics (re-estimated
        on a few structures of another kind they wreck its predictions).
    restandardize : with ``init_from``, standardize the voxels on this training set instead
        of taking the source's standardization: for a source trained on grids of other
        settings (a sphere-probe backbone fine-tuned on CO2-probe grids).
    drop_missing : leave out labelled names without a grid instead of failing.
    exclude : path of a names file never to train or test on (e.g. the hold-out list).
    """

    epochs: int = 50
    batch_size: int = 64
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    lr_step: int = 10
    lr_gamma: float = 0.5
    dropout: float = 0.3
    augment: bool = True
    shift: bool = False
    reweight: str = "none"
    per_volume: bool = False
    scale_target: bool = True
    label_units_loss: bool = False
    calibrate: bool = True
    seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    split: str | None = None
    train_size: int | None = None
    patience: int | None = None
    ensemble: int = 1
    device: str = "cpu"
    target: str | None = None
    target_name: str | None = None
    units: str = ""
    allow_negative: bool = False
    input_scale: str = "auto"
    init_from: str | None = None
    freeze_conv: bool = False
    refit_batchnorm: bool = False
    restandardize: bool = False
    drop_missing: bool = False
    exclude: str | None = None
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        if self.epochs < 1 or self.batch_size < MIN_BATCH_SIZE or self.ensemble < 1:
            raise SpecError(
                f"need epochs >= 1, batch size >= 2 and ensemble >= 1; got "
                f"{self.epochs}, {self.batch_size}, {self.ensemble}"
            )
        if not (self.lr > 0 and self.lr_step >= 1 and 0 < self.lr_gamma <= 1):
            raise SpecError(
                f"bad learning-rate schedule: lr {self.lr}, step {self.lr_step}, "
                f"gamma {self.lr_gamma}"
            )
        if self.reweight not in REWEIGHTS:
            raise SpecError(f"unknown reweighting {self.reweight!r}; valid: {', '.join(REWEIGHTS)}")
        if self.label_units_loss and not self.per_volume:
            raise SpecError("--label-units-loss needs --per-volume (it weights by density)")
        if self.input_scale not in ("auto", "linear", "log"):
            raise SpecError(f"input scale must be auto, linear or log, got {self.input_scale!r}")
        if self.freeze_conv and not self.init_from:
            raise SpecError("--freeze-conv needs --init-from (a trained model)")
        if self.refit_batchnorm and not self.init_from:
            raise SpecError("--refit-batchnorm needs --init-from (a trained model)")
        if self.restandardize and not self.init_from:
            raise SpecError("--restandardize needs --init-from (a trained model)")
        import torch

        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise SpecError(f"device {self.device!r} requested but torch sees no CUDA GPU")
        if self.device != "cpu" and not self.device.startswith("cuda"):
            raise SpecError(f"device must be 'cpu' or 'cuda', got {self.device!r}")

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        extra = set(d) - names
        if extra:
            raise SpecError(f"unknown training settings {sorted(extra)}; valid: {sorted(names)}")
        d = dict(d)
        if "betas" in d:
            d["betas"] = tuple(d["betas"])
        return cls(**d)
