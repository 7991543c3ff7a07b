"""Early-bird machinery on hand-made values: the slimming mask (channels by |gamma|), the normalised Hamming
distance and the early-bird rule, the channel-pruned VGG against a physically smaller plain VGG, its FLOPs,
the L1 subgradient, and the unstructured mask distances of consecutive IMP rounds."""
import pytest
import torch
from torch.nn import functional as F

from lth.core.convnets import CONV_PLANS, make_convnet
from lth.core.slimming import (SlimmingPenalty, bn_scales, channel_masks, distance_matrix, early_bird_epoch,
                               is_early_bird, mask_distance, vgg_training_flops, weight_masks_from_channels)
from lth.data import DeviceData, Split
from lth.experiments.early_bird import EarlyBirdConfig, EarlyBirdStudy
from lth.experiments.mask_distance import imp_distances
from lth.shared.ticket_file import pack_masks, write_tickets


def test_channel_masks_prune_the_smallest_scales_over_all_layers():
    gammas = {"bn0.weight": torch.tensor([[0.5, -0.05, 0.3]]), "bn1.weight": torch.tensor([[0.01, -0.9, 0.2, 0.04]])}
    masks = channel_masks(gammas, 3 / 7)                      # 3 of 7 channels: |g| 0.01, 0.04, 0.05
    assert masks["bn0.weight"].tolist() == [[True, False, True]]
    assert masks["bn1.weight"].tolist() == [[False, True, True, False]]


def _m(bits):
    return {"a": torch.tensor([bits[:4]], dtype=torch.bool), "b": torch.tensor([bits[4:]], dtype=torch.bool)}


def test_hamming_distance_is_the_fraction_of_channels_that_differ():
    a, b = _m([1, 1, 0, 0, 1, 0, 1, 0, 1, 1]), _m([1, 0, 1, 0, 1, 0, 1, 0, 0, 1])
    assert float(mask_distance(a, b)[0]) == pytest.approx(3 / 10)
    matrix = distance_matrix([a, b, a])[0]
    assert torch.allclose(matrix, torch.tensor([[0, 0.3, 0], [0.3, 0, 0.3], [0, 0.3, 0]], dtype=torch.float64))


def test_early_bird_rule_on_hand_made_masks():
    base = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    flip = lambda bits, i: [1 - b if j in i else b for j, b in enumerate(bits)]      # noqa: E731
    # distances to the final pattern: 0.6, 0.4, 0.2, 0.2 (differs from the previous by 0.2 at each step), then 0
    history = [flip(base, {0, 1, 2, 5, 6, 7}), flip(base, {0, 1, 5, 6}), flip(base, {0, 5}), flip(base, {1, 6}),
               base, base, base]
    masks = [_m(h) for h in history]
    # window 3, epsilon 0.25: epoch e needs d(e, e-1) and d(e, e-2) < 0.25
    # e=2: d(2,1)=0.2, d(2,0)=0.4 -> no; e=3: d(3,2)=0.4 -> no; e=4: d(4,3)=0.2, d(4,2)=0.2 -> drawn
    assert early_bird_epoch(masks, 0.25, 3) == [4]
    assert not bool(is_early_bird(masks[:4], 0.25, 3)[0]) and bool(is_early_bird(masks[:5], 0.25, 3)[0])
    # window 5, epsilon 0.1: the latest mask must equal the four before it: epochs 4-7 are base, so epoch 8
    assert early_bird_epoch(masks, 0.1, 5) == [None]
    assert early_bird_epoch(masks + [masks[4]] * 2, 0.1, 5) == [8]
    assert early_bird_epoch(masks[:3], 0.5, 5) == [None]     # fewer epochs than the window


def _plain_vgg(params, channels, x):
    """A physically smaller VGG: only the kept channels' weights, plain torch ops, batch norm in eval mode."""
    h, index, previous = x, 0, torch.arange(x.shape[1])
    for item in CONV_PLANS["vgg19"]:
        if item == "M":
            h = F.max_pool2d(h, 2)
            continue
        keep = channels[f"bn{index}.weight"][0].nonzero().flatten()
        w = params[f"conv{index}.weight"][0][keep][:, previous]
        h = F.conv2d(h, w, padding=1)
        bn = {s: params[f"bn{index}.{s}"][0][keep] for s in ("weight", "bias", "running_mean", "running_var")}
        h = torch.relu(F.batch_norm(h, bn["running_mean"], bn["running_var"], bn["weight"], bn["bias"], False))
        previous, index = keep, index + 1
    h = h.mean((2, 3))
    return F.linear(h, params["fc0.weight"][0][:, previous], params["fc0.bias"][0])


def test_channel_pruned_vgg_equals_a_smaller_plain_vgg_and_counts_its_flops():
    model = make_convnet("vgg19", 0.0625)
    params = model.init_params([3], "glorot_normal")
    g = torch.Generator().manual_seed(0)
    for name in model.shapes():                                 # non-trivial scales, shifts and statistics
        if name.startswith("bn"):
            params[name] = torch.rand(params[name].shape, generator=g) + 0.5 if "var" in name or "weight" in name \
                else torch.randn(params[name].shape, generator=g) * 0.1
    channels = channel_masks({n: params[n] for n in bn_scales(model)}, 0.5)
    masks = weight_masks_from_channels(model, channels)
    pruned = {n: p * masks[n] if n in masks else p for n, p in params.items()}
    x = torch.randn(3, 3, 32, 32, generator=g)
    got = model.forward(pruned, x)[0]
    assert torch.allclose(got, _plain_vgg(params, channels, x), atol=1e-5)
    # FLOPs: 3 passes x 2 FLOPs per multiply-add, counted by hand from the kept channels
    kept = [int(channels[n].sum()) for n in bn_scales(model)]
    size, inputs, macs, i = 32, 3, 0, 0
    for item in CONV_PLANS["vgg19"]:
        if item == "M":
            size //= 2
            continue
        macs += size * size * 9 * inputs * kept[i]
        inputs, i = kept[i], i + 1
    macs += inputs * 10
    assert float(vgg_training_flops(model, channels, 64)[0]) == 6 * macs * 64
    assert vgg_training_flops(model, None, 1)[0] > vgg_training_flops(model, channels, 1)[0]


def test_slimming_penalty_adds_the_l1_subgradient_to_the_scales_only():
    model = make_convnet("vgg19", 0.0625)
    buffers = set(model.buffer_names)
    params = {n: p.clone().requires_grad_(n not in buffers) for n, p in model.init_params([1], "glorot_normal").items()}
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    F.cross_entropy(model.forward(params, x, training=True)[0], y).backward()
    plain = {n: p.grad.clone() for n, p in params.items() if p.grad is not None}
    for p in params.values():
        p.grad = None
    wrapped = SlimmingPenalty(model, tuple(bn_scales(model)), 0.01)
    F.cross_entropy(wrapped.forward(params, x, training=True)[0], y).backward()
    for name, grad in plain.items():
        extra = 0.01 * torch.sign(params[name].detach()) if name in bn_scales(model) else 0.0
        assert torch.allclose(params[name].grad, grad + extra, atol=1e-7), name


def test_imp_distances_of_hand_made_nested_masks(tmp_path):
    full = torch.ones(1, 2, 5, dtype=torch.bool)
    r1 = full.clone(); r1[0, 0, :2] = False                     # 8 of 10 left: 2 of 10 differ
    r2 = r1.clone(); r2[0, 1, :3] = False                       # 5 of 10 left: 3 differ, 3/8 of the survivors
    bits = {"fc0.weight": torch.stack([pack_masks({"fc0.weight": m}, ["fc0.weight"])["fc0.weight"]
                                       for m in (full, r1, r2)])}
    write_tickets(tmp_path / "t.pt", {"init/fc0.weight": torch.zeros(1, 2, 5), "masks/fc0.weight": bits["fc0.weight"]})
    out = imp_distances(tmp_path / "t.pt")
    assert out["distance"] == [[0.2], [0.3]] and out["relative"] == [[0.2], [0.375]]
    assert out["pm"] == [[1.0], [0.8], [0.5]]
    assert float(mask_distance({"w": r1}, {"w": r2})[0]) == 0.3


def test_early_bird_study_draws_and_retrains_and_counts_less_search(tmp_path):
    g = torch.Generator().manual_seed(0)
    split = lambda n: Split(torch.randn(n, 3, 32, 32, generator=g), torch.arange(n) % 10)     # noqa: E731
    data = DeviceData(train=split(64), validation=split(16), test=split(32))
    config = EarlyBirdConfig(width=0.0625, batch_size=8, epochs=6, lr_drop_epochs=[3, 5], window=3, epsilon=0.5,
                             ratios=[0.3, 0.5], retrain_ratios=[0.5], retrain_epochs=2, trials=2)
    result = EarlyBirdStudy(config, data, torch.device("cpu"), tmp_path / "eb.pt", progress=False).run()
    epochs = result["ratios"]["0.5"]["early_bird_epoch"]
    assert all(e is not None and 3 <= e <= 6 for e in epochs)                # never before the window fills
    kinds = [(m["trial"], m["kind"]) for m in result["retrained"]]
    assert kinds == [(0, "early_bird"), (0, "after_training"), (1, "early_bird"), (1, "after_training")]
    for m in result["retrained"]:
        assert m["search_flops"] == m["drawn_at_epoch"] * result["iterations_per_epoch"] * result["dense_step_flops"]
        assert m["kept_channels"] == round(0.5 * result["channels"])
    again = EarlyBirdStudy(config, data, torch.device("cpu"), tmp_path / "eb.pt", progress=False).run()
    assert again == result                                                     # resumed from the finished state
    with pytest.raises(Exception, match="retrain_ratios contains 0.7"):
        from lth.config import build
        build(EarlyBirdConfig, {"retrain_ratios": [0.7], "ratios": [0.5]}, "early_bird")
