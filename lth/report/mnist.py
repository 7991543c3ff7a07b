"""MNIST LeNet-300-100 section of the report: the papers' Figures 1, 3, 4 (and v1 §3, 4, 6) from results."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lth.report import papers
from lth.report.common import Section, diverged_count, level_cell, level_pm, level_stats, markdown_table, read_json, \
    run_facts
from lth.report.figures import CurvesPanel, PmAxis, PmSeries, curves_figure, pm_figure

ROLE_STYLE = {"ticket": ("winning ticket (rewind to init)", "tab:blue", "-"),
              "reinit": ("random reinit", "tab:orange", "--"),
              "rewire": ("random rewiring", "tab:green", "--"),
              "random_mask": ("random sparse mask", "tab:red", ":"),
              "han": ("Han et al.: prune, continue training", "tab:purple", "-."),
              "one_shot": ("one-shot ticket", "tab:brown", "-")}
PM_AXIS = PmAxis("percent of weights remaining (Pm)", xlim=(110, 1.2), xticks=(100, 51.3, 21.1, 7.0, 3.6, 1.9))


def _one_shot_rounds(result: dict[str, Any]) -> list[dict[str, Any]]:
    dense = result["rounds"][0]["ticket"]
    return [{"ticket": dense}] + [{"ticket": level} for level in result["one_shot"]]


def _series(role: str, rounds: list[dict[str, Any]], label: str | None = None) -> PmSeries:
    name, colour, style = ROLE_STYLE[role]
    return PmSeries(rounds, role, label or name, colour, style)


def _sustained_crossing(pm, values, reference, below=True):
    """Largest Pm from which on (towards sparser levels) every mean is below ``reference`` (``below``) or
    at/above it (not ``below``): where a curve drops below, or returns to, the dense network for good.
    Single noisy dips at moderate sparsity do not count."""
    found = None
    for p, v in sorted(zip(pm, values)):            # sparsest first
        if not ((v < reference) if below else (v >= reference)):
            break
        found = float(p)
    return found


def _ticket_crossings(rounds: list[dict[str, Any]], dense_it: float, dense_acc: float) -> tuple[float | None, ...]:
    """(Pm from which the tickets, past their fastest level, need at least the dense net's early-stop
    iteration; Pm from which their accuracy stays below the dense net's): the papers' two thresholds, for
    iterative and one-shot pruning alike."""
    pm, it, _, _ = level_stats(rounds, "ticket", "early_stop_iteration")
    _, acc, _, _ = level_stats(rounds, "ticket", "early_stop_accuracy")
    fastest = int(np.argmin(it))
    return (_sustained_crossing(pm[fastest + 1:], it[fastest + 1:], dense_it, below=False),
            _sustained_crossing(pm[1:], acc[1:], dense_acc))


def mnist_claims(result: dict[str, Any]) -> dict[str, float | None]:
    """Our values of the quantities the papers state in their text (keys of papers.MNIST_CLAIMS)."""
    rounds = result["rounds"]
    dense_it = float(np.mean(rounds[0]["ticket"]["early_stop_iteration"]))
    dense_acc = float(np.mean(rounds[0]["ticket"]["early_stop_accuracy"]))
    out: dict[str, float | None] = {}
    out["ticket_returns_to_dense_speed_pm"], out["ticket_accuracy_drops_pm"] = \
        _ticket_crossings(rounds, dense_it, dense_acc)
    for role in ("reinit", "rewire"):
        rpm, racc, _, _ = level_stats(rounds, role, "early_stop_accuracy")
        out[f"{role}_accuracy_drops_pm"] = _sustained_crossing(rpm, racc, dense_acc) if len(rpm) else None

    def nearest(target: float) -> dict[str, Any]:
        """The level whose Pm is closest to ``target`` (the papers quote levels ours may not hit exactly)."""
        return min(rounds, key=lambda r: abs(level_pm(r) - target))

    at25 = nearest(25.0)
    out["ticket_vs_reinit_speed_25"] = (float(np.mean(at25["reinit"]["early_stop_iteration"]) /
                                        np.mean(at25["ticket"]["early_stop_iteration"])) if "reinit" in at25 else None)
    at21, at13 = nearest(21.1), nearest(13.5)
    out["ticket_speedup_21"] = dense_it / float(np.mean(at21["ticket"]["early_stop_iteration"]))
    out["ticket_accuracy_gain_13"] = 100 * (float(np.mean(at13["ticket"]["early_stop_accuracy"])) - dense_acc)
    out["one_shot_returns_to_dense_speed_pm"], out["one_shot_accuracy_drops_pm"] = \
        _ticket_crossings(_one_shot_rounds(result), dense_it, dense_acc)
    return {k: (round(v, 3) if v is not None else None) for k, v in out.items()}


def mnist_section(results: Path, figures: Path) -> Section | None:
    """LeNet-300-100: curves, Pm sweeps with controls, iterative vs one-shot, rewind vs Han, claims table."""
    path = results / "mnist" / "lenet.json"
    if not path.exists():
        return None
    result = read_json(path)
    config, rounds = result["config"], result["rounds"]
    panels = [CurvesPanel(rounds, ylim=(90, 100)), CurvesPanel(rounds, title="zoom", ylim=(96, 99.2), legend=False)]
    curves_figure(figures / "mnist_curves.png", panels, (12, 4.3),
                  "LeNet-300-100 winning tickets: test accuracy during training (replicates paper Fig. 3)")
    pm_figure(figures / "mnist_controls.png",
              [_series(role, rounds) for role in ("ticket", "reinit", "rewire", "random_mask") if role in rounds[-1]],
              PM_AXIS, "Iterative pruning: winning tickets vs controls (replicates paper Figs. 1 and 4; v1 §4)")
    pm_figure(figures / "mnist_oneshot.png",
              [_series("ticket", rounds, "iterative pruning"),
               _series("one_shot", [{"one_shot": r["ticket"]} for r in _one_shot_rounds(result)], "one-shot pruning")],
              PM_AXIS, "Iterative vs one-shot pruning (replicates paper Fig. 4 a/b vs c; v1 §4)")
    han = [_series("ticket", rounds, "rewind to init (lottery ticket)")]
    if "han" in rounds[-1]:
        han.append(_series("han", [{"han": r.get("han", r["ticket"])} for r in rounds]))
    pm_figure(figures / "mnist_han.png", han, PM_AXIS, "Rewinding vs Han et al.'s continued training (v1 §6)")

    claims = mnist_claims(result)
    rows, metrics = [], {}
    for key, (value, unit, source, says) in papers.MNIST_CLAIMS.items():
        measured = claims.get(key)
        rows.append([says, f"{value:g} {unit}" if value is not None else "–",
                     f"{measured:g} {unit}" if measured is not None else "not reached", source])
        metrics[key] = {"measured": measured, "paper": value}
    table = markdown_table(["quantity (paper's statement)", "paper", "ours", "source"], rows)

    level_rows = [[f"{level_pm(r):.1f}"] + [level_cell(r[role]) if role in r else "–"
                                            for role in ("ticket", "reinit", "rewire", "random_mask", "han")]
                  for r in rounds]
    levels = markdown_table(["Pm %", "ticket", "reinit", "rewiring", "random mask", "Han"], level_rows)
    diverged = diverged_count(rounds)
    reduced = result["profile"] != "paper"
    scale_note = (f"\n\n> **Reduced scale** (profile `{result['profile']}`): {config['iterations']} iterations per "
                  f"training instead of the paper's 50,000, {config['trials']} trials instead of 5, "
                  f"{config['reinit_per_ticket']} reinit control(s) per ticket instead of 3. Early-stop iterations "
                  "are therefore capped much lower than the paper's; compare shapes, not absolute iterations. "
                  "`profile: paper` runs the papers' settings." if reduced else "")
    text = f"""## MNIST LeNet-300-100: winning tickets and their controls (final paper Figs. 1, 3, 4; v1 §3, 4, 6)

{run_facts(result, f"; {config['trials']} trials; {config['iterations']} iterations at batch {config['batch_size']}")}{scale_note}

LeNet-300-100, {config['init']} init, {config['optimizer']} lr {config['lr']}; each round prunes
{100 * config['hidden_rate']:g}% of each hidden layer's and {100 * config['output_rate']:g}% of the output layer's
surviving weights by magnitude and rewinds the survivors to their initial values. Early stopping = the
iteration of minimum validation loss (5,000 held-out training images, evaluated every {config['eval_every']}
iterations); accuracy = test accuracy of the weights at that iteration. Points are means; bars span
min to max over trials (as in the papers). Diverged runs: {diverged}.

Controls at every level, trained in the same population as the tickets: **random reinit** (ticket's mask,
fresh weights from the same init distribution), **random rewiring** (every surviving connection moved to a
random position within its layer, keeping its initial value: the mask and the initial values are permuted
together), **random sparse mask** (same per-layer count, positions random, original init), and **Han et al.**
(prune the trained weights and keep training them; no rewind).

![test accuracy curves](figures/mnist_curves.png)

*Test accuracy over training for winning tickets at several Pm (mean, min–max band); replicates paper Fig. 3.*

![tickets vs controls](figures/mnist_controls.png)

*Early-stop iteration and accuracy vs Pm for tickets and controls; replicates paper Figs. 1 and 4 (a, b).*

![iterative vs one-shot](figures/mnist_oneshot.png)

*Iterative vs one-shot pruning; replicates paper Fig. 4 (c) and v1 §4.*

![rewind vs Han](figures/mnist_han.png)

*Rewinding to the initialisation vs Han et al.'s continued training (v1 §6, "weight resetting").*

**The papers' statements, measured** ("drops off at" = the largest Pm from which every sparser level's mean
accuracy is below the dense network's; "returns to dense speed at" = the largest Pm from which every sparser
level's mean early-stop iteration is at or above the dense network's):

{table}

**Every level** (early-stop iteration / test accuracy %, means over trials):

{levels}
"""
    return Section(text, metrics)
