"""A population's trainable state and its optimizer (Adam or SGD), with diverged members frozen.

Every member is updated with exactly the same instructions whatever else is in the population, so that
training a member alone, or a population split over processes, changes no bit of it; on a CPU that takes
the cache-line padding of ``cpu_fastpath``, which can also update some weights inside the backward pass.
A member that diverged (``freeze``) gets zero gradients and its weights are restored after every step, so
that neither momentum nor weight decay moves them.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from lth.core import cpu_fastpath


# The torch.optim.Optimizer methods that torch wraps in ``torch._disable_dynamo`` (torch/optim/optimizer.py).
DYNAMO_DISABLED_METHODS = ("add_param_group", "state_dict", "load_state_dict", "zero_grad")


def skip_dynamo_import() -> None:
    """Let torch.optim run without importing ``torch._dynamo``: torch wraps some Optimizer methods in
    ``torch._disable_dynamo``, whose first call imports ``torch._dynamo`` (~1.5 s per process, every stage and
    worker paid it: docs/measurements.md) only to keep ``torch.compile`` out of them. Nothing here compiles, so
    each wrapper is handed its own function as its disabled version up front (what it caches after that
    import); eagerly the call is the same function either way."""
    for name in DYNAMO_DISABLED_METHODS:
        function = getattr(getattr(torch.optim.Optimizer, name), "__wrapped__", None)
        if function is not None and getattr(function, "__dynamo_disable", None) is None:
            setattr(function, "__dynamo_disable", function)


def make_optimizer(params: list[torch.Tensor], settings: Any) -> torch.optim.Optimizer:
    """Adam or SGD over ``params`` (``settings``: optimizer, lr, momentum, weight_decay); fused where the
    device supports it (fast, and no slowdown from zeros in Adam's state); without importing ``torch._dynamo``
    (``skip_dynamo_import``)."""
    skip_dynamo_import()
    device = params[0].device
    fused = device.type in ("cpu", "cuda") and params[0].dtype in (torch.float32, torch.float64, torch.float16,
                                                                     torch.bfloat16)
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=settings.lr, weight_decay=settings.weight_decay, fused=fused)
    if settings.optimizer == "sgd":
        return torch.optim.SGD(params, lr=settings.lr, momentum=settings.momentum,
                               weight_decay=settings.weight_decay, fused=fused)
    raise ValueError(f"unknown optimizer {settings.optimizer!r}; allowed: adam, sgd")


def direct_step_of(optimizer: torch.optim.Optimizer) -> Callable[[torch.optim.Optimizer], None] | None:
    """The step that stands in for ``optimizer.step()`` (``cpu_fastpath``'s direct Adam or SGD step: the same
    kernel call without torch.optim's step wrapper, which imports ``torch._dynamo``), or None where neither
    qualifies."""
    if cpu_fastpath.direct_adam_qualifies(optimizer):
        return cpu_fastpath.direct_adam_step
    if cpu_fastpath.direct_sgd_qualifies(optimizer):
        return cpu_fastpath.direct_sgd_step
    return None


def _member_view(flags: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return flags.view(-1, *([1] * (like.dim() - 1)))


class PopulationOptimizer:
    """The stacked parameters of a population (``state``: name -> [K, ...]; buffers are not optimised) and
    one optimizer over them.

    ``freeze(diverged)`` marks members whose gradients are zeroed and whose weights stay as they were before
    each step. On a CPU nothing is done while no member has diverged (checking costs nothing there); on other
    devices the masking always runs, so a step never waits for the device to answer whether any member
    diverged.
    """

    def __init__(self, params: dict[str, torch.Tensor], buffers: set[str], settings: Any):
        self.state: dict[str, torch.Tensor] = {}
        self.padded: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []   # (parameter, storage, grad)
        handed: list[torch.Tensor] = []
        for name, value in params.items():
            value = value.detach()
            if name in buffers:
                self.state[name] = value.clone()
                continue
            if not cpu_fastpath.needs_padding(value):
                self.state[name] = value.clone().requires_grad_()
                handed.append(self.state[name])
                continue
            parameter, storage, grad = cpu_fastpath.padded_parameter(value)
            self.state[name] = parameter
            self.padded.append((parameter, storage, grad))
            handed.append(storage)
        self.trainable = {name: p for name, p in self.state.items() if name not in buffers}
        self.optimizer = make_optimizer(handed, settings)
        self.frozen: torch.Tensor | None = None        # [K] bool: members whose gradients are set to zero
        self._before: dict[str, torch.Tensor] = {}      # frozen members' weights before the current step
        # Whether a step must avoid asking the device "has any member diverged?": that question is free on a
        # CPU but stalls the whole queue on a GPU, so there every step takes the freezing path unasked.
        self.avoid_sync = bool(params) and next(iter(params.values())).device.type != "cpu"
        self.in_backward = None
        # The engine changes only the learning rate (a float) between steps: qualifying once is enough.
        self.direct_step = direct_step_of(self.optimizer)
        if params and next(iter(params.values())).device.type == "cpu" and cpu_fastpath.fused_adam_available():
            self.in_backward = cpu_fastpath.InBackwardAdam(self.optimizer, self.trainable, lambda: self.frozen)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The wrapped optimizer's parameter groups (the engine sets their learning rate)."""
        return self.optimizer.param_groups

    def backward_updates(self) -> dict[torch.Tensor, cpu_fastpath.MemberUpdate]:
        """Weight tensor -> update that the backward pass may call with blocks of masked gradients (CPU,
        fused Adam only; empty elsewhere, where gradients reach the optimizer through ``.grad``)."""
        return self.in_backward.updates() if self.in_backward is not None else {}

    def freeze(self, diverged: torch.Tensor) -> None:
        """Freeze the members flagged in ``diverged`` [K] from this step on (call before the forward pass)."""
        active = self.avoid_sync or bool(diverged.any())
        self.frozen = diverged if active else None
        if active:
            with torch.no_grad():
                self._before = {name: p.detach().clone() for name, p in self.trainable.items()}

    def zero_grad(self) -> None:
        """Drop every gradient (fresh gradient tensors next step: no zeroing pass over memory) and start a
        new step for the in-backward updates."""
        for parameter in self.state.values():
            parameter.grad = None
        if self.in_backward is not None:
            self.in_backward.new_step()

    def step(self) -> None:
        """One update of every member from the parameters' gradients (frozen members' set to zero first,
        as the in-backward updates do), then frozen members' weights put back."""
        frozen = self.frozen
        if frozen is not None:
            with torch.no_grad():
                for parameter in self.state.values():
                    if parameter.grad is not None:
                        parameter.grad.masked_fill_(_member_view(frozen, parameter.grad), 0)
        for parameter, storage, grad in self.padded:
            if parameter.grad is None:
                storage.grad = None
                continue
            grad[:parameter.numel()].copy_(parameter.grad.flatten())
            storage.grad = grad
        if self.direct_step is not None:
            self.direct_step(self.optimizer)
        else:
            self.optimizer.step()
        if frozen is not None:
            with torch.no_grad():
                for name, parameter in self.trainable.items():
                    parameter.copy_(torch.where(_member_view(frozen, parameter), self._before[name], parameter))

    def state_dict(self) -> dict[str, Any]:
        """The wrapped optimizer's state (moments, step counts) for snapshots."""
        return self.optimizer.state_dict()

    def members_state_dict(self, members: list[int]) -> dict[str, Any]:
        """``state_dict`` as an optimizer over only ``members`` (local indices, ascending) would hold it: each
        per-member moment restricted to them (in zero-padded storage where such an optimizer pads), step
        counts as they are. For a population that goes on training without the other members."""
        saved = self.optimizer.state_dict()
        state = {}
        for index, (name, parameter) in enumerate(self.trainable.items()):
            if index not in saved["state"]:
                continue
            entry = {}
            for key, value in saved["state"][index].items():
                if not isinstance(value, torch.Tensor) or value.dim() == 0:
                    entry[key] = value
                    continue
                chosen = value.flatten()[:parameter.numel()].view(parameter.shape)[members].contiguous()
                if cpu_fastpath.needs_padding(chosen):
                    chosen = cpu_fastpath.padded_parameter(chosen)[1].detach()
                entry[key] = chosen
            state[index] = entry
        return {"state": state, "param_groups": saved["param_groups"]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict`` taken from an optimizer over the same population (its groups' settings
        come with it, so whether a direct step stands in is decided again)."""
        self.optimizer.load_state_dict(state)
        self.direct_step = direct_step_of(self.optimizer)
