"""A small causal transformer as a population model: K same-shaped nets held as stacked tensors, for
next-token classification (the logits of the token after a context of ``context`` tokens).

Pre-norm blocks (LayerNorm without learned scale or bias, multi-head causal self-attention, a ReLU feed-forward
layer), learned token and position embeddings and an output layer read at the last position. The attention and
feed-forward weights are the prunable ones (``layer_names``), as lottery-ticket studies of transformers prune
them (Chen et al. 2020 prune BERT's attention and feed-forward weights, not its embeddings); embeddings, the
output layer and biases stay dense.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from lth.core.models import mask_gradient, sample_weight

BLOCK_WEIGHTS = ("query", "key", "value", "out", "ff_in", "ff_out")
EMBEDDING_STD = 0.02


@dataclass(frozen=True)
class PopulationTransformer:
    """``layers`` blocks of width ``width`` with ``heads`` heads and a ``ff`` -unit feed-forward layer, over a
    vocabulary of ``vocab`` tokens and a context of ``context`` tokens."""
    vocab: int
    context: int = 16
    width: int = 32
    heads: int = 4
    layers: int = 2
    ff: int = 128
    eval_chunk: int = 2000

    @property
    def layer_names(self) -> list[str]:
        """The prunable weights: every block's attention and feed-forward matrices."""
        return [f"block{i}.{w}" for i in range(self.layers) for w in BLOCK_WEIGHTS]

    def shapes(self) -> dict[str, tuple[tuple[int, ...], str]]:
        """name -> (per-member shape, kind); embeddings are drawn as weights and scaled in ``init_params``."""
        d, shapes = self.width, {"embed.token": ((self.vocab, self.width), "embedding"),
                                 "embed.position": ((self.context, self.width), "embedding")}
        for i in range(self.layers):
            for name, shape in (("query", (d, d)), ("key", (d, d)), ("value", (d, d)), ("out", (d, d)),
                                ("ff_in", (self.ff, d)), ("ff_out", (d, self.ff))):
                shapes[f"block{i}.{name}"] = (shape, "weight")
            shapes[f"block{i}.ff_in_bias"] = ((self.ff,), "bias")
            shapes[f"block{i}.ff_out_bias"] = ((d,), "bias")
        shapes["head.weight"] = ((self.vocab, d), "weight")
        shapes["head.bias"] = ((self.vocab,), "bias")
        return shapes

    def init_params(self, seeds: list[int], init: str = "glorot_normal", std: float = 0.1,
                    dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Initial parameters of one member per seed, drawn in ``shapes`` order from that seed alone: matrices
        from ``init``, embeddings N(0, 0.02) (GPT-2's), biases 0."""
        members = []
        for seed in seeds:
            generator, member = torch.Generator().manual_seed(int(seed)), {}
            for name, (shape, kind) in self.shapes().items():
                if kind == "embedding":
                    member[name] = torch.randn(shape, generator=generator, dtype=dtype) * EMBEDDING_STD
                elif kind == "weight":
                    member[name] = sample_weight(shape, init, generator, std, dtype)
                else:
                    member[name] = torch.zeros(shape, dtype=dtype)
            members.append(member)
        return {name: torch.stack([m[name] for m in members]).to(device) for name in self.shapes()}

    def _embed(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """[K, B, T, d] token plus position embeddings of token ids ``x`` ([B, T] shared or [K, B, T])."""
        table = params["embed.token"]
        members, vocab = table.shape[0], table.shape[1]
        offsets = torch.arange(members, device=x.device).view(-1, 1, 1) * vocab
        ids = (x.unsqueeze(0) if x.dim() == 2 else x) + offsets          # each member's rows of the stacked table
        # F.embedding: its backward sums repeated ids in a fixed order (advanced indexing's did not, run to run)
        tokens = F.embedding(ids, table.reshape(members * vocab, -1))
        return tokens + params["embed.position"][:, None, : x.shape[-1]]

    def _attention(self, h: torch.Tensor, weight: dict[str, torch.Tensor]) -> torch.Tensor:
        """Causal multi-head self-attention of [K, B, T, d] inputs."""
        k_, b, t, d = h.shape
        split = (k_, b, t, self.heads, d // self.heads)
        q, k, v = (torch.einsum("kbtd,ked->kbte", h, weight[n]).view(split).transpose(2, 3)
                   for n in ("query", "key", "value"))
        # written out (scores, causal mask, softmax) as the reference in tests/test_transformer_tickets.py reads it
        scores = torch.einsum("kbhte,kbhse->kbhts", q, k) / math.sqrt(d // self.heads)
        causal = torch.ones(t, t, dtype=torch.bool, device=h.device).triu(1)
        mixed = torch.einsum("kbhts,kbhse->kbhte", torch.softmax(scores.masked_fill(causal, float("-inf")), -1), v)
        mixed = mixed.transpose(2, 3).reshape(k_, b, t, d)
        return torch.einsum("kbtd,ked->kbte", mixed, weight["out"])

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, training: bool = False,
                grad_masks: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Logits [K, B, vocab] of the token after each context of ``x``; ``grad_masks[name]`` multiplies that
        weight's gradient in the backward pass (pruned weights stay 0)."""
        grad_masks = grad_masks or {}
        h = self._embed(params, x)
        for i in range(self.layers):
            weight = {w: mask_gradient(params[f"block{i}.{w}"], grad_masks.get(f"block{i}.{w}")) for w in BLOCK_WEIGHTS}
            h = h + self._attention(F.layer_norm(h, (self.width,)), weight)
            inner = torch.relu(torch.einsum("kbtd,ked->kbte", F.layer_norm(h, (self.width,)), weight["ff_in"])
                               + params[f"block{i}.ff_in_bias"][:, None, None])
            h = h + (torch.einsum("kbte,kde->kbtd", inner, weight["ff_out"])
                     + params[f"block{i}.ff_out_bias"][:, None, None])
        last = F.layer_norm(h[:, :, -1], (self.width,))
        return torch.einsum("kbd,kvd->kbv", last, params["head.weight"]) + params["head.bias"][:, None]

    def parameter_count(self) -> int:
        """Parameters of one member."""
        return sum(int(torch.Size(shape).numel()) for shape, _ in self.shapes().values())
