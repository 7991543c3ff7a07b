"""The members-last path for one-hidden-layer population nets (lth/core/tiny_mlp.py) against torch's own
computation of the same net (``PopulationMLP``: batched products, autograd's activation formulas): every
logit, every gradient and every trained weight bit for bit."""
import pytest
import torch
from torch.nn import functional as F

from lth.core import tiny_mlp
from lth.core.engine import TrainJob, TrainSettings, train_population
from lth.core.models import PopulationMLP
from lth.shared.xor_net import xor_init, xor_net, xor_split

XOR_X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def population(members: int, sizes: tuple[int, ...], seed: int) -> dict[str, torch.Tensor]:
    """Random parameters with exact zeros of both signs (the plain loop's ``0 +`` matters for those)."""
    generator = torch.Generator().manual_seed(seed)
    params = PopulationMLP(sizes).init_params(list(range(seed, seed + members)), "normal", 2.0)
    for name in params:
        params[name] = params[name] + torch.randn(params[name].shape, generator=generator)
    params["fc0.weight"][::5, 0] = 0.0
    params["fc0.weight"][1::7, :, -1] = -0.0
    params["fc1.weight"][2::3, 0, 0] = -0.0
    return params


def logits_and_gradients(forward, params, x, masks):
    """Logits and every parameter's gradient of the summed per-member loss (binary cross-entropy for one
    output, cross-entropy for several)."""
    leaves = {name: p.clone().requires_grad_() for name, p in params.items()}
    logits = forward(leaves, x, masks)
    members, batch, outputs = logits.shape
    if outputs == 1:
        targets = torch.tensor([0.0, 1.0, 1.0, 0.0]).repeat(batch)[:batch]
        loss = F.binary_cross_entropy_with_logits(logits.squeeze(-1), targets.expand(members, -1), reduction="none")
    else:
        targets = (torch.arange(batch) % outputs).repeat(members)
        loss = F.cross_entropy(logits.reshape(-1, outputs), targets, reduction="none").view(members, batch)
    loss.mean(1).sum().backward()
    return logits.detach(), {name: p.grad for name, p in leaves.items()}


def assert_torchs_bits(activation, sizes, params, x, masks):
    """The members-last path applies and gives torch's logits and gradients bit for bit; returns its gradients."""
    net = PopulationMLP(sizes, activation)
    assert tiny_mlp.applies(sizes, activation, x, params)
    expected = logits_and_gradients(lambda p, x, m: net.forward(p, x, grad_masks=m), params, x, masks)
    got = logits_and_gradients(lambda p, x, m: tiny_mlp.forward(activation, p, x, m), params, x, masks)
    assert torch.equal(got[0], expected[0])
    for name, grad in expected[1].items():
        assert torch.equal(got[1][name], grad), name
        assert got[1][name].is_contiguous()
    return got[1]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("members,hidden", [(1, 1), (3, 10), (7, 3), (33, 5), (101, 2), (250, 13), (2400, 10)])
def test_same_bits_as_population_mlp(activation, members, hidden):
    """XOR's shapes: logits and every gradient (a pruning mask on fc0 included) are torch's bits."""
    sizes = (2, hidden, 1)
    params = population(members, sizes, seed=members + hidden)
    masks = {"fc0.weight": (torch.rand(members, hidden, 2, generator=torch.Generator().manual_seed(1)) > 0.3).float()}
    gradients = assert_torchs_bits(activation, sizes, params, XOR_X, masks)
    pruned = masks["fc0.weight"] == 0
    assert torch.equal(gradients["fc0.weight"][pruned], torch.zeros(int(pruned.sum())))


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("batch,hidden,outputs", [(8, 10, 1), (5, 7, 2), (12, 3, 3)])
def test_same_bits_for_other_batches_and_outputs(activation, batch, hidden, outputs):
    """Inputs that are not 0 / 1 (every product rounds), batches of 5 or more rows (torch's bias-gradient sum
    then depends on the layout) and several outputs: still torch's bits."""
    generator = torch.Generator().manual_seed(batch * hidden)
    x = torch.randn(batch, 2, generator=generator)
    x[0, 0] = 0.0
    sizes = (2, hidden, outputs)
    params = population(37, sizes, seed=batch)
    masks = {"fc1.weight": (torch.rand(37, outputs, hidden, generator=generator) > 0.4).float()}
    assert_torchs_bits(activation, sizes, params, x, masks)


@pytest.mark.parametrize("activation", sorted(tiny_mlp.ACTIVATION_FORWARD))
def test_layout_free_is_what_it_says_on_other_values(activation):
    """An activation's kernels judged free of memory position hold that on values the check did not see."""
    generator = torch.Generator().manual_seed(11)
    z, grad = torch.randn(20011, generator=generator) * 3, torch.randn(20011, generator=generator)
    forward, backward = tiny_mlp.ACTIVATION_FORWARD[activation], tiny_mlp.ACTIVATION_BACKWARD[activation]
    if tiny_mlp.layout_free(activation, "forward"):
        assert tiny_mlp.same_bits_at_every_offset(forward, z)
    if tiny_mlp.layout_free(activation, "backward"):
        assert tiny_mlp.same_bits_at_every_offset(backward, grad, forward(z))


def test_a_kernel_whose_scalar_loop_rounds_otherwise_is_not_layout_free():
    """A kernel that rounds differently off its vector loop (here: on any non-contiguous input) is caught even where
    the elements of every shifted tail happen to agree; a kernel of one rounding everywhere passes."""
    values = torch.randn(4099, generator=torch.Generator().manual_seed(3))
    scalar_loop_differs = lambda t: t * 3 if t.is_contiguous() else t * 3 + 1e-3  # noqa: E731
    assert not tiny_mlp.same_bits_at_every_offset(scalar_loop_differs, values)
    assert tiny_mlp.same_bits_at_every_offset(lambda t: t * 3, values)


def test_backward_formulas_are_autograds():
    """The backward formula of each activation is the gradient autograd computes for it."""
    z = torch.randn(64, generator=torch.Generator().manual_seed(2)) * 3
    for activation, forward in tiny_mlp.ACTIVATION_FORWARD.items():
        leaf = z.clone().requires_grad_()
        out = forward(leaf)
        grad = torch.linspace(-1, 1, 64)
        out.backward(grad)
        assert torch.equal(leaf.grad, tiny_mlp.ACTIVATION_BACKWARD[activation](grad, out.detach())), activation


def test_applies_only_where_torch_takes_its_plain_loop(monkeypatch):
    """Only shared float32 batches, small products, 2-layer nets, no autocast, an x86-64 host."""
    params = population(4, (2, 10, 1), seed=0)
    assert tiny_mlp.applies((2, 10, 1), "tanh", XOR_X, params)
    assert not tiny_mlp.applies((2, 10, 1), "gelu", XOR_X, params)
    assert not tiny_mlp.applies((2, 10, 1), "tanh", XOR_X.expand(4, 4, 2), params)          # one batch per member
    assert not tiny_mlp.applies((2, 10, 1), "tanh", XOR_X.repeat(10, 1), params)            # 40 x 2 x 10 = 800
    assert not tiny_mlp.applies((2, 10, 1), "tanh", XOR_X.double(), params)
    wide = population(2, (2, 60, 1), seed=0)
    assert not tiny_mlp.applies((2, 60, 1), "tanh", XOR_X, wide)                             # 4 x 2 x 60 = 480
    assert not tiny_mlp.applies((2, 10, 10, 1), "tanh", XOR_X, params)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not tiny_mlp.applies((2, 10, 1), "tanh", XOR_X, params)
    monkeypatch.setattr(tiny_mlp.platform, "machine", lambda: "aarch64")
    assert not tiny_mlp.applies((2, 10, 1), "tanh", XOR_X, params)


@pytest.mark.parametrize("activation,optimizer,lr,loss", [("tanh", "adam", 0.01, "bce"), ("relu", "sgd", 1.0, "mse"),
                                                          ("sigmoid", "adam", 0.1, "bce")])
def test_xor_training_identical_to_torchs_path(monkeypatch, activation, optimizer, lr, loss):
    """A whole XOR training (pruned units included) gives the same weights and curves either way."""
    model, seeds, data = xor_net(6, activation), list(range(37)), xor_split()
    init = xor_init(model, seeds, "normal", 1.0, "like_weights", loss)
    masks = {"fc0.weight": torch.ones(37, 6, 2), "fc1.weight": torch.ones(37, 1, 6)}
    masks["fc0.weight"][::2, 4:] = 0
    masks["fc1.weight"][::2, :, 4:] = 0

    def train():
        job = TrainJob(model, init, {k: v.bool() for k, v in masks.items()},
                       TrainSettings(150, optimizer=optimizer, lr=lr, eval_every=50), data, seeds,
                       evaluations={"train": data})
        return train_population(job)

    calls, forward = [], tiny_mlp.forward
    monkeypatch.setattr(tiny_mlp, "forward", lambda *args: (calls.append(1), forward(*args))[1])
    fast = train()
    assert len(calls) > 150                          # the members-last path trained (and evaluated) the nets
    monkeypatch.setattr(tiny_mlp, "applies", lambda *args: False)
    reference = train()
    for name, value in reference.params.items():
        assert torch.equal(fast.params[name], value), name
    for measure in ("loss", "accuracy"):
        assert torch.equal(fast.curves["train"][measure], reference.curves["train"][measure])
