"""The first version's MNIST run (Frankle & Carbin, arXiv 1803.03635v1, Sections 3, 4 and 6): LeNet-300-100
in its own setup, N(0, 0.1) weights and zero biases; IMP with rewinding and, at every level, random-reinit and
random-rewiring controls; one-shot pruning with the same controls; Han et al.'s continued training. The
tickets' masks and initial weights are kept (packed bits) for the anatomy of winning tickets (Section 5)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lth.config import setting
from lth.core.masks import Masks
from lth.shared.lenet import MnistConfig, MnistLottery
from lth.shared.lottery import concat_members, rewire
from lth.shared.members import derive_seed, repeat_each, tile
from lth.shared.ticket_file import pack_masks


@dataclass(frozen=True)
class MnistV1Config(MnistConfig):
    """LeNet-300-100 as the first version trained it. What v1 leaves open (optimizer, learning rate, batch
    size) is the final paper's choice: Adam at 1.2e-3, minibatches of 60."""
    init: str = setting("normal", "weight init (v1: N(0, init_std) weights, biases 0)",
                        choices=("glorot_normal", "normal", "glorot_uniform"))
    init_std: float = setting(0.1, "std of the 'normal' init (v1: 0.1)", min=0, min_exclusive=True)
    reinit_per_ticket: int = setting(3, "random-reinitialisation controls per ticket (v1: 15 per level = 3 per "
                                     "ticket x 5 trials)", min=0)
    rewire_per_ticket: int = setting(3, "random-rewiring controls per ticket (v1: 15 per level)", min=0)
    random_mask_per_ticket: int = setting(0, "random-sparse-mask controls per ticket (not a v1 control)", min=0)
    reinit_every: int = setting(1, "the random-reinit controls train at IMP rounds 1, 1+n, 1+2n, ... (1 = every "
                                "round)", min=1)
    one_shot_controls: bool = setting(True, "one-shot levels train the same reinit and rewiring controls as the "
                                      "IMP levels (v1 Section 3)")


class MnistV1Lottery(MnistLottery):
    """The ``mnist`` lottery with controls at the one-shot levels too, keeping every IMP round's ticket masks."""

    def _imp_round(self, r: int, state: dict[str, Any]) -> dict[str, Any]:
        summary = super()._imp_round(r, state)
        state.setdefault("ticket_mask_bits", []).append(pack_masks(state["ticket_masks"], self.names))
        return summary

    def _one_shot_members(self, state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], Masks, list[str]]:
        """Every one-shot level's tickets and (with ``one_shot_controls``) their reinit and rewiring controls,
        in one population: all tickets, then all reinits, then all rewirings, each in level order."""
        config, T = self.config, self.trials
        levels = list(config.one_shot_rounds)
        tickets, masks, roles = super()._one_shot_members(state)
        parts, mask_parts = [tickets], [masks]
        if config.one_shot_controls and config.reinit_per_ticket:
            R = config.reinit_per_ticket
            parts.append(concat_members([self._fresh_init(R, f"one-shot {r}") for r in levels]))
            mask_parts.append(repeat_each(masks, R))
            roles += ["reinit"] * (T * len(levels) * R)
        if config.one_shot_controls and config.rewire_per_ticket:
            W = config.rewire_per_ticket
            seeds = [derive_seed(config.seed, "rewire", f"one-shot {r}", t, j)
                     for r in levels for t in range(T) for j in range(W)]
            params, rewired = rewire(repeat_each(tile(self.init, len(levels)), W), repeat_each(masks, W), seeds)
            parts.append(params), mask_parts.append(rewired)
            roles += ["rewire"] * (T * len(levels) * W)
        return concat_members(parts), concat_members(mask_parts), roles

    def _one_shot_records(self, summary: dict[str, Any]) -> list[dict[str, Any]]:
        """Per level a record like an IMP round's: {round, ticket, reinit?, rewire?}."""
        levels, T = list(self.config.one_shot_rounds), self.trials
        out = []
        for i, r in enumerate(levels):
            level: dict[str, Any] = {"round": r}
            for role, records in summary.items():
                count = len(records["pm"]) // (T * len(levels))
                part = slice(i * T * count, (i + 1) * T * count)
                level[role] = {key: values[part] for key, values in records.items()}
            out.append(level)
        return out

    def tickets(self) -> dict[str, torch.Tensor]:
        """The anatomy's inputs: every trial's initial weights (float32 [T, out, in] per layer) and every IMP
        round's ticket masks as packed bits (uint8 [rounds, T, ceil(out * in / 8)] per layer)."""
        out = {f"init/{n}": self.init[n].float().cpu() for n in self.names}
        bits = self.state["ticket_mask_bits"]
        for n in self.names:
            out[f"masks/{n}"] = torch.stack([round_bits[n] for round_bits in bits])
        return out
