"""The anatomy of winning tickets (Frankle & Carbin, arXiv 1803.03635v1, Section 5), from the masks and initial
weights the ``mnist_v1`` stage kept: which initial values survive iterative pruning (the paper sees the
surviving initialisations turn bimodal, the tails of the init surviving) and how the surviving connections
spread over the units (sparse everywhere, few units cut off entirely). Trains nothing."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lth.config import ConfigError, as_dict, setting
from lth.io import ContentError, read_json_file, write_json_atomic
from lth.shared.ticket_file import read_tickets, unpack_masks
from lth.stage_run import StageRun


@dataclass(frozen=True)
class AnatomyConfig:
    """Which IMP rounds of the ``mnist_v1`` run to examine, and the histogram resolution."""
    init_rounds: list[int] = setting([0, 3, 8, 13], "rounds whose surviving initial weights are shown (v1 Fig. "
                                     "10: hidden layers at 100, 51.2, 16.8, 5.5%)", min=0)
    connectivity_rounds: list[int] = setting([1, 8, 13], "rounds whose per-unit connection counts are shown (v1 "
                                             "Fig. 11: 80, 16.8, 5.5%)", min=0)
    bins: int = setting(60, "histogram bins over [-4, 4] standard deviations of each layer's initial weights",
                        min=4)


def layer_shapes(tickets: dict[str, torch.Tensor]) -> dict[str, tuple[int, int]]:
    """Each pruned layer's weight shape (out, in), from the initial weights in a tickets file."""
    return {key[len("init/"):]: tuple(t.shape[1:]) for key, t in tickets.items() if key.startswith("init/")}


def check_rounds(config: AnatomyConfig, available: int) -> None:
    """Every requested round exists in the tickets file (rounds 0 .. available - 1)."""
    for key in ("init_rounds", "connectivity_rounds"):
        for r in getattr(config, key):
            if r >= available:
                raise ConfigError(f"params.yaml: anatomy.{key} contains {r}: the mnist_v1 run has rounds 0-"
                                  f"{available - 1} only (its profile prunes fewer rounds)")


def survivor_statistics(init: np.ndarray, mask: np.ndarray, bins: int) -> dict[str, Any]:
    """Histogram and tail fractions of the initial values of the weights a mask keeps, pooled over trials.

    ``init`` [T, out, in], ``mask`` boolean of the same shape. Values are in units of the layer's standard
    deviation of *all* its initial weights (so layers and inits compare); bins span [-4, 4] (values beyond
    fall in the end bins). ``beyond_1sd`` is the fraction of survivors with |w0| > 1 SD (31.7% for an
    untouched normal init), ``within_half_sd`` those with |w0| < 0.5 SD (38.3%): the tails surviving and the
    centre emptying is what a bimodal distribution of survivors means. ``beyond_1sd_trials``: per trial."""
    sd = float(init.std())
    kept = init[mask] / sd
    counts, edges = np.histogram(np.clip(kept, -4, 4), bins=bins, range=(-4, 4))
    n = int(kept.size)
    per_trial = [init[t][mask[t]] / sd for t in range(init.shape[0])]
    return {"survivors": n, "counts": counts.tolist(), "edges": [round(float(e), 6) for e in edges],
            "beyond_1sd": round(float(np.mean(np.abs(kept) > 1)), 6) if n else None,
            "within_half_sd": round(float(np.mean(np.abs(kept) < 0.5)), 6) if n else None,
            "beyond_1sd_trials": [round(float(np.mean(np.abs(k) > 1)), 6) if k.size else None for k in per_trial],
            "init_sd": round(sd, 6)}


def connectivity(masks: dict[str, np.ndarray], names: list[str]) -> dict[str, Any]:
    """Per layer: each unit's surviving incoming connections, sorted in descending order and averaged over
    trials rank by rank; how many units have none left (cut off from their inputs) and, for hidden units, how
    many have no surviving outgoing connection (cut off from the next layer), as means over trials.

    ``masks[name]`` is boolean [T, out, in]; ``names`` are the layers in order (the next layer's columns are
    this layer's units)."""
    out = {}
    for i, name in enumerate(names):
        incoming = masks[name].sum(axis=2)                       # [T, out]
        ranked = -np.sort(-incoming, axis=1)
        record = {"incoming_sorted": [round(float(v), 3) for v in ranked.mean(axis=0)],
                  "fan_in": int(masks[name].shape[2]),
                  "no_incoming": round(float((incoming == 0).sum(axis=1).mean()), 3),
                  "no_incoming_trials": [int(v) for v in (incoming == 0).sum(axis=1)],
                  "units": int(masks[name].shape[1])}
        if i + 1 < len(names):
            outgoing = masks[names[i + 1]].sum(axis=1)           # [T, units of this layer]
            record["no_outgoing"] = round(float((outgoing == 0).sum(axis=1).mean()), 3)
        out[name] = record
    return out


def anatomy(tickets: dict[str, torch.Tensor], pm_by_round: list[float], config: AnatomyConfig) -> dict[str, Any]:
    """Both studies of v1 Section 5 from a tickets file (``MnistV1Lottery.tickets``) and each round's Pm."""
    shapes = layer_shapes(tickets)
    names = list(shapes)
    available = int(tickets[f"masks/{names[0]}"].shape[0])
    check_rounds(config, available)

    def masks_at(r: int) -> dict[str, np.ndarray]:
        return {n: unpack_masks(tickets[f"masks/{n}"][r], shapes[n]).numpy() for n in names}

    inits = {n: tickets[f"init/{n}"].numpy() for n in names}
    initialisations = []
    for r in config.init_rounds:
        masks = masks_at(r)
        initialisations.append({"round": r, "pm": pm_by_round[r],
                                "layers": {n: {**survivor_statistics(inits[n], masks[n], config.bins),
                                               "remaining": round(float(masks[n].mean()), 6)} for n in names}})
    connections = [{"round": r, "pm": pm_by_round[r], "layers": connectivity(masks_at(r), names)}
                   for r in config.connectivity_rounds]
    return {"layers": names, "initialisations": initialisations, "connectivity": connections}


SECTIONS = {"anatomy": AnatomyConfig}


def rounds_pm(v1_run: dict[str, Any]) -> list[float]:
    """Each IMP round's Pm (%) from the ``mnist_v1`` run's results; ``ContentError`` if they are not there."""
    try:
        return [round(100 * r["ticket"]["pm"][0], 4) for r in v1_run["rounds"]]
    except (KeyError, IndexError, TypeError):
        raise ContentError("has no rounds[].ticket.pm (the Pm of each IMP round)") from None


def stage(run: StageRun) -> str:
    """From the ``mnist_v1`` run's kept tickets and its rounds' Pm (trains nothing); writes
    results/mnist_v1/anatomy.json."""
    loaded = run.section("anatomy", AnatomyConfig)
    tickets = read_tickets(run.artifacts / "mnist_v1" / "tickets.pt")
    v1_run = read_json_file(run.results / "mnist_v1" / "lenet.json", produced_by="mnist_v1", expect=rounds_pm)
    result = anatomy(tickets, rounds_pm(v1_run), loaded.config)
    write_json_atomic(run.results / "mnist_v1" / "anatomy.json",
                      {"profile": v1_run["profile"], "config": as_dict(loaded.config), **result})
    return (f"initialisations at {len(result['initialisations'])} levels, connectivity at "
            f"{len(result['connectivity'])} levels")
