import math

import pytest
import torch

from lth.engine import Split, TrainSettings, early_stop, evaluate, train_population
from lth.masks import dense_masks, prune_by_rate
from lth.models import PopulationMLP


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
    together = train_population(model, params, masks, settings, train, [100 + s for s in seeds],
                                {"test": test})
    for k, seed in enumerate(seeds):
        alone = train_population(model, {n: p[k:k + 1] for n, p in params.items()},
                                 {n: m[k:k + 1] for n, m in masks.items()}, settings, train, [100 + seed],
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
    together = train_population(model, params, masks, settings, train, [7, 8, 9], {"test": test})
    for k in range(3):
        alone = train_population(model, {n: p[k:k + 1] for n, p in params.items()},
                                 {n: m[k:k + 1] for n, m in masks.items()}, settings, train, [7], {"test": test})
        for name in params:
            assert torch.allclose(together.params[name][k], alone.params[name][0], atol=1e-12, rtol=0)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_pruned_weights_stay_exactly_zero(optimizer):
    train, _ = _problem(torch.float32)
    model = PopulationMLP((20, 16, 8, 3))
    params = model.init_params([1, 2], "glorot_normal")
    masks = _random_masks(model, params, 1)
    seen = []

    def check(iteration, state):
        for name, mask in masks.items():
            seen.append(bool((state[name][~mask] == 0).all()))

    settings = TrainSettings(iterations=30, batch_size=8, optimizer=optimizer, lr=0.01, momentum=0.9,
                             weight_decay=1e-3, eval_every=1)
    result = train_population(model, params, masks, settings, train, [0, 1], {"train": train}, on_eval=check)
    assert len(seen) == 31 * 3 and all(seen)
    for name, mask in masks.items():
        assert (result.params[name][~mask] == 0).all()
        assert (result.params[name][mask] != params[name][mask]).any()   # survivors did train


def test_diverging_member_is_flagged_and_does_not_disturb_others():
    train, test = _problem(torch.float32)
    model = PopulationMLP((20, 16, 8, 3))
    params = model.init_params([1, 2], "glorot_normal")
    blown = {n: p.clone() for n, p in params.items()}
    blown["fc2.weight"][1] = float("inf")
    settings = TrainSettings(iterations=20, batch_size=8, optimizer="adam", lr=0.01, eval_every=10)
    result = train_population(model, blown, {}, settings, train, [5, 6], {"test": test})
    reference = train_population(model, {n: p[:1] for n, p in params.items()}, {}, settings, train, [5],
                                 {"test": test})
    assert result.diverged.tolist() == [False, True]
    assert math.isnan(result.curves["test"]["loss"][1, -1])
    assert torch.allclose(result.curves["test"]["loss"][0], reference.curves["test"]["loss"][0], atol=1e-6)


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
    result = train_population(model, params, {}, settings, train, [0], {"validation": test, "test": test})
    stop = early_stop(result)
    index = int(result.curves["validation"]["loss"][0].argmin())
    assert stop["iteration"].item() == result.eval_iterations[index]
    assert stop["accuracy"].item() == result.curves["test"]["accuracy"][0, index].item()


def test_evaluate_matches_direct_computation():
    train, _ = _problem(torch.float64)
    model = PopulationMLP((20, 16, 8, 3))
    params = model.init_params([3, 4], "glorot_normal", dtype=torch.float64)
    loss, accuracy = evaluate(model, params, train, chunk=10)
    logits = model.forward(params, train.x)
    direct = torch.nn.functional.cross_entropy(logits[1], train.y)
    assert torch.allclose(loss[1], direct)
    assert accuracy[0] == (logits[0].argmax(1) == train.y).double().mean()


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
    together = train_population(model, params, masks, settings, train, seeds, {"test": test})
    for start, stop in [(0, 1), (1, 4), (4, 7)]:
        part = train_population(model, {n: p[start:stop] for n, p in params.items()},
                                {n: m[start:stop] for n, m in masks.items()}, settings, train, seeds[start:stop],
                                {"test": test})
        for name in params:
            assert torch.equal(together.params[name][start:stop], part.params[name]), name
        assert torch.equal(together.curves["test"]["loss"][start:stop], part.curves["test"]["loss"])


def test_adam_in_the_backward_pass_gives_the_bits_of_the_optimizer_step(monkeypatch):
    """Adam updating each weight block by block while the backward pass computes its gradient (the CPU
    fast path) changes no bit of training: weights, curves and divergence equal those of the plain
    ``optimizer.step()`` over whole gradients, with blocks of 2 members, weight decay and a diverged member."""
    from lth import models
    from lth.engine import PopulationOptimizer
    train, test = _problem(torch.float32)
    model = PopulationMLP((20, 16, 8, 3))          # fc0 (320 per member) and fc1 (128) can be updated in blocks
    seeds = [41, 42, 43, 44, 45]
    params = model.init_params(seeds)
    params["fc2.weight"][3] = float("inf")         # member 3 diverges at once
    masks = _random_masks(model, params, 4)
    settings = TrainSettings(iterations=40, batch_size=8, optimizer="adam", lr=3e-3, weight_decay=1e-3,
                             eval_every=10)
    monkeypatch.setattr(models, "GRADIENT_BLOCK_BYTES", 2 * 320 * 4)
    blocks = []
    update_members = PopulationOptimizer._update_members

    def counting(self, name, start, stop, grad):
        blocks.append((name, start, stop))
        update_members(self, name, start, stop, grad)

    monkeypatch.setattr(PopulationOptimizer, "_update_members", counting)
    fused = train_population(model, params, masks, settings, train, seeds, {"test": test})
    assert set(blocks[:4]) == {("fc1.weight", 0, 5), ("fc0.weight", 0, 2), ("fc0.weight", 2, 4),
                               ("fc0.weight", 4, 5)} and len(blocks) == 4 * 40
    monkeypatch.setattr(PopulationOptimizer, "member_updates", lambda self: {})
    plain = train_population(model, params, masks, settings, train, seeds, {"test": test})
    assert fused.diverged.tolist() == plain.diverged.tolist() == [False, False, False, True, False]
    for name in params:      # bit for bit, NaN where NaN (the diverged member)
        assert torch.equal(fused.params[name].isnan(), plain.params[name].isnan()), name
        assert torch.equal(fused.params[name].nan_to_num(), plain.params[name].nan_to_num()), name
    loss_fused, loss_plain = fused.curves["test"]["loss"], plain.curves["test"]["loss"]
    assert torch.equal(loss_fused[[0, 1, 2, 4]], loss_plain[[0, 1, 2, 4]]) and loss_fused[3].isnan().all()
