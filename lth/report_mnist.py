"""MNIST LeNet-300-100 section of the report: the papers' Figures 1, 3, 4 (and v1 §3, 4, 6) from results."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from lth import paper
from lth.report import Section, markdown_table, read_json, run_facts

ROLE_STYLE = {"ticket": ("winning ticket (rewind to init)", "tab:blue", "-"),
              "reinit": ("random reinit", "tab:orange", "--"),
              "rewire": ("random rewiring", "tab:green", "--"),
              "random_mask": ("random sparse mask", "tab:red", ":"),
              "han": ("Han et al.: prune, continue training", "tab:purple", "-."),
              "one_shot": ("one-shot ticket", "tab:brown", "-")}


def level_stats(rounds: list[dict[str, Any]], role: str, metric: str) -> tuple[np.ndarray, ...]:
    """(Pm %, mean, min, max) of ``metric`` over the members of ``role`` at every level that has it."""
    rows = [(100 * r[role]["pm"][0], np.mean(r[role][metric]), np.min(r[role][metric]), np.max(r[role][metric]))
            for r in rounds if role in r]
    return tuple(np.array(col) for col in zip(*rows)) if rows else tuple(np.array([]) for _ in range(4))


def _one_shot_rounds(result: dict[str, Any]) -> list[dict[str, Any]]:
    dense = result["rounds"][0]["ticket"]
    return [{"ticket": dense}] + [{"ticket": level} for level in result["one_shot"]]


def _errorbars(ax, x, mean, low, high, role, label=None):
    name, colour, style = ROLE_STYLE[role]
    ax.errorbar(x, mean, yerr=[mean - low, high - mean], color=colour, linestyle=style, marker="o",
                markersize=3, capsize=2, label=label or name)


def pm_figure(path: Path, series: list[tuple[str, list[dict[str, Any]], str]], title: str) -> None:
    """Early-stop iteration and test accuracy at early stop vs Pm (log x, decreasing), min/max bars."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    for role, rounds, label in series:
        pm, *it = level_stats(rounds, role, "early_stop_iteration")
        if len(pm):
            _errorbars(axes[0], pm, *it, role if role in ROLE_STYLE else "ticket", label)
            _, *acc = level_stats(rounds, role, "early_stop_accuracy")
            _errorbars(axes[1], pm, *(100 * a for a in acc), role if role in ROLE_STYLE else "ticket", label)
    for ax, ylabel in zip(axes, ("early-stop iteration (min. validation loss)", "test accuracy at early stop (%)")):
        ax.set_xscale("log")
        ax.set_xlim(110, 1.2)
        ax.set_xticks([100, 51.3, 21.1, 7.0, 3.6, 1.9])
        ax.get_xaxis().set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("percent of weights remaining (Pm)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, which="both")
    axes[1].legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def curves_figure(path: Path, result: dict[str, Any]) -> None:
    """Test accuracy over training for tickets at the recorded Pm levels (paper Fig. 3)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    colours = plt.cm.viridis(np.linspace(0, 0.9, sum("curves" in r for r in result["rounds"])))
    index = 0
    for r in result["rounds"]:
        if "curves" not in r:
            continue
        its = np.array(r["curves"]["iterations"])
        acc = 100 * np.array(r["curves"]["test_accuracy"])
        label = f"Pm {100 * r['ticket']['pm'][0]:.1f}%"
        for ax in axes:
            ax.plot(its, acc.mean(0), color=colours[index], label=label)
            ax.fill_between(its, acc.min(0), acc.max(0), color=colours[index], alpha=0.2)
        index += 1
    axes[0].set_ylim(90, 100)
    axes[1].set_ylim(96, 99.2)
    axes[1].set_title("zoom")
    for ax in axes:
        ax.set_xlabel("training iteration")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("LeNet-300-100 winning tickets: test accuracy during training (replicates paper Fig. 3)",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


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


def mnist_claims(result: dict[str, Any]) -> dict[str, float | None]:
    """Our values of the quantities the papers state in their text (keys of paper.MNIST_CLAIMS)."""
    rounds = result["rounds"]
    dense_it = float(np.mean(rounds[0]["ticket"]["early_stop_iteration"]))
    dense_acc = float(np.mean(rounds[0]["ticket"]["early_stop_accuracy"]))
    pm, it, _, _ = level_stats(rounds, "ticket", "early_stop_iteration")
    _, acc, _, _ = level_stats(rounds, "ticket", "early_stop_accuracy")
    fastest = int(np.argmin(it))
    out: dict[str, float | None] = {}
    out["ticket_returns_to_dense_speed_pm"] = _sustained_crossing(pm[fastest + 1:], it[fastest + 1:], dense_it, below=False)
    out["ticket_accuracy_drops_pm"] = _sustained_crossing(pm[1:], acc[1:], dense_acc)
    for role in ("reinit", "rewire"):
        rpm, racc, _, _ = level_stats(rounds, role, "early_stop_accuracy")
        out[f"{role}_accuracy_drops_pm"] = _sustained_crossing(rpm, racc, dense_acc) if len(rpm) else None

    def nearest(target: float) -> dict[str, Any]:
        return min(rounds, key=lambda r: abs(100 * r["ticket"]["pm"][0] - target))

    at25 = nearest(25.0)
    out["ticket_vs_reinit_speed_25"] = (float(np.mean(at25["reinit"]["early_stop_iteration"]) /
                                        np.mean(at25["ticket"]["early_stop_iteration"])) if "reinit" in at25 else None)
    at21, at13 = nearest(21.1), nearest(13.5)
    out["ticket_speedup_21"] = dense_it / float(np.mean(at21["ticket"]["early_stop_iteration"]))
    out["ticket_accuracy_gain_13"] = 100 * (float(np.mean(at13["ticket"]["early_stop_accuracy"])) - dense_acc)
    opm, oit, _, _ = level_stats(_one_shot_rounds(result), "ticket", "early_stop_iteration")
    _, oacc, _, _ = level_stats(_one_shot_rounds(result), "ticket", "early_stop_accuracy")
    ofast = int(np.argmin(oit))
    out["one_shot_returns_to_dense_speed_pm"] = _sustained_crossing(opm[ofast + 1:], oit[ofast + 1:], dense_it, below=False)
    out["one_shot_accuracy_drops_pm"] = _sustained_crossing(opm[1:], oacc[1:], dense_acc)
    return {k: (round(v, 3) if v is not None else None) for k, v in out.items()}


def mnist_section(results: Path, figures: Path) -> Section | None:
    """LeNet-300-100: curves, Pm sweeps with controls, iterative vs one-shot, rewind vs Han, claims table."""
    path = results / "mnist" / "lenet.json"
    if not path.exists():
        return None
    result = read_json(path)
    config, rounds = result["config"], result["rounds"]
    curves_figure(figures / "mnist_curves.png", result)
    pm_figure(figures / "mnist_controls.png",
              [(role, rounds, None) for role in ("ticket", "reinit", "rewire", "random_mask") if role in rounds[-1]],
              "Iterative pruning: winning tickets vs controls (replicates paper Figs. 1 and 4; v1 §4)")
    pm_figure(figures / "mnist_oneshot.png",
              [("ticket", rounds, "iterative pruning"), ("one_shot", [{"one_shot": r["ticket"]} for r in
                                                                       _one_shot_rounds(result)], "one-shot pruning")],
              "Iterative vs one-shot pruning (replicates paper Fig. 4 a/b vs c; v1 §4)")
    han = [("ticket", rounds, "rewind to init (lottery ticket)")]
    if "han" in rounds[-1]:
        han.append(("han", [{"han": r.get("han", r["ticket"])} for r in rounds], None))
    pm_figure(figures / "mnist_han.png", han, "Rewinding vs Han et al.'s continued training (v1 §6)")

    claims = mnist_claims(result)
    rows, metrics = [], {}
    for key, (value, unit, source, says) in paper.MNIST_CLAIMS.items():
        measured = claims.get(key)
        rows.append([says, f"{value:g} {unit}" if value is not None else "–",
                     f"{measured:g} {unit}" if measured is not None else "not reached", source])
        metrics[key] = {"measured": measured, "paper": value}
    table = markdown_table(["quantity (paper's statement)", "paper", "ours", "source"], rows)

    level_rows = []
    for r in rounds:
        row = [f"{100 * r['ticket']['pm'][0]:.1f}"]
        for role in ("ticket", "reinit", "rewire", "random_mask", "han"):
            if role in r:
                row.append(f"{np.mean(r[role]['early_stop_iteration']):.0f} / "
                           f"{100 * np.mean(r[role]['early_stop_accuracy']):.2f}")
            else:
                row.append("–")
        level_rows.append(row)
    levels = markdown_table(["Pm %", "ticket", "reinit", "rewiring", "random mask", "Han"], level_rows)
    diverged = sum(sum(r[role]["diverged"]) for r in rounds for role in r if isinstance(r[role], dict)
                   and "diverged" in r[role])
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
