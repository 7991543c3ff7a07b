"""Sparse products for sparse members (``lth.core.sparse_products``): checked against plain dense products of
hand-masked weights, and for the members that stay dense against the dense path's own bits."""
import copy
import dataclasses

import pytest
import torch

from lth.core import cpu_fastpath, sparse_products
from lth.core.engine import PopulationRun, Split, TrainJob, TrainSettings, train_population
from lth.core.masks import dense_masks, prune_by_rate
from lth.core.models import PopulationMLP, population_linear

DENSITIES = (1.0, 0.5, 0.08, 0.03, 1.0, 0.1)      # members 2, 3 and 5 at most 0.1: sparse below 0.15


def _masked_layer(members_density=DENSITIES, out=300, inputs=784, seed=0):
    """LeNet-300-100's first layer (at these shapes a batched product gives each member the bits it gets in
    any population, as the dense path's own population tests assume)."""
    generator = torch.Generator().manual_seed(seed)
    masks = torch.stack([(torch.rand(out, inputs, generator=generator) < d).float() for d in members_density])
    weight = torch.randn(len(members_density), out, inputs, generator=generator) * masks
    bias = torch.randn(len(members_density), out, generator=generator)
    return weight, bias, masks


def _layer_pass(h, weight, bias, masks, grad_out, below):
    """Output and weight gradient of ``population_linear`` with layouts registered at ``below`` (0: none)."""
    weight = weight.clone().requires_grad_()
    layouts = sparse_products.layouts_for({"w": weight}, {"w": masks}, below) if below else {}
    with sparse_products.registered(layouts):
        out = population_linear(h, weight, bias, masks)
        (out * grad_out).sum().backward()
    return out.detach(), weight.grad


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta state")
def test_layout_lists_sparse_members_and_dense_runs():
    weight, _, masks = _masked_layer()
    layout = sparse_products.layout_of(masks, 0.15)
    assert sorted(layout.patterns) == [2, 3, 5]
    assert layout.dense_runs == [(0, 2), (4, 5)]
    for k, pattern in layout.patterns.items():       # the CSR structure is exactly the mask
        rebuilt = torch.sparse_csr_tensor(pattern.crow, pattern.col, torch.ones(len(pattern.flat)), masks[k].shape,
                                          check_invariants=True)
        assert torch.equal(rebuilt.to_dense(), masks[k])
        assert torch.equal(pattern.matrix(weight[k]).to_dense(), weight[k])
    assert sparse_products.layout_of(masks, 0.01) is None


@pytest.mark.parametrize("shared", [False, True])
def test_layer_matches_plain_products_and_dense_members_keep_their_bits(shared):
    weight, bias, masks = _masked_layer()
    generator = torch.Generator().manual_seed(1)
    h = torch.randn(*(() if shared else (len(DENSITIES),)), 60, 784, generator=generator)
    grad_out = torch.randn(len(DENSITIES), 60, 300, generator=generator)
    out, grad = _layer_pass(h, weight, bias, masks, grad_out, 0.15)
    for k in range(len(DENSITIES)):                  # plain per-member products of the masked weights
        x = h if shared else h[k]
        assert torch.allclose(out[k], x @ weight[k].t() + bias[k], atol=1e-5)
        assert torch.allclose(grad[k], (grad_out[k].t() @ x) * masks[k], atol=1e-5)
        assert torch.equal(grad[k][masks[k] == 0], torch.zeros(int((masks[k] == 0).sum())))
    dense_out, dense_grad = _layer_pass(h, weight, bias, masks, grad_out, 0)
    for k in (0, 1, 4):
        assert torch.equal(out[k], dense_out[k]) and torch.equal(grad[k], dense_grad[k])
    assert not torch.equal(out[[2, 3, 5]], dense_out[[2, 3, 5]])     # the sparse members did take the other path


def test_a_layer_whose_input_needs_a_gradient_keeps_the_dense_path():
    weight, bias, masks = _masked_layer()
    h = torch.randn(len(DENSITIES), 60, 784, requires_grad=True)
    grad_out = torch.randn(len(DENSITIES), 60, 300)
    out, grad = _layer_pass(h, weight, bias, masks, grad_out, 0.15)
    dense_out, dense_grad = _layer_pass(h, weight, bias, masks, grad_out, 0)
    assert torch.equal(out, dense_out) and torch.equal(grad, dense_grad)


def _job(model, params, masks, seeds, below, optimizer="adam"):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(96, 64, generator=generator)
    train = Split(x[:64], x[:64, :3].argmax(1))
    valid = Split(x[64:], x[64:, :3].argmax(1))
    settings = TrainSettings(iterations=30, batch_size=8, optimizer=optimizer, lr=3e-3, momentum=0.9,
                             eval_every=10, sparse_below=below)
    return TrainJob(model, params, masks, settings, train, seeds, {"validation": valid})


def _lenet_like(seeds, first_layer_rates):
    """A 64-32-16-3 population whose members keep 1 - rate of their first layer (hidden and output at 20%)."""
    model = PopulationMLP((64, 32, 16, 3))
    params = model.init_params(seeds)
    scores = {n: torch.rand(params[n].shape, generator=torch.Generator().manual_seed(9)) for n in model.layer_names}
    masks = dense_masks(params, model.layer_names)
    for k, rate in enumerate(first_layer_rates):
        member = prune_by_rate({n: s[k:k + 1] for n, s in scores.items()}, {n: m[k:k + 1] for n, m in masks.items()},
                               {"fc0.weight": rate, "fc1.weight": 0.2, "fc2.weight": 0.2})
        for n in masks:
            masks[n][k] = member[n][0]
    return model, params, masks


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_training_with_sparse_members_follows_the_dense_training(optimizer, monkeypatch):
    """30 steps with sparse first layers stay within float32 rounding of the dense training, pruned weights
    stay exactly zero, and each member's bits do not depend on its population (blocks of 2 members)."""
    monkeypatch.setattr(cpu_fastpath, "GRADIENT_BLOCK_BYTES", 2 * 64 * 32 * 4)
    seeds = [3, 4, 5, 6]
    model, params, masks = _lenet_like(seeds, [0.0, 0.95, 0.9, 0.5])     # members 1 and 2 sparse below 0.2
    sparse = train_population(_job(model, params, masks, seeds, 0.2, optimizer))
    dense = train_population(_job(model, params, masks, seeds, 0.0, optimizer))
    for name in params:
        assert torch.allclose(sparse.params[name], dense.params[name], atol=1e-4), name
    for name, mask in masks.items():
        assert torch.equal(sparse.params[name][mask == 0], torch.zeros(int((mask == 0).sum()))), name
    assert torch.equal(sparse.params["fc0.weight"][[0, 3]], dense.params["fc0.weight"][[0, 3]])
    assert not torch.equal(sparse.params["fc0.weight"][[1, 2]], dense.params["fc0.weight"][[1, 2]])
    for start, stop in [(0, 1), (1, 3), (2, 4)]:
        part = train_population(_job(model, {n: t[start:stop] for n, t in params.items()},
                                     {n: m[start:stop] for n, m in masks.items()}, seeds[start:stop], 0.2,
                                     optimizer))
        for name in params:
            assert torch.equal(sparse.params[name][start:stop], part.params[name]), (name, start, stop)
        assert torch.equal(sparse.curves["validation"]["loss"][start:stop], part.curves["validation"]["loss"])


def test_sparse_products_give_the_same_bits_on_one_or_two_threads():
    """A population trained in one process may use both cores: each sum is one thread's, in one order."""
    weight, bias, masks = _masked_layer()
    generator = torch.Generator().manual_seed(2)
    h, grad_out = torch.randn(60, 784, generator=generator), torch.randn(len(DENSITIES), 60, 300, generator=generator)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _layer_pass(h, weight, bias, masks, grad_out, 0.15)
        torch.set_num_threads(2)
        two = _layer_pass(h, weight, bias, masks, grad_out, 0.15)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one[0], two[0]) and torch.equal(one[1], two[1])


def test_a_training_with_sparse_members_resumes_exactly_from_any_snapshot(monkeypatch):
    """Snapshots taken mid-training (the layouts are rebuilt from the masks on resume) continue to the bits of
    the uninterrupted run, with members stopping early (patience) in between."""
    seeds = [3, 4, 5]
    model, params, masks = _lenet_like(seeds, [0.85, 0.0, 0.9])     # member 2 stops at iteration 10, 0 goes on

    def job(below):
        plain = _job(model, params, masks, seeds, below)
        return TrainJob(plain.model, plain.params, plain.masks, dataclasses.replace(plain.settings, patience=10),
                        plain.train, plain.data_seeds, plain.evaluations, track_best="validation")

    calls, at_start, real_forward, real_start = [], [], sparse_products.forward, PopulationRun.start

    def forward(*args):                                     # every sparse forward product (steps, evaluations)
        calls.append(args[1].shape[0])
        return real_forward(*args)

    def start(self):
        before = len(calls)
        done = real_start(self)
        at_start.append(calls[before:])
        return done

    monkeypatch.setattr(sparse_products, "forward", forward)
    monkeypatch.setattr(PopulationRun, "start", start)
    snapshots = []
    whole = train_population(job(0.2), on_snapshot=lambda s: snapshots.append(copy.deepcopy(s)), snapshot_every_s=0)
    assert at_start == [[3]]                                # the evaluation at iteration 0 took the sparse path
    assert len(snapshots) >= 2
    assert (whole.stopped_iteration < 30).any()             # a member retired: the layouts were rebuilt
    dense = train_population(job(0.0))
    assert torch.equal(whole.curves["validation"]["loss"][1], dense.curves["validation"]["loss"][1])   # dense member
    for snapshot in snapshots:
        assert 0 in snapshot["members"] and 2 not in snapshot["members"]
        calls.clear()
        resumed = train_population(job(0.2), resume=snapshot)
        assert len(calls) > 30 - snapshot["iteration"]      # after a resume: every step and evaluation sparse
        for name in params:
            assert torch.equal(whole.params[name], resumed.params[name]), name
        loss, again = whole.curves["validation"]["loss"], resumed.curves["validation"]["loss"]
        assert torch.equal(loss.nan_to_num(), again.nan_to_num())


def test_no_bias_and_a_fully_pruned_member():
    """A layer without bias, and a member whose mask keeps nothing (no stored weight at all): plain products."""
    weight, _, masks = _masked_layer((0.0, 0.05, 1.0))
    generator = torch.Generator().manual_seed(3)
    h, grad_out = torch.randn(3, 60, 784, generator=generator), torch.randn(3, 60, 300, generator=generator)
    layer = weight.clone().requires_grad_()
    with sparse_products.registered(sparse_products.layouts_for({"w": layer}, {"w": masks}, 0.15)):
        out = population_linear(h, layer, None, masks)
        (out * grad_out).sum().backward()
    assert sorted(sparse_products.layout_of(masks, 0.15).patterns) == [0, 1]
    assert torch.equal(out[0], torch.zeros(60, 300)) and torch.equal(layer.grad[0], torch.zeros(300, 784))
    for k in (1, 2):
        assert torch.allclose(out[k], h[k] @ weight[k].t(), atol=1e-5)
        assert torch.allclose(layer.grad[k], (grad_out[k].t() @ h[k]) * masks[k], atol=1e-5)


def test_evaluation_takes_sparse_products_in_every_masked_layer():
    """Without gradients (evaluation) no layer needs an input gradient, so a sparse hidden layer computes sparse
    too: the logits match plain products of the masked weights."""
    weight0, bias0, masks0 = _masked_layer((0.05, 1.0), out=32, inputs=64, seed=4)
    weight1, bias1, masks1 = _masked_layer((1.0, 0.1), out=10, inputs=32, seed=5)
    model = PopulationMLP((64, 32, 10))
    params = {"fc0.weight": weight0, "fc0.bias": bias0, "fc1.weight": weight1, "fc1.bias": bias1}
    masks = {"fc0.weight": masks0, "fc1.weight": masks1}
    x = torch.randn(40, 64, generator=torch.Generator().manual_seed(6))
    layouts = sparse_products.layouts_for(params, masks, 0.15)
    assert {len(layout.patterns) for layout in layouts.values()} == {1}
    with torch.no_grad(), sparse_products.registered(layouts):
        logits = model.forward(params, x)
    for k in range(2):
        hidden = torch.relu(x @ weight0[k].t() + bias0[k])
        assert torch.allclose(logits[k], hidden @ weight1[k].t() + bias1[k], atol=1e-5)
