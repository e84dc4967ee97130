import math

import numpy as np
import pytest
import torch

from retvis.errors import SpecError
from retvis.ml.retnet import MAP_LAYERS, RetNet, build_retnet, map_shapes

# docs/method.md section 2, input 1 x 25^3
EXPECTED = {
    "conv1": (12, 25, 25, 25),
    "conv2": (24, 23, 23, 23),
    "max1": (24, 11, 11, 11),
    "conv3": (32, 10, 10, 10),
    "max2": (32, 5, 5, 5),
    "conv4": (64, 4, 4, 4),
    "conv5": (120, 3, 3, 3),
}


def test_every_named_layer_has_the_published_shape():
    net = build_retnet(25, seed=0).eval()
    x = torch.randn(3, 1, 25, 25, 25)
    with torch.no_grad():
        out = net.forward_all(x, MAP_LAYERS)
    assert {k: tuple(v.shape[1:]) for k, v in out.maps.items()} == EXPECTED
    assert all(v.shape[0] == 3 for v in out.maps.values())
    assert map_shapes(25) == EXPECTED
    assert out.fingerprint.shape == (3, 20)
    assert out.prediction.shape == (3,)
    assert net.fc.fc1.in_features == 3240
    # the fingerprint is the input of the output layer: a linear model on it
    lin = out.fingerprint @ net.fc.out.weight.T + net.fc.out.bias
    torch.testing.assert_close(lin.squeeze(-1), out.prediction)


def test_hooks_are_named_and_removed():
    net = build_retnet(25, seed=0).eval()
    x = torch.randn(2, 1, 25, 25, 25)
    with torch.no_grad():
        net.forward_all(x, ["conv2"])
    assert all(not m._forward_hooks for m in net.modules())
    with pytest.raises(SpecError, match="valid"):
        net.forward_all(x, ["conv9"])
    with pytest.raises(SpecError, match=r"\(N, 1, 25, 25, 25\)"):
        net(torch.randn(2, 1, 24, 24, 24))


def test_conv1_is_circular_so_it_commutes_with_periodic_shifts():
    net = build_retnet(25, seed=1).eval()
    assert net.conv1.conv.padding_mode == "circular" and net.conv1.conv.padding == (1, 1, 1)
    assert net.conv2.conv.padding == (0, 0, 0) and net.conv2.conv.bias is None
    x = torch.randn(1, 1, 25, 25, 25)
    shift = (3, -5, 7)
    with torch.no_grad():
        a = net.forward_all(torch.roll(x, shift, dims=(2, 3, 4)), ["conv1"]).maps["conv1"]
        b = torch.roll(net.forward_all(x, ["conv1"]).maps["conv1"], shift, dims=(2, 3, 4))
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_he_initialisation_and_output_bias():
    net = build_retnet(25, seed=0)
    w = net.fc.fc1.weight.detach()
    expected_std = math.sqrt(2.0 / (1 + 0.01**2)) / math.sqrt(3240)
    assert abs(float(w.std()) / expected_std - 1) < 0.02
    assert abs(float(w.mean())) < 0.05 * expected_std
    assert float(net.fc.fc1.bias.detach().abs().max()) == 0.0
    net.set_output_bias(0.537)
    assert float(net.fc.out.bias.detach()) == pytest.approx(0.537)
    # seeded construction is reproducible
    other = build_retnet(25, seed=0)
    assert torch.equal(net.fc.fc2.weight, other.fc.fc2.weight)
    assert torch.equal(net.conv1.conv.weight, other.conv1.conv.weight)


def test_freeze_conv_keeps_batch_norm_statistics():
    net = RetNet(25)
    net.freeze_conv(True)
    net.train()
    assert not net.conv1.training and net.fc.training
    assert not any(p.requires_grad for p in net.conv3.parameters())
    before = net.conv2.bn.running_mean.clone()
    net(torch.randn(4, 1, 25, 25, 25) * 3 + 1)
    assert torch.equal(before, net.conv2.bn.running_mean)


def test_freeze_batchnorm_normalises_with_the_running_statistics_in_training():
    net = build_retnet(25, dropout=0.0, seed=1)
    x = torch.randn(4, 1, 25, 25, 25) * 3 + 1
    net.train()
    with torch.no_grad():
        net(x)  # some statistics to keep
    stats = {k: v.clone() for k, v in net.state_dict().items() if "running" in k}
    net.freeze_batchnorm(True)
    net.train()
    assert net.training and net.fc.training and not net.fc.bn1.training
    assert all(p.requires_grad for p in net.parameters())  # scale and shift still train
    with torch.no_grad():
        got = net(x)
        want = net.eval()(x)
    torch.testing.assert_close(got, want)
    assert all(torch.equal(stats[k], v) for k, v in net.state_dict().items() if k in stats)
    net.freeze_batchnorm(False)
    net.train()
    with torch.no_grad():
        net(x)
    assert not torch.equal(stats["conv2.bn.running_mean"], net.conv2.bn.running_mean)


def test_too_small_grid_is_refused():
    with pytest.raises(SpecError, match="at least 14"):
        RetNet(10)
    assert map_shapes(32)["conv5"][0] == 120
    np.testing.assert_equal(RetNet(32).fc.fc1.in_features, 120 * map_shapes(32)["conv5"][1] ** 3)
