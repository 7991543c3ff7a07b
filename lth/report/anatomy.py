"""The anatomy of winning tickets (arXiv 1803.03635v1 §5): which initial values survive iterative pruning and
how the surviving connections spread over the units, from the ``anatomy`` stage's statistics."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from lth.report import anatomy_claims
from lth.report.common import Section, markdown_table, plt, read_json, save_figure
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.records import Verdict
from lth.report.ledger.rules import at_most, exceeds
from lth.report.scale import RunConfig

LAYER_NAMES = ("first hidden layer", "second hidden layer", "output layer")
LAYER_COLOURS = ("tab:blue", "tab:orange", "tab:green")


def _layer_title(i: int, names: list[str]) -> str:
    return LAYER_NAMES[i] if len(names) == 3 else names[i]


def initialisations_figure(path: Path, stats: dict[str, Any]) -> None:
    """One panel per examined level: the density of the surviving weights' initial values per layer (v1 Fig. 10)."""
    levels, names = stats["initialisations"], stats["layers"]
    fig, axes = plt.subplots(1, len(levels), figsize=(3.2 * len(levels), 3.4), squeeze=False, sharey=True)
    for ax, level in zip(axes[0], levels):
        for i, name in enumerate(names):
            layer = level["layers"][name]
            edges, counts = np.array(layer["edges"]), np.array(layer["counts"], dtype=float)
            density = counts / max(counts.sum(), 1) / np.diff(edges)
            ax.step(edges[:-1], density, where="post", color=LAYER_COLOURS[i % 3], label=_layer_title(i, names))
        ax.set_title(f"Pm {level['pm']:.1f}% (round {level['round']})", fontsize=10)
        ax.set_xlabel("initial value / layer's init SD")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("density of surviving weights")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Initial values of the weights that survive iterative pruning (replicates v1 §5, initialisations)",
                 fontsize=11)
    save_figure(fig, path)


def connectivity_figure(path: Path, stats: dict[str, Any]) -> None:
    """One panel per layer: each unit's surviving incoming connections, sorted, one line per level (v1 Fig. 11)."""
    levels, names = stats["connectivity"], stats["layers"]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    colours = plt.cm.viridis(np.linspace(0, 0.85, max(1, len(levels))))
    for i, (ax, name) in enumerate(zip(axes[0], names)):
        for colour, level in zip(colours, levels):
            counts = level["layers"][name]["incoming_sorted"]
            ax.plot(range(1, len(counts) + 1), counts, color=colour, label=f"Pm {level['pm']:.1f}%")
        ax.set_title(_layer_title(i, names), fontsize=10)
        ax.set_xlabel("unit (sorted by surviving connections)")
        ax.set_ylabel("surviving incoming connections")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Surviving connections per unit (replicates v1 §5, architecture)", fontsize=11)
    save_figure(fig, path)


def _trial_tolerance(values: list[float]) -> tuple[float, str]:
    """2 SE of a mean over trials (0 with one trial, said so)."""
    if len(values) < 2:
        return 0.0, "one trial: no spread to derive a tolerance from"
    sd = float(np.std(values, ddof=1))
    return 2 * sd / math.sqrt(len(values)), f"2 SE of the mean over {len(values)} trials (SD {sd:.2f})"


def anatomy_verdicts(stats: dict[str, Any]) -> list[Verdict]:
    """v1 §5's two statements on the sparsest examined levels, with tolerances from the trial spread."""
    claims = {c.key: c for c in anatomy_claims.CLAIMS}
    names = stats["layers"]
    sparsest = min(stats["initialisations"], key=lambda lv: lv["pm"])
    first = sparsest["layers"][names[0]]
    trials = [100 * v for v in first["beyond_1sd_trials"] if v is not None]
    tol, how = _trial_tolerance(trials)
    out = [exceeds(claims["v1_tails_survive"], 100 * first["beyond_1sd"], tol, how + f"; at Pm {sparsest['pm']:.1f}%",
                   "the surviving initial values are not significantly more concentrated in the tails")]
    cut = min(stats["connectivity"], key=lambda lv: lv["pm"])
    hidden = names[:-1]
    units = sum(cut["layers"][n]["units"] for n in hidden)
    per_trial = [100 * sum(v) / units for v in zip(*(cut["layers"][n]["no_incoming_trials"] for n in hidden))]
    tol, how = _trial_tolerance(per_trial)
    out.append(at_most(claims["v1_few_units_cut_off"], float(np.mean(per_trial)), tol,
                       how + f"; at Pm {cut['pm']:.1f}%", "most hidden units are cut off entirely"))
    return out


def anatomy_finding(stats: dict[str, Any]) -> str:
    """How many of the first layer's survivors started beyond one SD of the init, at the sparsest examined
    level against the unpruned net."""
    first_layer = stats["layers"][0]
    levels = [(lv["pm"], 100 * lv["layers"][first_layer]["beyond_1sd"]) for lv in stats["initialisations"]]
    (dense_pm, dense), (pm, sparse) = max(levels), min(levels)
    return (f"at Pm {pm:.1f}%, {sparse:.1f}% of the {_layer_title(0, stats['layers'])}'s surviving weights started "
            f"beyond one SD of the init ({dense:.1f}% at Pm {dense_pm:.0f}%)")


def anatomy_runs(results: Path, stats: dict[str, Any]) -> list[RunConfig]:
    """The anatomy stage's config and that of the mnist_v1 run whose tickets it reads."""
    tickets = results / "mnist_v1" / "lenet.json"
    return [RunConfig("anatomy", "anatomy", stats["config"])] + (
        [RunConfig("the mnist_v1 run's tickets", "mnist_v1", read_json(tickets)["config"])] if tickets.exists() else [])


def anatomy_section(results: Path, figures: Path) -> Section | None:
    """Figures of v1 §5 (surviving initialisations, connections per unit), their numbers and two claims."""
    path = results / "mnist_v1" / "anatomy.json"
    if not path.exists():
        return None
    stats = read_json(path)
    names = stats["layers"]
    initialisations_figure(figures / "anatomy_initialisations.png", stats)
    connectivity_figure(figures / "anatomy_connectivity.png", stats)
    verdicts = anatomy_verdicts(stats)
    init_rows = [[f"{lv['pm']:.1f}", _layer_title(i, names), f"{100 * lv['layers'][n]['remaining']:.1f}",
                  f"{100 * lv['layers'][n]['beyond_1sd']:.1f}", f"{100 * lv['layers'][n]['within_half_sd']:.1f}"]
                 for lv in stats["initialisations"] for i, n in enumerate(names)]
    conn_rows = [[f"{lv['pm']:.1f}", _layer_title(i, names), f"{lv['layers'][n]['units']}",
                  f"{np.mean(lv['layers'][n]['incoming_sorted']):.1f} of {lv['layers'][n]['fan_in']}",
                  f"{lv['layers'][n]['incoming_sorted'][0]:.0f}", f"{lv['layers'][n]['no_incoming']:g}",
                  f"{lv['layers'][n]['no_outgoing']:g}" if "no_outgoing" in lv["layers"][n] else "–"]
                 for lv in stats["connectivity"] for i, n in enumerate(names)]
    text = f"""## Anatomy of winning tickets (v1 §5)

*Profile `{stats['profile']}`: the masks and initial weights of the `mnist_v1` run's iterative tickets (every
trial pooled); the `anatomy` stage trains nothing.*

![surviving initialisations](figures/anatomy_initialisations.png)

*Distribution of the initial values of the weights that survive, per layer, at several levels (values in units
of each layer's SD of all its initial weights); replicates v1 §5's initialisation figure.*

![connections per unit](figures/anatomy_connectivity.png)

*Surviving incoming connections of every unit, sorted in descending order (mean over trials rank by rank);
replicates v1 §5's architecture figure.*

{ledger_table(verdicts)}

**Surviving initial values** (% of the layer's weights remaining; % of survivors beyond one SD — 31.7% for an
untouched normal init — and within half an SD — 38.3%):

{markdown_table(["Pm %", "layer", "remaining %", "beyond 1 SD %", "within 0.5 SD %"], init_rows)}

**Connections per unit** (units cut off: no surviving incoming, or for hidden units no surviving outgoing,
connection; means over trials):

{markdown_table(["Pm %", "layer", "units", "mean incoming", "most", "no incoming", "no outgoing"], conn_rows)}
"""
    return Section(text, verdicts, stats["profile"], anatomy_claims.HEADLINE, scale=anatomy_runs(results, stats),
                   finding=anatomy_finding(stats))
