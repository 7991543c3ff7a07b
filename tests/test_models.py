import pytest
import torch
from torch.nn import functional as F

from lth.core import cpu_fastpath
from lth.core.models import mask_gradient, population_linear


def _reference_linear(h, weight, bias):
    """The same layer through autograd's own formulas: one einsum per member."""
    out = torch.einsum("bi,koi->kbo", h, weight) if h.dim() == 2 else torch.einsum("kbi,koi->kbo", h, weight)
    return out if bias is None else out + bias.unsqueeze(1)


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("with_mask", [True, False])
def test_population_linear_matches_autograd_in_cache_blocks(shared, with_bias, with_mask, monkeypatch):
    """Output and every gradient equal autograd's; the weight gradient is masked, also when it is computed
    in several blocks of members (the last one partial)."""
    members, batch, inputs, outputs = 5, 7, 6, 4
    monkeypatch.setattr(cpu_fastpath, "GRADIENT_BLOCK_BYTES", 2 * outputs * inputs * 8)      # blocks of 2 members
    generator = torch.Generator().manual_seed(0)
    h = torch.randn(*(() if shared else (members,)), batch, inputs, generator=generator, dtype=torch.float64)
    weight = torch.randn(members, outputs, inputs, generator=generator, dtype=torch.float64)
    bias = torch.randn(members, outputs, generator=generator, dtype=torch.float64) if with_bias else None
    mask = (torch.rand(weight.shape, generator=generator) > 0.5).double() if with_mask else None
    upstream = torch.randn(members, batch, outputs, generator=generator, dtype=torch.float64)

    def grads(function):
        leaves = [t.clone().requires_grad_() for t in (h, weight) + ((bias,) if with_bias else ())]
        out = function(*leaves)
        out.backward(upstream)
        return out.detach(), [leaf.grad for leaf in leaves]

    ours, our_grads = grads(lambda x, w, b=None: population_linear(x, w, b, mask))
    theirs, their_grads = grads(lambda x, w, b=None: _reference_linear(x, w, b))
    assert ours.shape == (members, batch, outputs) and torch.allclose(ours, theirs, atol=1e-12)
    if with_mask:
        their_grads[1] = their_grads[1] * mask
    for mine, reference in zip(our_grads, their_grads):
        assert mine.shape == reference.shape and torch.allclose(mine, reference, atol=1e-12)
    assert our_grads[1].is_contiguous()                 # in the weights' own layout: no copy for the optimizer
    if with_mask:
        assert (our_grads[1][mask == 0] == 0).all()


def test_population_linear_under_bfloat16_autocast_returns_float32_gradients():
    generator = torch.Generator().manual_seed(1)
    h = torch.randn(8, 12, generator=generator)
    weight = torch.randn(3, 5, 12, generator=generator, requires_grad=True)
    bias = torch.zeros(3, 5, requires_grad=True)
    mask = (torch.rand(weight.shape, generator=generator) > 0.5).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = population_linear(h, weight, bias, mask)
    assert out.dtype == torch.bfloat16
    out.float().square().sum().backward()
    assert weight.grad.dtype == torch.float32 and bias.grad.dtype == torch.float32
    assert (weight.grad[mask == 0] == 0).all() and (weight.grad[mask == 1] != 0).any()
    reference = weight.detach().clone().requires_grad_()
    _reference_linear(h, reference, bias.detach()).square().sum().backward()
    assert torch.allclose(weight.grad, reference.grad * mask, rtol=0.05, atol=0.5)


def test_mask_gradient_is_identity_forward_and_masks_backward():
    generator = torch.Generator().manual_seed(2)
    weight = torch.randn(4, 3, 3, 3, generator=generator, requires_grad=True)
    mask = (torch.rand(weight.shape, generator=generator) > 0.5).float()
    x = torch.randn(2, 3, 8, 8, generator=generator)
    masked = mask_gradient(weight, mask)
    assert torch.equal(masked, weight)
    F.conv2d(x, masked).sum().backward()
    reference = weight.detach().clone().requires_grad_()
    F.conv2d(x, reference).sum().backward()
    assert torch.equal(weight.grad, reference.grad * mask)
    assert mask_gradient(weight, None) is weight
