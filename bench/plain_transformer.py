"""The population transformer's nets written the usual way, as one torch.nn module per net (used by
tests/test_transformer_tickets.py as an independent reference and by bench/transformer.py as the plain loop)."""
from __future__ import annotations

import torch

from lth.core.transformer import PopulationTransformer


class PlainTransformer(torch.nn.Module):
    """One member of ``model`` built from torch.nn's own layers (nn.Embedding, nn.MultiheadAttention with a causal
    mask, nn.LayerNorm without affine parameters, nn.Linear), with the weights ``p`` of that member: an
    independent implementation to train against (tests) and the usual way to train such nets (bench)."""

    def __init__(self, model: PopulationTransformer, p: dict):
        super().__init__()
        d, nn = model.width, torch.nn
        self.token = nn.Embedding.from_pretrained(p["embed.token"].clone(), freeze=False)
        self.position = nn.Parameter(p["embed.position"].clone())
        self.norm = nn.LayerNorm(d, elementwise_affine=False)
        self.attention, self.ff_in, self.ff_out = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for i in range(model.layers):
            attention = nn.MultiheadAttention(d, model.heads, bias=False, batch_first=True)
            attention.in_proj_weight.data = torch.cat([p[f"block{i}.{n}"] for n in ("query", "key", "value")]).clone()
            attention.out_proj.weight.data = p[f"block{i}.out"].clone()
            self.attention.append(attention)
            self.ff_in.append(nn.Linear(d, model.ff)), self.ff_out.append(nn.Linear(model.ff, d))
            for layer, name in ((self.ff_in[i], "ff_in"), (self.ff_out[i], "ff_out")):
                layer.weight.data, layer.bias.data = p[f"block{i}.{name}"].clone(), p[f"block{i}.{name}_bias"].clone()
        self.head = nn.Linear(d, model.vocab)
        self.head.weight.data, self.head.bias.data = p["head.weight"].clone(), p["head.bias"].clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        h = self.token(x) + self.position[:t]
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
        for attention, ff_in, ff_out in zip(self.attention, self.ff_in, self.ff_out):
            a = self.norm(h)
            h = h + attention(a, a, a, attn_mask=causal, need_weights=False)[0]
            h = h + ff_out(torch.relu(ff_in(self.norm(h))))
        return self.head(self.norm(h[:, -1]))

    def weights(self, model: PopulationTransformer) -> dict:
        """Its weights under the population's names."""
        out = {"embed.token": self.token.weight, "embed.position": self.position, "head.weight": self.head.weight,
               "head.bias": self.head.bias}
        for i in range(model.layers):
            for n, w in zip(("query", "key", "value"), self.attention[i].in_proj_weight.chunk(3)):
                out[f"block{i}.{n}"] = w
            out[f"block{i}.out"] = self.attention[i].out_proj.weight
            for name, layer in (("ff_in", self.ff_in[i]), ("ff_out", self.ff_out[i])):
                out[f"block{i}.{name}"], out[f"block{i}.{name}_bias"] = layer.weight, layer.bias
        return out
