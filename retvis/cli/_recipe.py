"""The training-recipe options that ``retvis train`` and ``retvis learning-curve`` share.

A learning curve is only worth reading when every point is trained with the recipe of
the model it describes, so both commands take the same recipe options from one place
and turn them into the same :class:`~retvis.ml.config.TrainConfig` fields.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..ml.config import TrainConfig


def add_recipe_options(p: argparse.ArgumentParser) -> None:
    """Add the data, recipe and hardware options of a training run to ``p``."""
    from ..ml.config import TrainConfig

    d = TrainConfig()
    _add_target_options(p, d)
    _add_schedule_options(p, d)
    _add_learning_options(p, d)
    _add_run_options(p, d)
    _add_start_options(p)
    p.add_argument(
        "--input-scale",
        choices=("auto", "linear", "log"),
        default=d.input_scale,
        help="standardize the Boltzmann factors (linear) or their logarithms (log); "
        "auto: log for CO2-probe grids, linear otherwise (default auto)",
    )


def _add_target_options(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """The label column, its units and whether it may be negative."""
    p.add_argument("--target", help="label column (default: 'value' or the only numeric one)")
    p.add_argument("--units", default=d.units, help="units of the target, e.g. mol/kg")
    p.add_argument(
        "--allow-negative",
        action="store_true",
        help="accept negative labels (a target other than an uptake, e.g. an enthalpy)",
    )


def _add_schedule_options(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """Epochs, batch size, learning rate and its steps, dropout."""
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"default {d.epochs}")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"default {d.batch_size}")
    p.add_argument("--lr", type=float, default=d.lr, help=f"Adam learning rate (default {d.lr})")
    p.add_argument(
        "--lr-step",
        type=int,
        default=d.lr_step,
        help=f"halve the learning rate every this many epochs (default {d.lr_step})",
    )
    p.add_argument("--dropout", type=float, default=d.dropout, help=f"default {d.dropout}")


def _add_learning_options(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """What the networks see and learn: augmentations, loss weights, per-volume target,
    target scaling and calibration."""
    from ..ml.config import REWEIGHTS

    p.add_argument("--no-augment", action="store_true", help="no rotations, flips, transposes")
    p.add_argument(
        "--shift",
        action="store_true",
        help="also roll each grid by a random periodic offset (an exact symmetry of a "
        "periodic grid; not in docs/method.md)",
    )
    p.add_argument(
        "--reweight",
        choices=REWEIGHTS,
        default=d.reweight,
        help="weight the loss by the inverse square root of the training labels' density, "
        "so rare (top-end) labels count more (default: none; not in docs/method.md)",
    )
    p.add_argument(
        "--per-volume",
        action="store_true",
        help="learn uptake x framework density (per volume, what the grid shows) and divide "
        "the density out when predicting; needs grids with densities.json (not in docs/method.md)",
    )
    p.add_argument(
        "--label-units-loss",
        action="store_true",
        help="with --per-volume: weight each squared error by 1/density², so the loss (and "
        "the epoch choice) is the error in the label's units (not in docs/method.md)",
    )
    p.add_argument(
        "--no-scale-target",
        action="store_true",
        help="train on the target as it is, not standardized by the training set's mean "
        "and standard deviation (docs/method.md's way; slow for targets in large units)",
    )
    p.add_argument(
        "--no-calibrate",
        action="store_true",
        help="keep the networks' raw predictions instead of the line y = a + b * prediction "
        "fitted on the validation split (not in docs/method.md)",
    )


def _add_run_options(p: argparse.ArgumentParser, d: TrainConfig) -> None:
    """Seed and split, ensemble size, device and threads, which names are used."""
    p.add_argument("--seed", type=int, default=d.seed, help=f"default {d.seed}")
    p.add_argument("--split", help="reuse this split JSON (e.g. another run's split.json)")
    p.add_argument(
        "--ensemble",
        type=int,
        default=d.ensemble,
        metavar="K",
        help="a deep ensemble of K seeds (default 1: one network)",
    )
    p.add_argument("--device", default=d.device, help="cpu or cuda")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument(
        "--drop-missing",
        action="store_true",
        help="leave out labelled names without a grid instead of failing",
    )
    p.add_argument("--exclude", help="file of names never used (e.g. the hold-out list)")


def _add_start_options(p: argparse.ArgumentParser) -> None:
    """Where the weights start (the backbone, a model or random weights) and what a
    fine-tune keeps of its source."""
    from ..ml.weights import FROM_BACKBONE

    start = p.add_mutually_exclusive_group()
    start.add_argument(
        "--init-from",
        metavar="RUN_OR_MODEL",
        default=FROM_BACKBONE,
        help="start from this model (a run folder or a named model, e.g. ch4-coremof); "
        f"default '{FROM_BACKBONE}': the installed RetVis backbone that reads these grids "
        "(docs/pretraining.md), or random weights where none does",
    )
    start.add_argument(
        "--from-scratch",
        action="store_true",
        help="start from random weights, not from the backbone",
    )
    p.add_argument(
        "--freeze-conv", action="store_true", help="with --init-from: train the head only"
    )
    p.add_argument(
        "--refit-batchnorm",
        action="store_true",
        help="with --init-from: re-estimate the batch-norm statistics on the new data "
        "(by default the source's are kept)",
    )
    p.add_argument(
        "--restandardize",
        action="store_true",
        help="with --init-from: standardize the voxels on this training set, not as the "
        "source did (a source trained on grids of other settings)",
    )


def recipe_from_args(args: argparse.Namespace) -> dict:
    """The :class:`~retvis.ml.config.TrainConfig` fields set by :func:`add_recipe_options`
    (and applies ``--threads`` to torch)."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    return dict(
        target=args.target,
        units=args.units,
        allow_negative=args.allow_negative,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_step=args.lr_step,
        dropout=args.dropout,
        augment=not args.no_augment,
        shift=args.shift,
        reweight=args.reweight,
        per_volume=args.per_volume,
        label_units_loss=args.label_units_loss,
        scale_target=not args.no_scale_target,
        calibrate=not args.no_calibrate,
        seed=args.seed,
        split=str(Path(args.split).resolve()) if args.split else None,
        ensemble=args.ensemble,
        device=args.device,
        drop_missing=args.drop_missing,
        exclude=str(Path(args.exclude).resolve()) if args.exclude else None,
        init_from=None if args.from_scratch else args.init_from,
        freeze_conv=args.freeze_conv,
        refit_batchnorm=args.refit_batchnorm,
        restandardize=args.restandardize,
        input_scale=args.input_scale,
    )
