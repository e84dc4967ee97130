"""RetNet, the 3D CNN of docs/method.md section 2, with named layers and hooks.

Every layer a user can look at has a stable name (``conv1`` ... ``conv5``, ``max1``,
``max2``, ``fc``), and feature maps are taken with forward hooks on those names, never
by ``nn.Sequential`` index (torchvision ``models/feature_extraction.py`` does the same).

Input is one channel of *standardized* Boltzmann factors, shape (N, 1, n, n, n); the
standardization lives in the model file (:mod:`retvis.ml.weights`), not here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..errors import SpecError

#: Names of the layers whose outputs are 3D feature maps, in forward order.
MAP_LAYERS: tuple[str, ...] = ("conv1", "conv2", "max1", "conv3", "max2", "conv4", "conv5")
#: Slope of every LeakyReLU, and the ``a`` of the He initialisation.
NEGATIVE_SLOPE = 0.01
#: Size of the learned fingerprint (the input of the output layer).
FINGERPRINT_SIZE = 20


def map_shapes(n: int = 25) -> dict[str, tuple[int, int, int, int]]:
    """Shape (channels, d, d, d) of each named layer's output for an input of n^3 voxels.

    Parameters
    ----------
    n : int
        Grid points per axis of the input.

    Returns
    -------
    dict
        Layer name -> (C, d, d, d); for n = 25 these are the sizes of docs/method.md section 2.
    """
    d1 = n  # circular padding 1, kernel 3
    d2 = d1 - 2
    m1 = d2 // 2
    d3 = m1 - 1
    m2 = d3 // 2
    d4 = m2 - 1
    d5 = d4 - 1
    if d5 < 1:
        raise SpecError(f"RetNet needs at least 14 grid points per axis, got n = {n}")
    sizes = {
        "conv1": (12, d1),
        "conv2": (24, d2),
        "max1": (24, m1),
        "conv3": (32, d3),
        "max2": (32, m2),
        "conv4": (64, d4),
        "conv5": (120, d5),
    }
    return {k: (c, d, d, d) for k, (c, d) in sizes.items()}


class ConvBlock(nn.Module):
    """Conv3d (no bias) -> BatchNorm3d -> LeakyReLU(0.01).

    Submodules ``conv``, ``bn``, ``act``; the block's output is the layer's feature map.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, circular: bool = False) -> None:
        super().__init__()
        if circular:
            self.conv = nn.Conv3d(
                c_in, c_out, kernel, padding=1, padding_mode="circular", bias=False
            )
        else:
            self.conv = nn.Conv3d(c_in, c_out, kernel, bias=False)
        self.bn = nn.BatchNorm3d(c_out)
        self.act = nn.LeakyReLU(NEGATIVE_SLOPE)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


class Head(nn.Module):
    """The fully connected part: Flatten, Dropout, 84, 20 (the fingerprint), 1.

    Submodules: ``flatten``, ``dropout``, ``fc1``, ``bn1``, ``act1``, ``fc2``, ``bn2``,
    ``act2`` (its output is the fingerprint) and ``out`` (a linear model on it, with
    ``outputs`` outputs: 1, or one per target of a pretrained backbone).
    """

    def __init__(self, n_in: int, dropout: float = 0.3, outputs: int = 1) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc1 = nn.Linear(n_in, 84)
        self.bn1 = nn.BatchNorm1d(84)
        self.act1 = nn.LeakyReLU(NEGATIVE_SLOPE)
        self.fc2 = nn.Linear(84, FINGERPRINT_SIZE)
        self.bn2 = nn.BatchNorm1d(FINGERPRINT_SIZE)
        self.act2 = nn.LeakyReLU(NEGATIVE_SLOPE)
        self.out = nn.Linear(FINGERPRINT_SIZE, outputs)

    def fingerprint(self, x: Tensor) -> Tensor:
        x = self.dropout(self.flatten(x))
        x = self.act1(self.bn1(self.fc1(x)))
        return self.act2(self.bn2(self.fc2(x)))

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.fingerprint(x)).squeeze(-1)


@dataclass
class Outputs:
    """What one forward pass returns.

    Attributes
    ----------
    prediction : Tensor
        Shape (N,), in the target's units.
    fingerprint : Tensor
        Shape (N, 20).
    maps : dict of str -> Tensor
        Requested layer name -> output, shape (N, C, d, d, d).
    """

    prediction: Tensor
    fingerprint: Tensor
    maps: dict[str, Tensor]


class RetNet(nn.Module):
    """RetNet for an input of 1 x n x n x n standardized Boltzmann factors.

    Parameters
    ----------
    n : int
        Grid points per axis (25 in the thesis).
    dropout : float
        Dropout probability before the first linear layer.
    outputs : int
        Outputs of the last layer: 1 (a prediction), or one per target of a multi-task
        backbone (:mod:`retvis.ml.pretrain`), whose forward pass gives (N, outputs).

    Notes
    -----
    Linear layers get He (Kaiming normal, ``a = 0.01``) weights and zero biases; call
    :meth:`set_output_bias` with ``mean(y_train)`` before training.
    """

    def __init__(self, n: int = 25, dropout: float = 0.3, outputs: int = 1) -> None:
        super().__init__()
        shapes = map_shapes(n)
        self.n = n
        self.dropout_p = dropout
        self.conv1 = ConvBlock(1, 12, 3, circular=True)
        self.conv2 = ConvBlock(12, 24, 3)
        self.max1 = nn.MaxPool3d(2, stride=2)
        self.conv3 = ConvBlock(24, 32, 2)
        self.max2 = nn.MaxPool3d(2, stride=2)
        self.conv4 = ConvBlock(32, 64, 2)
        self.conv5 = ConvBlock(64, 120, 2)
        c, d, _, _ = shapes["conv5"]
        self.fc = Head(c * d**3, dropout, outputs)
        self.conv_frozen = False
        self.batchnorm_frozen = False
        self.reset_parameters()

    # -- initialisation ------------------------------------------------------------
    def reset_parameters(self) -> None:
        """He-initialise every linear layer (``a = 0.01``), biases 0."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, a=NEGATIVE_SLOPE, nonlinearity="leaky_relu")
                nn.init.zeros_(m.bias)

    def set_output_bias(self, value: float) -> None:
        """Set the output layer's bias (to ``mean(y_train)`` in the thesis)."""
        with torch.no_grad():
            self.fc.out.bias.fill_(float(value))

    # -- fine-tuning ---------------------------------------------------------------
    def freeze_conv(self, frozen: bool = True) -> None:
        """Freeze (or unfreeze) conv1..conv5: no gradients, batch-norm statistics fixed."""
        self.conv_frozen = frozen
        for name in ("conv1", "conv2", "conv3", "conv4", "conv5"):
            for p in getattr(self, name).parameters():
                p.requires_grad_(not frozen)
        self.train(self.training)

    def freeze_batchnorm(self, frozen: bool = True) -> None:
        """Keep (or release) every batch-norm layer's running statistics: in training
        mode they normalise with them, as in evaluation, and do not update (their scale
        and shift still train). For fine-tuning on a few new structures, whose batch
        statistics would replace those the network learned with."""
        self.batchnorm_frozen = frozen
        self.train(self.training)

    def train(self, mode: bool = True) -> RetNet:
        super().train(mode)
        if self.conv_frozen:
            for name in ("conv1", "conv2", "conv3", "conv4", "conv5"):
                getattr(self, name).eval()
        if self.batchnorm_frozen:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    # -- forward -------------------------------------------------------------------
    def features(self, x: Tensor) -> Tensor:
        """Output of conv5, shape (N, 120, d, d, d)."""
        if x.dim() != 5 or x.shape[1] != 1 or tuple(x.shape[2:]) != (self.n,) * 3:
            raise SpecError(
                f"RetNet expects input of shape (N, 1, {self.n}, {self.n}, {self.n}), "
                f"got {tuple(x.shape)}"
            )
        x = self.conv2(self.conv1(x))
        x = self.conv3(self.max1(x))
        x = self.conv5(self.conv4(self.max2(x)))
        return x

    def forward(self, x: Tensor) -> Tensor:
        """Prediction, shape (N,), for input (N, 1, n, n, n)."""
        return self.fc(self.features(x))

    def forward_all(self, x: Tensor, layers: tuple[str, ...] | list[str] = ()) -> Outputs:
        """Prediction, fingerprint and the outputs of named layers in one pass.

        Parameters
        ----------
        x : Tensor
            Shape (N, 1, n, n, n), standardized.
        layers : sequence of str
            Names from :data:`MAP_LAYERS` (any module name of :meth:`named_modules` works).

        Returns
        -------
        Outputs
        """
        modules = dict(self.named_modules())
        unknown = [name for name in layers if name not in modules or name == ""]
        if unknown:
            raise SpecError(f"unknown layer(s) {unknown}; valid: {list(MAP_LAYERS)}")
        maps: dict[str, Tensor] = {}
        handles = []
        for name in layers:

            def hook(_m, _i, out, name=name):
                maps[name] = out

            handles.append(modules[name].register_forward_hook(hook))
        fps: list[Tensor] = []
        handles.append(self.fc.act2.register_forward_hook(lambda _m, _i, out: fps.append(out)))
        try:
            pred = self.forward(x)
        finally:
            for h in handles:
                h.remove()
        return Outputs(pred, fps[0], maps)


def build_retnet(
    n: int = 25, dropout: float = 0.3, seed: int | None = None, outputs: int = 1
) -> RetNet:
    """A freshly initialised RetNet; ``seed`` makes the initial weights reproducible."""
    if seed is None:
        return RetNet(n, dropout, outputs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return RetNet(n, dropout, outputs)
