"""Training one population of members (a ticket and its controls, the variants of a study, ...) and
summarising each role's members: early-stop iteration and accuracy, final accuracy, Pm, divergence. Any study
uses it (IMP or not); a study's driver receives the within-training snapshots of a long training.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lth.core.engine import TrainJob, TrainResult, TrainSettings, stop_and_final_accuracies
from lth.core.masks import Masks, remaining_fraction
from lth.core.processes import train_in_processes, worker_count
from lth.data import DeviceData, Split
from lth.shared.driver import StudyDriver
from lth.shared.members import derive_seed


def ticket_seeds(spec: Any) -> list[int]:
    """Every trial's init seed (``spec``: seed, trials)."""
    return [derive_seed(spec.seed, "init", t) for t in range(spec.trials)]


def ticket_init(model: Any, spec: Any, device: torch.device) -> tuple[list[int], dict[str, torch.Tensor]]:
    """Every trial's seed and initial weights (``spec``: seed, trials, init, init_std)."""
    seeds = ticket_seeds(spec)
    return seeds, model.init_params(seeds, spec.init, spec.init_std, device=device)


def fresh_init(model: Any, spec: Any, count_per_ticket: int, round_index: Any,
               device: torch.device) -> dict[str, torch.Tensor]:
    """``count_per_ticket`` new random initialisations per trial (the reinit controls of ``round_index``)."""
    seeds = [derive_seed(spec.seed, "reinit", round_index, t, j)
             for t in range(spec.trials) for j in range(count_per_ticket)]
    return model.init_params(seeds, spec.init, spec.init_std, device=device)


def role_summary(result: TrainResult, roles: list[str], pm: torch.Tensor, test_at_stop: torch.Tensor,
                 final_test: torch.Tensor) -> dict[str, Any]:
    """Per role (in order of first appearance) its members' Pm, early-stop iteration and test accuracy,
    final test accuracy, stop iteration and divergence."""
    summary: dict[str, Any] = {}
    for role in dict.fromkeys(roles):
        index = [k for k, r in enumerate(roles) if r == role]
        summary[role] = {
            "pm": [round(float(pm[k]), 6) for k in index],
            "early_stop_iteration": [int(result.best_iteration[k]) for k in index],
            "early_stop_accuracy": [round(float(test_at_stop[k]), 6) for k in index],
            "final_accuracy": [round(float(final_test[k]), 6) for k in index],
            "stopped_iteration": [int(result.stopped_iteration[k]) for k in index],
            "diverged": [bool(result.diverged[k]) for k in index]}
    return summary


def curve_summary(result: TrainResult) -> dict[str, Any]:
    """The recorded test-accuracy curves; a member that stopped early (patience) has no values after its
    stop: null in the JSON."""
    return {"iterations": result.eval_iterations,
            "test_accuracy": [[None if v != v else round(float(v), 5) for v in row]
                              for row in result.curves["test"]["accuracy"].tolist()]}


@dataclass
class PopulationTrainer:
    """How a study trains its populations: ``model`` under ``settings`` on ``data`` (early stop on the
    validation split), Pm over the prunable weights ``names``; ``chunk`` members at a time (None = all),
    split over one process per core with ``split_over_processes``; test curves on ``curve_test`` (None = the
    whole test set); a snapshot into ``driver``'s state every ``snapshot_every_s`` seconds; member batch
    orders derived from ``seed``; ``device`` the one it trains on."""
    model: Any
    settings: TrainSettings
    data: DeviceData
    names: list[str]
    driver: StudyDriver
    seed: int
    device: torch.device
    chunk: int | None = None
    split_over_processes: bool = False
    curve_test: Split | None = None
    snapshot_every_s: float = 600.0

    def train(self, params: dict[str, torch.Tensor], masks: Masks, roles: list[str], round_index: int, label: str,
              curves_for: torch.Tensor | None, seeds: list[int] | None = None, model: Any = None,
              settings: TrainSettings | None = None) -> tuple[TrainResult, dict[str, Any]]:
        """Train one population (members in ``roles`` order) and summarise each role's members. Member k's
        batch order comes from ``seeds[k]``, by default derived from its position in the population.
        ``model`` and ``settings`` replace the trainer's for this population (e.g. a model with frozen
        weights). A killed training resumes from the driver state's ``partial`` snapshot of the same
        ``(label, round_index)``."""
        model = self.model if model is None else model
        if seeds is None:
            seeds = self.member_seeds(label, round_index, range(len(roles)))
        evaluations, eval_members = {"validation": self.data.validation}, {}
        if curves_for is not None:
            evaluations["test"] = self.curve_test if self.curve_test is not None else self.data.test
            eval_members["test"] = curves_for
        job = TrainJob(model, params, masks, self.settings if settings is None else settings, self.data.train,
                       seeds, evaluations, eval_members, track_best="validation",
                       stop_test=self.data.test if self._tests_where_trained() else None,
                       progress=f"{label} round {round_index}" if self.driver.progress else None)
        result = self._run(job, [label, round_index], len(roles))
        test_at_stop, final_test = ((result.test_at_stop, result.final_test) if result.test_at_stop is not None
                                    else stop_and_final_accuracies(model, result, self.data.test))
        pm = remaining_fraction(masks, self.names) if masks else torch.ones(len(roles), dtype=torch.float64)
        summary = role_summary(result, roles, pm, test_at_stop, final_test)
        if curves_for is not None:
            summary["curves"] = curve_summary(result)
        return result, summary

    def _tests_where_trained(self) -> bool:
        """Whether each member's test accuracies are computed by the worker process that trained it, right after
        its training, rather than by this process over the whole population afterwards: where members train
        one at a time in worker processes (the small conv nets on a CPU). The evaluation then overlaps the other
        workers' training instead of holding every core after the population, and runs one member's
        convolutions, the kernels of its validation evaluations (docs/measurements.md, session 23)."""
        return self.split_over_processes and self.chunk == 1

    def member_seeds(self, label: str, round_index: Any, positions: Any) -> list[int]:
        """The batch-order seeds of the members at ``positions`` of population ``(label, round_index)``: what
        ``train`` gives them by default, so a member trained in another population keeps its batches."""
        return [derive_seed(self.seed, "data", label, round_index, k) for k in positions]

    def _run(self, job: TrainJob, key: list[Any], members: int) -> TrainResult:
        """The training itself, resumed from the driver state's snapshot of ``key`` if there is one, saving
        snapshots of its own (the state of the study plus the engine's state of this training)."""
        state = self.driver.state
        partial = state.get("partial")

        def save_partial(progress: dict[str, Any]) -> None:
            state["partial"] = {"key": key, "run": progress}
            self.driver.save()

        processes = worker_count(self.device, members) if self.split_over_processes else 1
        result = train_in_processes(job, self.chunk or members, processes,
                                    resume=partial["run"] if partial is not None and partial["key"] == key else None,
                                    on_snapshot=save_partial, snapshot_every_s=self.snapshot_every_s)
        state["partial"] = None
        return result
