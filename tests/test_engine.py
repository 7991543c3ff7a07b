import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from results_compare import assert_same_result

from lth.core import cpu_fastpath
from lth.core.convnets import PopulationConvNet
from lth.core.cpu_fastpath import InBackwardAdam
from lth.core.engine import (PopulationRun, Split, TrainJob, TrainSettings, early_stop, evaluate,
                             forward_in_row_blocks, train_population)
from lth.core.masks import dense_masks, prune_by_rate
from lth.core.models import PopulationMLP
from lth.core.optimizer import PopulationOptimizer
from lth.io import load_torch


def _problem(dtype=torch.float64):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(96, 20, generator=generator, dtype=dtype)
    y = (x[:, :3].argmax(1))
    return Split(x[:64], y[:64]), Split(x[64:], y[64:])


def _random_masks(model, params, seed):
    scores = {n: torch.rand(params[n].shape, generator=torch.Generator().manual_seed(seed), dtype=params[n].dtype)
              for n in model.layer_names}
    return prune_by_rate(scores, dense_masks(params, model.layer_names),
                         {"fc0.weight": 0.5, "fc1.weight": 0.3, "fc2.weight": 0.2})


def _members(tensors, start, stop):
    return {n: t[start:stop] for n, t in tensors.items()}


def _train(model, params, masks, settings, train, seeds, evaluations=None, **job):
    """``train_population`` of one job (the keyword arguments are TrainJob's optional fields)."""
    return train_population(TrainJob(model, params, masks, settings, train, seeds, evaluations or {}, **job))


@pytest.mark.parametrize("settings", [
    TrainSettings(iterations=60, batch_size=8, optimizer="adam", lr=3e-3, eval_every=20),
    TrainSettings(iterations=60, batch_size=8, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=1e-4,
                  lr_milestones=(30,), warmup_iterations=10, eval_every=20),
])
def test_population_equals_separate_trainings(settings):
    """K members trained together == the same K trained one at a time (float64, same seeds)."""
    train, test = _problem()
    model = PopulationMLP((20, 16, 8, 3))
    seeds = [11, 12, 13, 14]
    params = model.init_params(seeds, "glorot_normal", dtype=torch.float64)
    masks = _random_masks(model, params, 0)
    together = _train(model, params, masks, settings, train, [100 + s for s in seeds], {"test": test})
    for k, seed in enumerate(seeds):
        alone = _train(model, _members(params, k, k + 1), _members(masks, k, k + 1), settings, train, [100 + seed],
                       {"test": test})
        for name in params:
            assert torch.allclose(together.params[name][k], alone.params[name][0], atol=1e-12, rtol=0)
        assert torch.allclose(together.curves["test"]["loss"][k], alone.curves["test"]["loss"][0], atol=1e-12)


def test_shared_order_population_equals_separate_trainings():
    """With one shared batch order (the fast single-product first layer), each member still equals a
    separate training that sees the same batches."""
    train, test = _problem()
    model = PopulationMLP((20, 16, 8, 3))
    seeds = [21, 22, 23]
    params = model.init_params(seeds, "glorot_normal", dtype=torch.float64)
    masks = _random_masks(model, params, 2)
    settings = TrainSettings(iterations=50, batch_size=8, optimizer="adam", lr=3e-3, eval_every=25,
                             shared_data_order=True)
    together = _train(model, params, masks, settings, train, [7, 8, 9], {"test": test})
    for k in range(3):
        alone = _train(model, _members(params, k, k + 1), _members(masks, k, k + 1), settings, train, [7],
                       {"test": test})
        for name in params:
            assert torch.allclose(together.params[name][k], alone.params[name][0], atol=1e-12, rtol=0)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_pruned_weights_stay_exactly_zero(optimizer):
    """Checked after every step of the loop (``PopulationRun``, with the CPU's in-backward updates as
    ``train_population`` registers them) and in the final weights of ``train_population``."""
    train, _ = _problem(torch.float32)
    model = PopulationMLP((20, 16, 8, 3))
    params = model.init_params([1, 2], "glorot_normal")
    masks = _random_masks(model, params, 1)
    settings = TrainSettings(iterations=30, batch_size=8, optimizer=optimizer, lr=0.01, momentum=0.9,
                             weight_decay=1e-3, eval_every=1)
    job = TrainJob(model, params, masks, settings, train, [0, 1], {"train": train})
    run = PopulationRun(job)
    seen = []
    with cpu_fastpath.updates_in_backward(run.optimizer.backward_updates()):
        run.start()
        for iteration in range(settings.iterations):
            run.step(iteration)
            seen.extend(bool((run.state[name][~mask] == 0).all()) for name, mask in masks.items())
    assert len(seen) == 30 * 3 and all(seen)
    result = train_population(job)
    for name, mask in masks.items():
        assert (result.params[name][~mask] == 0).all()
        assert (result.params[name][mask] != params[name][mask]).any()   # survivors did train
        assert torch.equal(result.params[name], run.state[name].detach())  # the loop above is the engine's


def test_diverging_member_is_flagged_and_does_not_disturb_others():
    train, test = _problem(torch.float32)
    model = PopulationMLP((20, 16, 8, 3))
    params = model.init_params([1, 2], "glorot_normal")
    blown = {n: p.clone() for n, p in params.items()}
    blown["fc2.weight"][1] = float("inf")
    settings = TrainSettings(iterations=20, batch_size=8, optimizer="adam", lr=0.01, eval_every=10)
    result = _train(model, blown, {}, settings, train, [5, 6], {"test": test})
    reference = _train(model, _members(params, 0, 1), {}, settings, train, [5], {"test": test})
    assert result.diverged.tolist() == [False, True]
    assert math.isnan(result.curves["test"]["loss"][1, -1])
    assert torch.allclose(result.curves["test"]["loss"][0], reference.curves["test"]["loss"][0], atol=1e-6)


class _DivergesLater:
    """A population MLP whose member ``member`` diverges at training step ``at`` from finite weights and a
    live optimizer state: from then on its training logits are multiplied by inf (every other member's by
    1, which changes no bit). ``at_divergence`` keeps the weights that the diverging step started from."""

    def __init__(self, model: PopulationMLP, member: int, at: int):
        self.model, self.member, self.at = model, member, at
        self.layer_names = model.layer_names
        self.steps = 0
        self.at_divergence = None

    def forward(self, params, x, training=False, grad_masks=None):
        logits = self.model.forward(params, x, training, grad_masks)
        if not training:
            return logits
        if self.steps == self.at:
            self.at_divergence = {n: p.detach().clone() for n, p in params.items()}
        scale = torch.ones(logits.shape[0], 1, 1, dtype=logits.dtype)
        if self.steps >= self.at:
            scale[self.member] = math.inf
        self.steps += 1
        return logits * scale


@pytest.mark.parametrize("path", ["in-backward", "plain"])
@pytest.mark.parametrize("settings", [
    TrainSettings(iterations=40, batch_size=8, optimizer="adam", lr=3e-3, weight_decay=1e-2, eval_every=10),
    TrainSettings(iterations=40, batch_size=8, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=1e-2,
                  eval_every=10),
], ids=["adam", "sgd"])
def test_a_diverged_member_stays_exactly_where_it_diverged(settings, path, monkeypatch):
    """A member that diverges mid-training keeps, bit for bit, the weights of the step it diverged at:
    neither Adam's moments nor SGD's momentum nor weight decay move it afterwards. The other members are
    bit for bit a separate training without it (float32)."""
    if path == "plain":
        monkeypatch.setattr(PopulationOptimizer, "backward_updates", lambda self: {})
    train, test = _problem(torch.float32)
    mlp = PopulationMLP((20, 16, 8, 3))
    seeds = [51, 52, 53, 54]
    params = mlp.init_params(seeds)
    masks = _random_masks(mlp, params, 5)
    model = _DivergesLater(mlp, member=2, at=15)
    result = _train(model, params, masks, settings, train, seeds, {"test": test})
    frozen = model.at_divergence
    assert result.diverged.tolist() == [False, False, True, False]
    for name in params:
        assert torch.isfinite(frozen[name][2]).all()
        assert torch.equal(result.params[name][2], frozen[name][2]), name
        assert not torch.equal(frozen[name][2], params[name][2]), name           # it had trained before
    assert result.eval_iterations == [0, 10, 20, 30, 40]
    assert torch.isfinite(result.curves["test"]["loss"][2, :2]).all()            # evaluated before step 15
    assert result.curves["test"]["loss"][2, 2:].isnan().all()

    others = [0, 1, 3]
    reference = _train(mlp, {n: p[others] for n, p in params.items()}, {n: m[others] for n, m in masks.items()},
                       settings, train, [seeds[k] for k in others], {"test": test})
    assert not reference.diverged.any()
    for name in params:
        assert torch.equal(result.params[name][others], reference.params[name]), name
    for metric in ("loss", "accuracy"):
        assert torch.equal(result.curves["test"][metric][others], reference.curves["test"][metric])


def test_lr_schedule_warmup_and_steps():
    settings = TrainSettings(iterations=100, lr=0.1, lr_milestones=(50, 75), lr_gamma=0.1, warmup_iterations=10)
    assert settings.lr_factor(0) == pytest.approx(0.1)
    assert settings.lr_factor(9) == pytest.approx(1.0)
    assert settings.lr_factor(49) == 1.0
    assert settings.lr_factor(50) == pytest.approx(0.1)
    assert settings.lr_factor(75) == pytest.approx(0.01)


def test_early_stop_takes_minimum_validation_loss():
    train, test = _problem(torch.float32)
    model = PopulationMLP((20, 16, 8, 3))
    params = model.init_params([1], "glorot_normal")
    settings = TrainSettings(iterations=200, batch_size=8, optimizer="adam", lr=0.01, eval_every=20)
    result = _train(model, params, {}, settings, train, [0], {"validation": test, "test": test},
                    track_best="validation")
    stop = early_stop(result)
    index = int(result.curves["validation"]["loss"][0].argmin())
    assert stop["iteration"].item() == result.eval_iterations[index]
    assert stop["accuracy"].item() == result.curves["test"]["accuracy"][0, index].item()
    assert result.best_iteration.item() == stop["iteration"].item()        # the engine's own tracking agrees
    _, accuracy = evaluate(model, result.best_params, test)
    assert accuracy.item() == stop["accuracy"].item()


def test_evaluate_matches_direct_computation():
    train, _ = _problem(torch.float64)
    model = PopulationMLP((20, 16, 8, 3))
    params = model.init_params([3, 4], "glorot_normal", dtype=torch.float64)
    loss, accuracy = evaluate(model, params, train, chunk=10)
    logits = model.forward(params, train.x)
    direct = torch.nn.functional.cross_entropy(logits[1], train.y)
    assert torch.allclose(loss[1], direct)
    assert accuracy[0] == (logits[0].argmax(1) == train.y).double().mean()


def test_evaluation_in_row_blocks_gives_the_bits_of_one_pass_of_plain_layers():
    """LeNet-300-100's evaluation on a CPU runs 500 examples at a time; its logits, loss and accuracy are those of
    plain float32 layers applied to the whole split at once."""
    model = PopulationMLP((784, 300, 100, 10))
    assert model.forward_rows == 500
    generator = torch.Generator().manual_seed(0)
    split = Split(torch.rand(1234, 784, generator=generator), torch.randint(0, 10, (1234,), generator=generator))
    params = model.init_params([3, 4, 5])
    calls = []
    forward = model.forward
    blocks = forward_in_row_blocks(type("Counted", (), {"forward_rows": 500, "forward": lambda self, p, x:
                                                        calls.append(len(x)) or forward(p, x)})(), params, split.x)
    assert calls == [500, 500, 234]
    loss, accuracy = evaluate(model, params, split)
    for k in range(3):
        plain = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 100),
                                    torch.nn.ReLU(), torch.nn.Linear(100, 10))
        with torch.no_grad():
            for i, layer in enumerate(plain[::2]):
                layer.weight.copy_(params[f"fc{i}.weight"][k])
                layer.bias.copy_(params[f"fc{i}.bias"][k])
            logits = plain(split.x)
        assert torch.equal(blocks[k], logits)
        per_example = torch.nn.functional.cross_entropy(logits, split.y, reduction="none")
        assert torch.equal(loss[k], per_example.float().mean() * len(split) / len(split))
        assert accuracy[k] == (logits.argmax(1) == split.y).sum().double() / len(split)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_float32_member_is_bit_identical_alone_or_in_any_population(optimizer):
    """Whatever shares its population, a member computes exactly the same float32 numbers (the optimizer
    sees only tensors of whole cache lines: the others live in zero-padded storage), so splitting
    populations over processes or threads cannot change results."""
    train, test = _problem(torch.float32)
    model = PopulationMLP((20, 16, 8, 3))          # per-member sizes 320, 16, 128 | 8, 24, 3 (not 16-aligned)
    seeds = [31, 32, 33, 34, 35, 36, 37]
    params = model.init_params(seeds)
    masks = _random_masks(model, params, 3)
    settings = TrainSettings(iterations=60, batch_size=8, optimizer=optimizer, lr=3e-3, momentum=0.9,
                             eval_every=20)
    together = _train(model, params, masks, settings, train, seeds, {"test": test})
    for start, stop in [(0, 1), (1, 4), (4, 7)]:
        part = _train(model, _members(params, start, stop), _members(masks, start, stop), settings, train,
                      seeds[start:stop], {"test": test})
        for name in params:
            assert torch.equal(together.params[name][start:stop], part.params[name]), name
        assert torch.equal(together.curves["test"]["loss"][start:stop], part.curves["test"]["loss"])


def test_adam_in_the_backward_pass_gives_the_bits_of_the_optimizer_step(monkeypatch):
    """Adam updating each weight block by block while the backward pass computes its gradient (the CPU
    fast path) changes no bit of training: weights, curves and divergence equal those of the plain
    ``optimizer.step()`` over whole gradients, with blocks of 2 members, weight decay and a diverged member."""
    train, test = _problem(torch.float32)
    model = PopulationMLP((20, 16, 8, 3))          # fc0 (320 per member) and fc1 (128) can be updated in blocks
    seeds = [41, 42, 43, 44, 45]
    params = model.init_params(seeds)
    params["fc2.weight"][3] = float("inf")         # member 3 diverges at once
    masks = _random_masks(model, params, 4)
    settings = TrainSettings(iterations=40, batch_size=8, optimizer="adam", lr=3e-3, weight_decay=1e-3,
                             eval_every=10)
    monkeypatch.setattr(cpu_fastpath, "GRADIENT_BLOCK_BYTES", 2 * 320 * 4)
    blocks = []
    update_members = InBackwardAdam.update_members

    def counting(self, name, start, stop, grad):
        blocks.append((name, start, stop))
        update_members(self, name, start, stop, grad)

    monkeypatch.setattr(InBackwardAdam, "update_members", counting)
    fused = _train(model, params, masks, settings, train, seeds, {"test": test})
    assert set(blocks[:4]) == {("fc1.weight", 0, 5), ("fc0.weight", 0, 2), ("fc0.weight", 2, 4),
                               ("fc0.weight", 4, 5)} and len(blocks) == 4 * 40
    monkeypatch.setattr(PopulationOptimizer, "backward_updates", lambda self: {})
    plain = _train(model, params, masks, settings, train, seeds, {"test": test})
    assert len(blocks) == 4 * 40                   # the plain run made no in-backward update
    assert fused.diverged.tolist() == plain.diverged.tolist() == [False, False, False, True, False]
    for name in params:      # bit for bit, NaN where NaN (the diverged member)
        assert torch.equal(fused.params[name].isnan(), plain.params[name].isnan()), name
        assert torch.equal(fused.params[name].nan_to_num(), plain.params[name].nan_to_num()), name
    loss_fused, loss_plain = fused.curves["test"]["loss"], plain.curves["test"]["loss"]
    assert torch.equal(loss_fused[[0, 1, 2, 4]], loss_plain[[0, 1, 2, 4]]) and loss_fused[3].isnan().all()


@pytest.mark.parametrize("optimizer, momentum", [("adam", 0.0), ("sgd", 0.0), ("sgd", 0.9)])
def test_direct_step_gives_the_bits_of_torch_optim(monkeypatch, optimizer, momentum):
    """Adam's and SGD's steps without torch.optim's bookkeeping (``cpu_fastpath.direct_adam_step`` /
    ``direct_sgd_step``) change no bit: a training with weight decay, a learning-rate schedule, momentum,
    in-backward updates (Adam), a diverged member and padded tensors gives the weights and curves of
    ``torch.optim``'s own step."""
    train, test = _problem(torch.float32)
    model = PopulationMLP((20, 16, 8, 3))
    seeds = [51, 52, 53]
    params = model.init_params(seeds)
    params["fc2.weight"][1] = float("inf")         # member 1 diverges at once
    masks = _random_masks(model, params, 5)
    settings = TrainSettings(iterations=30, batch_size=8, optimizer=optimizer, lr=3e-3 if optimizer == "adam" else 0.05,
                             momentum=momentum, weight_decay=1e-3, eval_every=10, warmup_iterations=7)
    steps = []
    name = f"direct_{optimizer}_step"
    direct_step = getattr(cpu_fastpath, name)
    monkeypatch.setattr(cpu_fastpath, name, lambda optimizer: (steps.append(1), direct_step(optimizer)))
    direct = _train(model, params, masks, settings, train, seeds, {"test": test})
    assert len(steps) == 30
    monkeypatch.setattr(cpu_fastpath, f"direct_{optimizer}_qualifies", lambda optimizer: False)
    plain = _train(model, params, masks, settings, train, seeds, {"test": test})
    assert len(steps) == 30                        # the plain run stepped through torch.optim
    for name in params:
        assert torch.equal(direct.params[name].nan_to_num(), plain.params[name].nan_to_num()), name
    loss_direct, loss_plain = direct.curves["test"]["loss"], plain.curves["test"]["loss"]
    assert torch.equal(loss_direct.nan_to_num(), loss_plain.nan_to_num())
    assert not torch.equal(direct.params["fc0.weight"][0], params["fc0.weight"][0])   # it trained


def test_direct_adam_step_state_is_torch_optims():
    """Moments and step counts after direct steps are those torch.optim's own steps leave, parameters without
    a gradient are skipped, and anything but a plain fused Adam does not qualify."""
    generator = torch.Generator().manual_seed(3)
    values = [torch.randn(5, 7, generator=generator), torch.randn(33, generator=generator), torch.randn(4)]
    optimizers = []
    for _ in range(2):
        tensors = [v.clone().requires_grad_() for v in values]
        optimizers.append((tensors, torch.optim.Adam(tensors, lr=1e-2, weight_decay=1e-3, fused=True)))
    for step in range(4):
        for index, (tensors, optimizer) in enumerate(optimizers):
            for t, v in zip(tensors, values):
                t.grad = (v * (step + 1) + 0.5).clone() if t is not tensors[2] else None
            optimizer.param_groups[0]["lr"] = 1e-2 / (step + 1)
            assert cpu_fastpath.direct_adam_qualifies(optimizer)
            if index == 0:
                cpu_fastpath.direct_adam_step(optimizer)
            else:
                optimizer.step()
    (direct, direct_opt), (plain, plain_opt) = optimizers
    assert all(torch.equal(a, b) for a, b in zip(direct, plain))
    saved_direct, saved_plain = direct_opt.state_dict(), plain_opt.state_dict()
    assert saved_direct["state"].keys() == saved_plain["state"].keys() == {0, 1}
    for index in (0, 1):
        for key, value in saved_plain["state"][index].items():
            assert torch.equal(saved_direct["state"][index][key], value) and \
                saved_direct["state"][index][key].dtype == value.dtype, key
    tensor = [torch.zeros(3, requires_grad=True)]
    assert not cpu_fastpath.direct_adam_qualifies(torch.optim.Adam(tensor, amsgrad=True, fused=True))
    assert not cpu_fastpath.direct_adam_qualifies(torch.optim.Adam(tensor, fused=False))
    assert not cpu_fastpath.direct_adam_qualifies(torch.optim.AdamW(tensor, fused=True))
    assert not cpu_fastpath.direct_adam_qualifies(torch.optim.SGD(tensor, lr=0.1))
    hooked = torch.optim.Adam(tensor, fused=True)
    hooked.register_step_post_hook(lambda *args: None)
    assert not cpu_fastpath.direct_adam_qualifies(hooked)


@pytest.mark.parametrize("momentum, nesterov, dampening", [(0.0, False, 0.0), (0.9, False, 0.0), (0.9, True, 0.0),
                                                          (0.5, False, 0.25)])
def test_direct_sgd_step_state_is_torch_optims(momentum, nesterov, dampening):
    """Weights and momentum buffers after direct SGD steps are those torch.optim's own steps leave (the first
    step fills the buffers), parameters without a gradient are skipped, and anything but a plain fused SGD does
    not qualify."""
    generator = torch.Generator().manual_seed(4)
    values = [torch.randn(5, 7, generator=generator), torch.randn(33, generator=generator), torch.randn(4)]
    optimizers = []
    for _ in range(2):
        tensors = [v.clone().requires_grad_() for v in values]
        optimizers.append((tensors, torch.optim.SGD(tensors, lr=0.1, momentum=momentum, nesterov=nesterov,
                                                    dampening=dampening, weight_decay=1e-3, fused=True)))
    for step in range(4):
        for index, (tensors, optimizer) in enumerate(optimizers):
            for t, v in zip(tensors, values):
                t.grad = (v * (step + 1) + 0.5).clone() if t is not tensors[2] else None
            optimizer.param_groups[0]["lr"] = 0.1 / (step + 1)
            assert cpu_fastpath.direct_sgd_qualifies(optimizer) and not cpu_fastpath.direct_adam_qualifies(optimizer)
            if index == 0:
                cpu_fastpath.direct_sgd_step(optimizer)
            else:
                optimizer.step()
    (direct, direct_opt), (plain, plain_opt) = optimizers
    assert all(torch.equal(a, b) for a, b in zip(direct, plain)) and not torch.equal(direct[0], values[0])
    assert torch.equal(direct[2], values[2])
    saved_direct, saved_plain = direct_opt.state_dict(), plain_opt.state_dict()
    assert saved_direct["state"].keys() == saved_plain["state"].keys() == ({0, 1} if momentum else set())
    for index in saved_plain["state"]:
        assert torch.equal(saved_direct["state"][index]["momentum_buffer"],
                           saved_plain["state"][index]["momentum_buffer"])
    tensor = [torch.zeros(3, requires_grad=True)]
    assert not cpu_fastpath.direct_sgd_qualifies(torch.optim.SGD(tensor, lr=0.1, fused=False))
    assert not cpu_fastpath.direct_sgd_qualifies(torch.optim.SGD(tensor, lr=0.1, maximize=True, fused=True))
    assert not cpu_fastpath.direct_sgd_qualifies(torch.optim.Adam(tensor, fused=True))
    assert not cpu_fastpath.direct_sgd_qualifies(torch.optim.SGD([torch.zeros(3, dtype=torch.float64,
                                                                              requires_grad=True)], lr=0.1, fused=True))
    hooked = torch.optim.SGD(tensor, lr=0.1, fused=True)
    hooked.register_step_pre_hook(lambda *args: None)
    assert not cpu_fastpath.direct_sgd_qualifies(hooked)


def test_a_loaded_optimizer_state_decides_the_direct_step_again():
    """Loading a state dict brings its groups' settings: an AMSGrad state turns the direct Adam step off."""
    params = PopulationMLP((4, 3, 2)).init_params([0, 1])
    optimizer = PopulationOptimizer(params, set(), TrainSettings(iterations=1, optimizer="adam", lr=1e-3))
    assert optimizer.direct_step
    state = optimizer.state_dict()
    state["param_groups"][0]["amsgrad"] = True
    optimizer.load_state_dict(state)
    assert not optimizer.direct_step


# ----------------------------------------------------------------------------------------- snapshots
def _image_job(device="cpu"):
    """A tiny Conv-2 (8x8 images) with dropout, augmentation, batches and best-weight tracking: a snapshot
    of it holds every kind of generator state the loop keeps."""
    model = PopulationConvNet(arch="conv2", width=0.125, dropout=0.5, image_size=8)
    generator = torch.Generator().manual_seed(0)
    split = lambda n: Split(torch.randn(n, 3, 8, 8, generator=generator).to(device),  # noqa: E731
                            (torch.arange(n) % 10).to(device))
    params = model.init_params([1, 2], device=device)
    masks = {n: (torch.rand(params[n].shape, generator=generator) > 0.5).to(device) for n in model.layer_kinds}
    settings = TrainSettings(iterations=12, batch_size=4, optimizer="adam", lr=1e-3, eval_every=3, augment=True)
    return TrainJob(model, params, masks, settings, split(24), [5, 6], {"validation": split(8)},
                    track_best="validation")


def _assert_same_result(a, b):
    assert_same_result(a, b)


def _resume_from_file(job, map_location, tmp_path):
    files = []

    def save(snapshot):          # the snapshot refers to the live loop state: write it at once, as Lottery does
        files.append(tmp_path / f"snapshot{len(files)}.pt")
        torch.save(snapshot, files[-1])

    whole = train_population(job, on_snapshot=save, snapshot_every_s=0)
    assert len(files) == 3                           # at iterations 3, 6, 9
    for path in files:
        snapshot = load_torch(path, map_location=map_location)
        assert all(state.dtype == torch.uint8 for state in snapshot["sampler"]["generators"])
        _assert_same_result(whole, train_population(job, resume=snapshot))


def test_a_snapshot_read_back_with_map_location_resumes_exactly(tmp_path):
    """A snapshot written to a file and read back with a map_location (as ``Lottery`` does) restores the
    weights, optimizer, batch order, dropout and augmentation generators: the result is the uninterrupted one."""
    _resume_from_file(_image_job(), torch.device("cpu"), tmp_path)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_cuda_snapshot_read_back_onto_cuda_resumes_exactly(tmp_path):
    """On a GPU, ``Lottery._load`` maps a checkpoint to its device, which moves the batch sampler's
    generator states (CPU generators) to CUDA as well; restoring must still work."""
    _resume_from_file(_image_job("cuda"), torch.device("cuda"), tmp_path)


def test_train_result_state_round_trips():
    train, test = _problem(torch.float32)
    model = PopulationMLP((20, 16, 8, 3))
    result = _train(model, model.init_params([1, 2]), {}, TrainSettings(iterations=5, batch_size=8, eval_every=5),
                    train, [1, 2], {"test": test}, track_best="test")
    state = result.to_state()
    assert not any(dataclasses.is_dataclass(v) for v in state.values())
    _assert_same_result(result, type(result).from_state(state))


_FRESH_PROCESS_TRAINING = """
import sys
import torch
from lth.core.engine import Split, TrainJob, TrainSettings, train_population
from lth.core.models import PopulationMLP
generator = torch.Generator().manual_seed(0)
x = torch.randn(64, 20, generator=generator)
split = Split(x, x[:, :3].argmax(1))
model = PopulationMLP((20, 16, 3))
settings = TrainSettings(iterations=30, batch_size=8, optimizer=sys.argv[1], lr=1e-2, momentum=0.9, eval_every=10)
job = TrainJob(model, model.init_params([0, 1]), {}, settings, split, [0, 1], {"validation": split},
               track_best="validation")
before_training = "torch._dynamo" in sys.modules
snapshots = []
train_population(job, on_snapshot=snapshots.append, snapshot_every_s=0)
train_population(job, resume=snapshots[0])
from lth.device import environment_record
record = environment_record(torch.device("cpu"))
print(before_training, "torch._dynamo" in sys.modules, "torchvision" in sys.modules, record["torchvision"])
"""


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_direct_steps_never_import_dynamo(optimizer):
    """A fresh process training with Adam or SGD (a population, snapshots, a resume)
    and recording its environment as every stage does never imports ``torch._dynamo`` (~1.5 s per process:
    ``optimizer.skip_dynamo_import`` and the direct steps of ``cpu_fastpath``) nor torchvision (which imports
    it), and records torchvision's version as torchvision gives it, without its local tag."""
    run = subprocess.run([sys.executable, "-c", _FRESH_PROCESS_TRAINING, optimizer], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    from lth.torchvision_compat import torchvision
    assert run.stdout.split("\n")[-2] == f"False False False {torchvision.__version__.split('+')[0]}"
