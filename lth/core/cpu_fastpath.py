"""CPU-only speed tricks, in one place, plugged into the engine (GPUs take the plain path).

- **Cache-line padding** (``padded_parameter``): a fused CPU optimizer runs a vector loop over each tensor
  in cache-line units and a scalar loop over the elements left at its end, and the two round differently.
  Every tensor the optimizer sees is therefore a whole number of cache lines (zero-padded storage for the
  few stacked tensors that are not), so a member's float32 result does not depend on its population.
- **Gradient blocks** (``blocked_weight_gradient``): a population layer's weight gradient is computed a
  block of members at a time, small enough to stay in cache, and masked while hot.
- **Adam inside the backward pass** (``InBackwardAdam``): each masked gradient block is handed to the fused
  CPU Adam kernel (``torch._fused_adam_``, the exact call ``torch.optim.Adam(fused=True)`` makes) while it
  is in cache, so the gradient is never written to memory and read back: same kernel, same numbers, same
  bits. The engine registers the updates for the length of a training (``updates_in_backward``); models
  never see them.
- **Adam's step without torch.optim's bookkeeping** (``direct_adam_step``): the same kernel call on the same
  tensors as ``torch.optim.Adam(fused=True).step()``, without the ~0.2 ms of Python around it per step.
- **Large allocations on the heap** (``keep_large_allocations_on_heap``): glibc would otherwise map and
  unmap every big tensor of every step afresh.

``bench/README.md`` has the measurements behind each.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from typing import Any, Callable, Iterator

import torch
from torch.optim import optimizer as _optimizer_module

# Elements of one CPU cache line of float32: the unit in which fused CPU optimizers split a tensor.
MEMBER_ALIGNMENT = 16

# Bytes of weight gradient computed per block on a CPU before it is masked: small enough to stay in cache.
GRADIENT_BLOCK_BYTES = 4 << 20

# Takes the masked weight gradient of members [start, stop) during the backward pass and updates them.
MemberUpdate = Callable[[int, int, torch.Tensor], None]


# ----------------------------------------------------------------------------------- cache-line padding
def needs_padding(value: torch.Tensor) -> bool:
    """Whether a CPU optimizer must see ``value`` in zero-padded storage (not a whole number of cache lines)."""
    return value.device.type == "cpu" and value.numel() % MEMBER_ALIGNMENT != 0


def padded_parameter(value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(parameter view, padded storage the optimizer updates, padded gradient buffer) for ``value``."""
    count = value.numel()
    size = -(-count // MEMBER_ALIGNMENT) * MEMBER_ALIGNMENT
    storage = torch.zeros(size, dtype=value.dtype, device=value.device)
    storage[:count].copy_(value.flatten())
    parameter = storage[:count].view(value.shape).requires_grad_()
    return parameter, storage, torch.zeros_like(storage)


# ----------------------------------------------------------------------------------------- gradient blocks
def gradient_block_members(members: int, member_numel: int, dtype: torch.dtype) -> int:
    """How many members' weight gradients a CPU computes (and masks, and updates) per block: as many as
    fit in ``GRADIENT_BLOCK_BYTES``, at least one."""
    member_bytes = member_numel * torch.finfo(dtype).bits // 8
    return min(members, max(1, GRADIENT_BLOCK_BYTES // member_bytes))


def blocked_weight_gradient(grad: torch.Tensor, inputs: torch.Tensor, mask: torch.Tensor | None,
                            dtype: torch.dtype, update: MemberUpdate | None = None) -> torch.Tensor | None:
    """Each member's weight gradient grad^T @ inputs ([K, out, in]) times ``mask``, a block of members at a
    time so that each block is masked while in cache. With ``update``, each masked block goes to it while
    still in cache and nothing is returned (the optimizer's pass then costs no memory traffic for it)."""
    members, _, outputs = grad.shape
    block = gradient_block_members(members, outputs * inputs.shape[-1], dtype)
    result = torch.empty((block if update is not None else members), outputs, inputs.shape[-1], dtype=dtype,
                         device=grad.device)
    for start in range(0, members, block):
        stop = min(members, start + block)
        part = result[:stop - start] if update is not None else result[start:stop]
        torch.bmm(grad[start:stop].transpose(1, 2), inputs[start:stop], out=part)
        if mask is not None:
            part.mul_(mask[start:stop])
        if update is not None:
            update(start, stop, part)
    return None if update is not None else result


# ------------------------------------------------------------------------------ per-weight registries
class WeightRegistry:
    """Something the engine attaches to exact weight tensors for the length of a training (an in-backward
    update, a sparse layout), found by the layers that use those weights; models never see it."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[torch.Tensor, Any]] = {}

    def get(self, weight: torch.Tensor) -> Any:
        """What is registered for this exact tensor, or None."""
        entry = self._entries.get(id(weight))
        return entry[1] if entry is not None and entry[0] is weight else None

    @contextlib.contextmanager
    def registered(self, values: dict[torch.Tensor, Any]) -> Iterator[None]:
        """Register ``values`` (weight tensor -> value) until the block ends."""
        self._entries.update({id(weight): (weight, value) for weight, value in values.items()})
        try:
            yield
        finally:
            for weight in values:
                self._entries.pop(id(weight), None)


# ------------------------------------------------------------------------------ Adam in the backward pass
_UPDATES = WeightRegistry()


def update_for(weight: torch.Tensor) -> MemberUpdate | None:
    """The in-backward update registered for this exact weight tensor, if any (see ``updates_in_backward``)."""
    return _UPDATES.get(weight)


def updates_in_backward(updates: dict[torch.Tensor, MemberUpdate]) -> contextlib.AbstractContextManager[None]:
    """Register in-backward updates for some weight tensors for the duration of a training."""
    return _UPDATES.registered(updates)


class InBackwardAdam:
    """Adam's update of some weights, a block of members at a time, during the backward pass.

    Only float32 CPU weights handed to a fused, plain Adam, with every member a whole number of cache lines,
    qualify: for them the kernel's vector loop covers the same elements as in a whole-tensor step, so the
    bits are those of ``optimizer.step()``. The others keep the usual path (``.grad``, then ``step``)."""

    def __init__(self, optimizer: torch.optim.Optimizer, weights: dict[str, torch.Tensor],
                 frozen: Callable[[], torch.Tensor | None]):
        self.optimizer, self.frozen = optimizer, frozen
        self.updated: set[str] = set()          # weights updated during this step's backward pass
        self.weights = {name: weight for name, weight in weights.items() if self._qualifies(weight)}
        for weight in self.weights.values():
            adam_state(self.optimizer, weight)

    def _qualifies(self, weight: torch.Tensor) -> bool:
        group = self.optimizer.param_groups[0]
        if not (isinstance(self.optimizer, torch.optim.Adam) and group["fused"] and not group["amsgrad"]
                and not group["maximize"] and not group["capturable"]):
            return False
        handed = {id(p) for p in group["params"]}
        return (id(weight) in handed and weight.device.type == "cpu" and weight.dtype == torch.float32
                and weight.is_contiguous() and weight[0].numel() % MEMBER_ALIGNMENT == 0)

    def updates(self) -> dict[torch.Tensor, MemberUpdate]:
        """weight tensor -> its block update, for ``updates_in_backward``."""
        return {weight: (lambda start, stop, grad, name=name: self.update_members(name, start, stop, grad))
                for name, weight in self.weights.items()}

    def new_step(self) -> None:
        """Start counting a new optimizer step."""
        self.updated.clear()

    def update_members(self, name: str, start: int, stop: int, grad: torch.Tensor) -> None:
        """Adam's step for members [start, stop) of weight ``name`` from their gradient ``grad``: the call
        ``torch.optim.Adam`` makes for the whole tensor, on the members' slices (frozen members' gradients
        set to zero first)."""
        weight = self.weights[name]
        state = self.optimizer.state[weight]
        if name not in self.updated:            # the step count, once per step as Adam counts it
            state["step"].add_(1)
            self.updated.add(name)
        frozen = self.frozen()
        if frozen is not None:
            grad.masked_fill_(frozen[start:stop].view(-1, *([1] * (grad.dim() - 1))), 0)
        group = self.optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        with torch.no_grad():
            torch._fused_adam_([weight[start:stop]], [grad], [state["exp_avg"][start:stop]],
                               [state["exp_avg_sq"][start:stop]], [], [state["step"]], amsgrad=False,
                               lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
                               eps=group["eps"], maximize=False, grad_scale=None, found_inf=None)


def adam_state(optimizer: torch.optim.Optimizer, parameter: torch.Tensor) -> dict[str, torch.Tensor]:
    """``parameter``'s Adam state, created first as ``torch.optim.Adam`` (fused) creates it at its first step:
    a float32 step count and zero moments."""
    state = optimizer.state[parameter]
    if not state:
        state["step"] = torch.zeros((), dtype=torch.float32, device=parameter.device)
        state["exp_avg"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)
    return state


def direct_adam_step(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()`` for an Adam that ``direct_adam_qualifies``: the state ``torch.optim.Adam`` creates at a
    parameter's first step, its step counts advanced by ``torch._foreach_add_``, and the one ``torch._fused_adam_``
    call over the parameters that have a gradient (the call ``torch.optim.Adam`` makes: same kernel, same
    tensors, same bits)."""
    for group in optimizer.param_groups:
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            continue
        states = [adam_state(optimizer, p) for p in params]
        steps = [state["step"] for state in states]
        beta1, beta2 = group["betas"]
        with torch.no_grad():
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(params, [p.grad for p in params], [state["exp_avg"] for state in states],
                               [state["exp_avg_sq"] for state in states], [], steps, amsgrad=False,
                               lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
                               eps=group["eps"], maximize=False, grad_scale=None, found_inf=None)


def direct_adam_qualifies(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``direct_adam_step`` can stand in for ``optimizer.step()``: a fused Adam with nothing but the
    plain update (float learning rates and betas, no AMSGrad, no maximising, no decoupled weight decay, no
    gradient scaling, no step hooks) over float32 CPU parameters. Hooks registered later are not seen: the
    engine registers none."""
    if type(optimizer) is not torch.optim.Adam or not fused_adam_available() or _has_extras(optimizer):
        return False
    for group in optimizer.param_groups:
        tensor_settings = any(isinstance(v, torch.Tensor) for v in (group["lr"], *group["betas"]))
        if not group.get("fused") or tensor_settings or any(
                group.get(flag) for flag in ("amsgrad", "maximize", "capturable", "differentiable",
                                             "decoupled_weight_decay", "foreach")):
            return False
        if any(p.device.type != "cpu" or p.dtype != torch.float32 for p in group["params"]):
            return False
    return True


def direct_sgd_step(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()`` for an SGD that ``direct_sgd_qualifies``: the one ``torch._fused_sgd_`` call over the
    parameters that have a gradient, with their momentum buffers (made with ``torch.empty_like`` at the first
    step, which the kernel fills) kept in the optimizer's state as ``torch.optim.SGD`` keeps them: same kernel,
    same tensors, same bits, without the step wrapper that imports ``torch._dynamo``."""
    for group in optimizer.param_groups:
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            continue
        momentum = group["momentum"]
        buffers = [optimizer.state[p].get("momentum_buffer") for p in params] if momentum != 0 else []
        first_step = momentum != 0 and all(b is None for b in buffers)
        if first_step:
            buffers = [torch.empty_like(p.grad) for p in params]
        with torch.no_grad():
            torch._fused_sgd_(params, [p.grad for p in params], buffers, weight_decay=group["weight_decay"],
                              momentum=momentum, lr=group["lr"], dampening=group["dampening"],
                              nesterov=group["nesterov"], maximize=False, is_first_step=first_step,
                              grad_scale=None, found_inf=None)
        for parameter, buffer in zip(params, buffers):
            optimizer.state[parameter]["momentum_buffer"] = buffer


def direct_sgd_qualifies(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``direct_sgd_step`` can stand in for ``optimizer.step()``: a fused SGD with the plain update (float
    learning rate, no maximising, no gradient scaling, no step hooks) over float32 CPU parameters (their gradients
    dense, as the engine's are). Hooks registered later are not seen: the engine registers none."""
    if type(optimizer) is not torch.optim.SGD or not hasattr(torch, "_fused_sgd_") or _has_extras(optimizer):
        return False
    for group in optimizer.param_groups:
        if not group.get("fused") or isinstance(group["lr"], torch.Tensor) or any(
                group.get(flag) for flag in ("maximize", "differentiable", "foreach")):
            return False
        if any(p.device.type != "cpu" or p.dtype != torch.float32 for p in group["params"]):
            return False
    return True


def _has_extras(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer`` has gradient scaling or step hooks (its own or global), which a direct step skips."""
    if getattr(optimizer, "grad_scale", None) is not None or getattr(optimizer, "found_inf", None) is not None:
        return True
    return any((optimizer._optimizer_step_pre_hooks, optimizer._optimizer_step_post_hooks,
                _optimizer_module._global_optimizer_pre_hooks, _optimizer_module._global_optimizer_post_hooks))


def fused_adam_available() -> bool:
    """Whether this torch has the private fused Adam kernel the in-backward update calls."""
    return hasattr(torch, "_fused_adam_")


# ------------------------------------------------------------------------------------------- allocator
_HEAP_TUNED = False


def keep_large_allocations_on_heap() -> bool:
    """Ask glibc to serve large allocations from its heap and keep freed memory, once per process.

    By default glibc maps every allocation above ~32 MB fresh from the kernel and unmaps it when freed, so
    each training step of a big population pays page faults on whole tensors again. The cost is that the
    process keeps its peak memory until it exits. Returns whether the setting took effect (False off
    glibc, e.g. on macOS; nothing else changes there)."""
    global _HEAP_TUNED
    if _HEAP_TUNED:
        return True
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt: Any = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    _HEAP_TUNED = bool(mallopt(m_mmap_threshold, 1 << 30)) and bool(mallopt(m_trim_threshold, 1 << 30))
    return _HEAP_TUNED
