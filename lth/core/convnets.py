"""Convolutional population models for CIFAR-10: Conv-2/4/6 (optionally with dropout), VGG-19 and ResNet-20.

Like ``PopulationMLP`` they are stateless: parameters (and batch-norm running statistics, the
``buffer_names``) live in a ``dict[name, Tensor[K, ...]]``. Inside the network the K members' feature maps
are held side by side as channels, ``[B, K*C, H, W]``, so every convolution of the population is one
grouped convolution (groups = K) whose weight is a free view of the stacked ``[K, C_out, C_in, 3, 3]``
tensor, and batch norm over those channels keeps statistics per member and channel. A batch shared by all
members enters the first layer as one ordinary convolution with K*C_out filters.

``layer_kinds`` tells the pruning code what each weight is: ``conv``, ``shortcut`` (ResNet 1x1
projections), ``fc`` (hidden fully connected) or ``output``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from lth.core.models import init_from_shapes, mask_gradient, population_linear

# The papers' layer plans: numbers are 3x3 conv widths, "M" a 2x2 max-pool.
CONV_PLANS: dict[str, tuple] = {
    "conv2": (64, 64, "M"),
    "conv4": (64, 64, "M", 128, 128, "M"),
    "conv6": (64, 64, "M", 128, 128, "M", 256, 256, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512),
    "vgg19": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512),
}
RESNET_STAGES = (16, 32, 64)          # ResNet-20: 3 stages of 3 basic blocks each
ARCHITECTURES = ("conv2", "conv4", "conv6", "vgg16", "vgg19", "resnet20")
VGGS = ("vgg16", "vgg19")


def _scaled(width: int, factor: float) -> int:
    return max(1, int(round(width * factor)))


def to_member_channels(x: torch.Tensor) -> torch.Tensor:
    """One batch per member [K, B, C, H, W] -> the population layout [B, K*C, H, W]."""
    members, batch, channels, height, width = x.shape
    return x.transpose(0, 1).reshape(batch, members * channels, height, width)


def population_conv2d(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, shared: bool,
                      stride: int = 1, padding: int = 1) -> torch.Tensor:
    """Every member's convolution at once. ``h`` is [B, C_in, H, W] when ``shared`` (the same input for
    all members) and [B, K*C_in, H, W] otherwise; returns [B, K*C_out, H', W']."""
    members, out_channels = weight.shape[:2]
    flat = weight.reshape(members * out_channels, *weight.shape[2:])
    flat_bias = bias.reshape(-1) if bias is not None else None
    groups = 1 if shared else members
    if _avoid_strided_pointwise_kernel(h, flat, stride, padding, groups):
        h, stride = h[:, :, ::stride, ::stride], 1
    return F.conv2d(h, flat, flat_bias, stride=stride, padding=padding, groups=groups)


def _avoid_strided_pointwise_kernel(h: torch.Tensor, flat_weight: torch.Tensor, stride: int, padding: int,
                                    groups: int) -> bool:
    """Whether to compute an ungrouped, unpadded, strided 1x1 convolution on a CPU as a 1x1 convolution of the
    subsampled input (the same sum). oneDNN's AVX2 kernel for its weight gradient on channels-last maps with
    2-7 input channels (ResNet-20's shortcut at widths 1/8 and 1/4, trained one member per group) never
    returns or returns a wrong gradient; the subsampled form is right, and on the AVX-512 host where both were
    compared it gives the same bits as the strided kernel (docs/measurements.md, session 18)."""
    return (h.device.type == "cpu" and groups == 1 and stride > 1 and padding == 0
            and flat_weight.shape[-2:] == (1, 1))


def population_batch_norm(h: torch.Tensor, params: dict[str, torch.Tensor], prefix: str,
                          training: bool) -> torch.Tensor:
    """Batch norm with per-member, per-channel statistics; in training it updates the running
    statistics in ``params`` in place (they are [K, C] tensors and the [K*C] views share their storage)."""
    return F.batch_norm(h, params[f"{prefix}.running_mean"].view(-1), params[f"{prefix}.running_var"].view(-1),
                        params[f"{prefix}.weight"].view(-1), params[f"{prefix}.bias"].view(-1),
                        training=training, momentum=0.1, eps=1e-5)


def global_average_pool(h: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, C, 1, 1], the mean of each map. A plain mean rather than adaptive average pooling,
    whose CUDA backward is nondeterministic (atomic adds); on a CPU the two give the same bits."""
    return h.mean((2, 3), keepdim=True)


def enter_population(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Images [B, C, H, W] (one batch shared by all members) as they are, or one batch per member
    [K, B, C, H, W] in the population layout; and whether the batch is shared."""
    shared = x.dim() == 4
    h = x if shared else to_member_channels(x)
    return h.contiguous(memory_format=torch.channels_last), shared


def max_pool_2x2(h: torch.Tensor) -> torch.Tensor:
    """``F.max_pool2d(h, 2)``; where no gradient is wanted (evaluation) on a CPU, of channels-last maps of even
    size, as two elementwise maxima over a view of the maps: the same values (tests/test_convnets.py), and
    faster, since torch's kernel also records the argmax indices that only a backward pass needs
    (docs/measurements.md, session 27)."""
    batch, channels, height, width = h.shape
    if (torch.is_grad_enabled() or h.device.type != "cpu" or height % 2 or width % 2
            or not h.is_contiguous(memory_format=torch.channels_last)):
        return F.max_pool2d(h, 2)
    pixels = h.permute(0, 2, 3, 1).reshape(batch, height // 2, 2, width // 2, 2, channels)
    rows = torch.maximum(pixels[:, :, 0], pixels[:, :, 1])
    return torch.maximum(rows[:, :, :, 0], rows[:, :, :, 1]).permute(0, 3, 1, 2)


def relu_of_fresh(h: torch.Tensor) -> torch.Tensor:
    """ReLU of a tensor that nothing else holds (a layer's fresh output, which no backward pass reads: those of
    convolutions, batch norms, poolings, sums and the fc products) in place, which saves writing a second copy
    of the maps; the same values as into a new tensor, and the same gradient (ReLU's backward reads its output)."""
    return torch.relu_(h)


def masked(params: dict[str, torch.Tensor], masks: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    """Weight ``name``, whose gradient the backward pass multiplies by its mask (if it has one)."""
    return mask_gradient(params[name], masks.get(name))


class _ChannelsFirst(torch.autograd.Function):
    """Feature maps held channels-last, copied to the channels-first order that flattening follows; the
    gradient goes back channels-last, the layout the convolutions, ReLUs and pools before it use (given
    channels-first, their backward passes convert it element by element, slower than the step's convolutions)."""

    @staticmethod
    def forward(ctx, h: torch.Tensor) -> torch.Tensor:
        return h.contiguous()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous(memory_format=torch.channels_last)


def to_member_features(h: torch.Tensor, members: int) -> torch.Tensor:
    """[B, K*C, H, W] -> [K, B, C*H*W] (each member's flattened features, in a single net's order)."""
    batch = h.shape[0]
    return _ChannelsFirst.apply(h).reshape(batch, members, -1).transpose(0, 1)


class _PopulationNet:
    """Shared parameter bookkeeping of the conv populations: shapes -> initial parameters."""
    eval_chunk = 250       # examples per evaluation chunk: feature maps of K members must fit in memory, and on
                           # a CPU chunks whose maps stay in cache evaluate faster (bench/README.md)

    def shapes(self) -> dict[str, tuple[tuple[int, ...], str]]:
        """name -> (per-member shape, kind) with kind weight | bias | bn_weight | bn_bias | mean | var."""
        raise NotImplementedError

    @property
    def buffer_names(self) -> list[str]:
        """Batch-norm running statistics: state that the forward pass updates but the optimizer does not."""
        return [n for n, (_, kind) in self.shapes().items() if kind in ("mean", "var")]

    def init_params(self, seeds: list[int], init: str = "glorot_normal", std: float = 0.1,
                    dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Initial parameters of one member per seed: weights from ``init``, biases 0, batch-norm scale 1."""
        return init_from_shapes(self.shapes(), seeds, init, std, dtype, device)

    def parameter_count(self, include_buffers: bool = False) -> int:
        """Trainable parameters of one member (what the papers' tables count)."""
        return sum(math.prod(shape) for name, (shape, kind) in self.shapes().items()
                   if include_buffers or kind not in ("mean", "var"))


@dataclass(frozen=True)
class PopulationConvNet(_PopulationNet):
    """Conv-2/4/6 (3x3 convs with biases, ReLU, max-pools, then fc 256-256-10, optional dropout on the
    hidden fc layers) and VGG-16/19 (3x3 convs without biases, batch norm, ReLU, max-pools, global average
    pool, fc 10). ``width`` scales every hidden width (1.0 = the paper's net; smaller for reduced-scale runs)."""
    arch: str = "conv2"
    width: float = 1.0
    dropout: float = 0.0
    image_size: int = 32
    in_channels: int = 3
    classes: int = 10

    @property
    def batch_norm(self) -> bool:
        return self.arch in VGGS

    @property
    def fc_sizes(self) -> list[int]:
        return [] if self.arch in VGGS else [_scaled(256, self.width), _scaled(256, self.width)]

    def shapes(self) -> dict[str, tuple[tuple[int, ...], str]]:
        shapes: dict[str, tuple[tuple[int, ...], str]] = {}
        channels, size, index = self.in_channels, self.image_size, 0
        for item in CONV_PLANS[self.arch]:
            if item == "M":
                size //= 2
                continue
            out = _scaled(item, self.width)
            shapes[f"conv{index}.weight"] = ((out, channels, 3, 3), "weight")
            if self.batch_norm:
                for stat, kind in (("weight", "bn_weight"), ("bias", "bn_bias"), ("running_mean", "mean"),
                                   ("running_var", "var")):
                    shapes[f"bn{index}.{stat}"] = ((out,), kind)
            else:
                shapes[f"conv{index}.bias"] = ((out,), "bias")
            channels, index = out, index + 1
        features = channels if self.arch in VGGS else channels * size * size
        for i, out in enumerate([*self.fc_sizes, self.classes]):
            shapes[f"fc{i}.weight"] = ((out, features), "weight")
            shapes[f"fc{i}.bias"] = ((out,), "bias")
            features = out
        return shapes

    @property
    def layer_kinds(self) -> dict[str, str]:
        """Every weight tensor (what pruning acts on) and its kind: conv, fc or output."""
        fc = [n for n in self.shapes() if n.startswith("fc") and n.endswith(".weight")]
        kinds = {n: "conv" for n in self.shapes() if n.startswith("conv") and n.endswith(".weight")}
        kinds.update({n: ("output" if n == fc[-1] else "fc") for n in fc})
        return kinds

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, training: bool = False,
                grad_masks: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Logits [K, B, 10] for images [B, C, H, W] (shared by all members) or [K, B, C, H, W];
        ``grad_masks[name]`` multiplies that weight's gradient in the backward pass."""
        masks = grad_masks or {}
        members = params["conv0.weight"].shape[0]
        h, shared = enter_population(x)
        plan = CONV_PLANS[self.arch]
        index = 0
        for position, item in enumerate(plan):
            if item == "M":
                continue                 # pooled below, before the ReLU of the convolution it follows
            h = population_conv2d(h, masked(params, masks, f"conv{index}.weight"), params.get(f"conv{index}.bias"),
                                  shared)
            if self.batch_norm:
                h = population_batch_norm(h, params, f"bn{index}", training)
            if plan[position + 1:position + 2] == ("M",):
                # Pooled before ReLU: the same maps as ReLU then pooling, since both keep order, but ReLU and its
                # backward touch a quarter of the elements; the gradients are the same bits (tests/test_convnets.py).
                h = max_pool_2x2(h)
            h = relu_of_fresh(h)
            shared, index = False, index + 1
        if self.arch in VGGS:
            h = global_average_pool(h)
        h = to_member_features(h, members)
        layers = len(self.fc_sizes) + 1
        for i in range(layers):
            name = f"fc{i}.weight"
            h = population_linear(h, params[name], params[f"fc{i}.bias"], masks.get(name))
            if i < layers - 1:
                h = relu_of_fresh(h)
                if self.dropout:
                    h = F.dropout(h, self.dropout, training)
        return h


@dataclass(frozen=True)
class PopulationResNet(_PopulationNet):
    """ResNet-20 for CIFAR-10 (the final paper's "Resnet-18"): a 16-channel 3x3 stem, three stages of three
    basic blocks (16, 32, 64 channels; stride 2 entering stages 2 and 3, where a 1x1 convolution with batch
    norm projects the shortcut), global average pool, fc 10. Convolutions have no biases; every one is
    followed by batch norm."""
    width: float = 1.0
    blocks_per_stage: int = 3
    in_channels: int = 3
    classes: int = 10

    def _blocks(self) -> list[tuple[str, int, int, int]]:
        """(prefix, in channels, out channels, stride) of every basic block."""
        blocks, channels = [], _scaled(16, self.width)
        for s, stage_width in enumerate(RESNET_STAGES):
            out = _scaled(stage_width, self.width)
            for b in range(self.blocks_per_stage):
                stride = 2 if s > 0 and b == 0 else 1
                blocks.append((f"s{s}b{b}", channels, out, stride))
                channels = out
        return blocks

    def shapes(self) -> dict[str, tuple[tuple[int, ...], str]]:
        shapes: dict[str, tuple[tuple[int, ...], str]] = {}

        def conv_bn(prefix: str, bn: str, out: int, inp: int, kernel: int) -> None:
            shapes[f"{prefix}.weight"] = ((out, inp, kernel, kernel), "weight")
            for stat, kind in (("weight", "bn_weight"), ("bias", "bn_bias"), ("running_mean", "mean"),
                               ("running_var", "var")):
                shapes[f"{bn}.{stat}"] = ((out,), kind)

        stem = _scaled(16, self.width)
        conv_bn("stem.conv", "stem.bn", stem, self.in_channels, 3)
        for prefix, inp, out, stride in self._blocks():
            conv_bn(f"{prefix}.conv1", f"{prefix}.bn1", out, inp, 3)
            conv_bn(f"{prefix}.conv2", f"{prefix}.bn2", out, out, 3)
            if stride != 1 or inp != out:
                conv_bn(f"{prefix}.shortcut", f"{prefix}.shortcut_bn", out, inp, 1)
        final = _scaled(RESNET_STAGES[-1], self.width)
        shapes["fc.weight"] = ((self.classes, final), "weight")
        shapes["fc.bias"] = ((self.classes,), "bias")
        return shapes

    @property
    def layer_kinds(self) -> dict[str, str]:
        """Every weight tensor and its kind: conv, shortcut (1x1 projections) or output."""
        return {n: ("output" if n == "fc.weight" else "shortcut" if ".shortcut." in f"{n}." else "conv")
                for n, (_, kind) in self.shapes().items() if kind == "weight"}

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, training: bool = False,
                grad_masks: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Logits [K, B, 10] for images [B, C, H, W] (shared by all members) or [K, B, C, H, W];
        ``grad_masks[name]`` multiplies that weight's gradient in the backward pass."""
        masks = grad_masks or {}

        def weight(name: str) -> torch.Tensor:
            return masked(params, masks, name)

        members = params["fc.weight"].shape[0]
        h, shared = enter_population(x)
        h = population_conv2d(h, weight("stem.conv.weight"), None, shared)
        h = relu_of_fresh(population_batch_norm(h, params, "stem.bn", training))
        for prefix, inp, out, stride in self._blocks():
            y = population_conv2d(h, weight(f"{prefix}.conv1.weight"), None, False, stride=stride)
            y = relu_of_fresh(population_batch_norm(y, params, f"{prefix}.bn1", training))
            y = population_conv2d(y, weight(f"{prefix}.conv2.weight"), None, False)
            y = population_batch_norm(y, params, f"{prefix}.bn2", training)
            if f"{prefix}.shortcut.weight" in params:
                h = population_conv2d(h, weight(f"{prefix}.shortcut.weight"), None, False, stride=stride, padding=0)
                h = population_batch_norm(h, params, f"{prefix}.shortcut_bn", training)
            h = relu_of_fresh(y + h)
        h = to_member_features(global_average_pool(h), members)
        return population_linear(h, params["fc.weight"], params["fc.bias"], masks.get("fc.weight"))


def make_convnet(arch: str, width: float = 1.0, dropout: float = 0.0) -> PopulationConvNet | PopulationResNet:
    """The population model for one of ``ARCHITECTURES``."""
    if arch == "resnet20":
        if dropout:
            raise ValueError("dropout is only defined for conv2/conv4/conv6")
        return PopulationResNet(width=width)
    if arch not in CONV_PLANS:
        raise ValueError(f"unknown architecture {arch!r}; allowed: " + ", ".join(ARCHITECTURES))
    return PopulationConvNet(arch=arch, width=width, dropout=dropout)
