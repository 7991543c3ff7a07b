"""Lottery tickets in a small transformer: seed 004's open questions (are transformers sparse like feed-forward
and conv nets; do lottery tickets work for NLP?).

Character-level language modelling on the text of the standard library's ``pydoc_data.topics`` (about 465,000
characters, fixed by the pinned Python): each example is a context of ``context`` characters and the character
after it. The text is split in order: the first 80% trains, the next 10% validates (early stopping), the last 10%
tests. A small causal transformer (``lth.core.transformer``) is pruned by IMP, globally over its attention and
feed-forward weights (embeddings, output layer and biases stay dense), rewound to its initial weights (k = 0) and,
as Frankle et al. 2020 and Yu et al. 2020 find transformers need, to its weights after k iterations; against
random reinitialisation and random masks of the same layer sizes; and, at k = 0, per layer (every matrix pruned
at the same rate).
"""
from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from lth.config import ConfigError, setting
from lth.core.engine import TrainJob
from lth.core.processes import train_in_processes
from lth.core.transformer import PopulationTransformer
from lth.data import DeviceData, Split
from lth.shared.groups import (InitGroup, NumericsGroup, OptimizerGroup, ScheduleGroup, TrainingGroups,
                               TrialsGroup, paper_default)
from lth.shared.lottery import Lottery
from lth.shared.members import derive_seed
from lth.shared.population import ticket_init
from lth.shared.settings import check_schedule
from lth.shared.stage import NUMERICS, Compute, write_results, write_timing
from lth.stage_run import StageRun

SPLITS = (0.8, 0.1, 0.1)     # train, validation, test: consecutive parts of the text


@dataclass(frozen=True)
class TransformerConfig(TrainingGroups, InitGroup, OptimizerGroup, ScheduleGroup, TrialsGroup, NumericsGroup):
    """The net, the data windows, IMP and its rewinding points. No paper fixes these values for a CPU-sized
    transformer: our documented choice (Adam as the final LTH paper; global pruning as Chen et al.)."""
    lr: float = paper_default(OptimizerGroup, "lr", 1e-3)
    batch_size: int = paper_default(ScheduleGroup, "batch_size", 64)
    iterations: int = paper_default(ScheduleGroup, "iterations", 3000)
    patience: int = paper_default(ScheduleGroup, "patience", 500)
    trials: int = paper_default(TrialsGroup, "trials", 3)
    context: int = setting(16, "characters of context before the predicted one", min=1)
    width: int = setting(32, "model width (embedding and attention)", min=1)
    heads: int = setting(4, "attention heads (must divide width)", min=1)
    layers: int = setting(2, "transformer blocks", min=1)
    ff: int = setting(128, "feed-forward units per block", min=1)
    stride: int = setting(4, "characters between the starts of consecutive training examples", min=1)
    eval_examples: int = setting(4000, "validation and test examples (evenly spaced over their part)", min=1)
    prune_rate: float = setting(0.3, "fraction of the surviving attention and feed-forward weights pruned per "
                                "round (global magnitude)", min=0, max=1, min_exclusive=True, max_exclusive=True)
    rounds: int = setting(5, "IMP rounds after the dense level", min=0)
    rewind_iterations: list[int] = setting([0, 200], "rewinding points k: tickets restart from the weights "
                                           "after k iterations (0 = the initial weights)", min=0)
    reinit_per_ticket: int = setting(1, "random-reinitialisation controls per ticket (at k = 0; a fresh init "
                                     "is the same control at any k)", min=0)
    random_mask_per_ticket: int = setting(1, "random-mask controls per ticket (same layer sizes, at every k)",
                                          min=0)
    layerwise_tickets: bool = setting(True, "also IMP at k = 0 pruning every attention and feed-forward matrix by "
                                      "the same rate (per-layer magnitude; tickets only)")

    @property
    def curve_rounds(self) -> list[int]:
        """IMP rounds whose test curves the lottery records: none."""
        return []

    def check(self, prefix: str) -> None:
        """The schedule fits the training, heads divide the width, rewinding points lie inside the training."""
        check_schedule(prefix, self.iterations, eval_every=self.eval_every, patience=self.patience)
        if self.width % self.heads:
            raise ConfigError(f"params.yaml: {prefix}.heads = {self.heads}: must divide {prefix}.width "
                              f"({self.width})")
        late = [k for k in self.rewind_iterations if k >= self.iterations]
        if late:
            raise ConfigError(f"params.yaml: {prefix}.rewind_iterations = {self.rewind_iterations}: {late[0]} is "
                              f"not below {prefix}.iterations ({self.iterations})")


def corpus() -> str:
    """The text: every ``pydoc_data.topics`` entry, in key order."""
    from pydoc_data.topics import topics
    return "".join(topics[key] for key in sorted(topics))


def windows(ids: torch.Tensor, context: int, starts: torch.Tensor) -> Split:
    """Examples at ``starts``: ``context`` token ids and the id after them."""
    offsets = torch.arange(context)
    return Split(ids[starts[:, None] + offsets], ids[starts + context])


def char_data(config: TransformerConfig, device: torch.device, text: str | None = None) -> tuple[DeviceData, list[str]]:
    """Training windows every ``stride`` characters of the first 80% of the text; ``eval_examples`` evenly
    spaced windows of the next 10% (validation) and the last 10% (test); the vocabulary (sorted characters)."""
    text = corpus() if text is None else text
    vocab = sorted(set(text))
    lookup = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([lookup[c] for c in text], dtype=torch.long)
    bounds = [0] + [round(sum(SPLITS[:i + 1]) * len(text)) for i in range(3)]
    parts = []
    for i, (low, high) in enumerate(zip(bounds, bounds[1:])):
        last = high - config.context - 1
        starts = (torch.arange(low, last + 1, config.stride) if i == 0 else
                  torch.linspace(low, last, min(config.eval_examples, last - low + 1)).round().long())
        parts.append(windows(ids, config.context, starts))
    sha = hashlib.sha256(text.encode()).hexdigest()
    return DeviceData(*(Split(p.x.to(device), p.y.to(device)) for p in parts), source_sha256=sha), vocab


def model_for(config: TransformerConfig, vocab: int) -> PopulationTransformer:
    """The config's transformer over ``vocab`` tokens."""
    return PopulationTransformer(vocab, config.context, config.width, config.heads, config.layers, config.ff)


def rewound_weights(config: TransformerConfig, model: PopulationTransformer, data: DeviceData, k: int,
                    device: torch.device) -> dict[str, torch.Tensor]:
    """Every trial's weights after ``k`` iterations of dense training (its init and the batch order of the
    lottery's dense level): where late-rewound tickets restart."""
    _, init = ticket_init(model, config, device)
    job = TrainJob(model, init, {}, config.to_train_settings(iterations=k, eval_every=0, patience=0), data.train,
                   [derive_seed(config.seed, "data", "imp", 0, t) for t in range(config.trials)])
    return train_in_processes(job, config.trials, 1).params


class RewoundLottery(Lottery):
    """IMP whose tickets restart from the weights after ``k`` iterations (Frankle et al. 2020's rewinding) and
    train the rest of the schedule; k = 0 is the plain lottery (rewinding to init). Populations train in one
    process: a few small transformers step faster on two threads than split over two processes (252 against
    175 member-steps/s for 3 members, docs/measurements.md)."""

    def __init__(self, config: TransformerConfig, model: PopulationTransformer, data: DeviceData, k: int,
                 device: torch.device, checkpoint: Path, progress: bool = True, layerwise: bool = False):
        spec = config if k == 0 and not layerwise else dataclasses.replace(
            config, reinit_per_ticket=0, random_mask_per_ticket=config.random_mask_per_ticket * (not layerwise))
        names = model.layer_names
        settings = config.to_train_settings(iterations=config.iterations - k)
        super().__init__(spec, model, names, {n: config.prune_rate for n in names}, config.rounds, settings, data,
                         device, checkpoint, progress, label=f"transformer k={k}" + " layerwise" * layerwise,
                         global_rate=None if layerwise else config.prune_rate)
        if k:
            self.init = rewound_weights(config, model, data, k, device)


def stage(run: StageRun) -> str:
    """IMP of the transformer at every rewinding point; writes results/transformer/tickets.json and its timing
    file (resuming from checkpoints/transformer/ after a kill)."""
    loaded = run.section("transformer_tickets", TransformerConfig)
    config, compute, start = loaded.config, Compute.pick(run), time.perf_counter()
    data, vocab = char_data(config, compute.device)
    model, out, runs = model_for(config, len(vocab)), run.results / "transformer", []
    plan = [(k, False) for k in config.rewind_iterations] + [(0, True)] * config.layerwise_tickets
    for k, layerwise in plan:
        checkpoint = run.checkpoints / "transformer" / (f"k{k}" + "_layerwise" * layerwise + ".pt")
        results = RewoundLottery(config, model, data, k, compute.device, checkpoint, layerwise=layerwise).run()
        runs.append({"rewind_iteration": k, "pruning": "layerwise" if layerwise else "global",
                     "rounds": results["rounds"], "weights": results["weights"]})
        checkpoint.unlink(missing_ok=True)
    write_results(out / "tickets.json", loaded, compute, text_sha256=data.source_sha256, vocab=len(vocab),
                  examples=[len(data.train), len(data.validation), len(data.test)],
                  parameters=model.parameter_count(), runs=runs)
    write_timing(out / "timing.json", start, compute.device)
    return (f"{len(config.rewind_iterations)} rewinding points, {config.rounds} IMP rounds, {config.trials} trials, "
            f"{model.parameter_count():,} parameters")


SECTIONS = {"transformer_tickets": TransformerConfig, **NUMERICS}
