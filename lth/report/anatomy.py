"""The anatomy of winning tickets (arXiv 1803.03635v1 §5): which initial values survive iterative pruning and
how the surviving connections spread over the units, from the ``anatomy`` stage's statistics."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from lth.report import anatomy_claims
from lth.report.common import Section, markdown_table, plt, read_json, save_figure
from lth.report.figures import figure_title, legend_below, run_scale
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.records import FAILS, HOLDS, Claim, Verdict
from lth.report.ledger.rules import at_most, exceeds
from lth.report.ledger.statistics import mean_tolerance
from lth.report.scale import RunConfig

LAYER_NAMES = ("first hidden layer", "second hidden layer", "output layer")
LAYER_COLOURS = ("tab:blue", "tab:orange", "tab:green")


def _layer_title(i: int, names: list[str]) -> str:
    return LAYER_NAMES[i] if len(names) == 3 else names[i]


def initialisations_figure(path: Path, stats: dict[str, Any], tag: str) -> None:
    """One panel per examined level: the density of the surviving weights' initial values per layer (v1 Fig. 10);
    ``tag``: whether it replicates v1's figure or illustrates it at a reduced scale."""
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
    legend_below(fig, axes[0][:1])
    figure_title(fig, f"Initial values of the weights that survive iterative pruning\n{tag}")
    save_figure(fig, path)


def connectivity_figure(path: Path, stats: dict[str, Any], tag: str) -> None:
    """One panel per layer: each unit's surviving incoming connections, sorted, one line per level (v1 Fig. 11);
    ``tag``: whether it replicates v1's figure or illustrates it at a reduced scale."""
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
    legend_below(fig, axes[0][:1])
    figure_title(fig, f"Surviving connections per unit\n{tag}")
    save_figure(fig, path)


def _figure_tags(results: Path, stats: dict[str, Any]) -> dict[str, str]:
    """Whether each figure replicates v1 §5's or illustrates it at a reduced scale: the scale of the
    ``mnist_v1`` run whose masks the statistics read (its profile only, when that run's results are missing)."""
    source = results / "mnist_v1" / "lenet.json"
    run = read_json(source) if source.exists() else {"profile": stats["profile"], "config": {}}
    scale = run_scale([run])
    return {kind: scale.tag(f"v1 §5's {kind} figure") for kind in ("initialisations", "architecture")}


def anatomy_verdicts(stats: dict[str, Any]) -> list[Verdict]:
    """v1 §5's statements on the sparsest examined levels, with tolerances from the trial spread."""
    claims = {c.key: c for c in anatomy_claims.CLAIMS}
    names = stats["layers"]
    sparsest = min(stats["initialisations"], key=lambda lv: lv["pm"])
    first = sparsest["layers"][names[0]]
    mean, tol = mean_tolerance([100 * v for v in first["beyond_1sd_trials"] if v is not None], "trial")
    out = [exceeds(claims["v1_tails_survive"], mean, tol, "the surviving initial values are not significantly more "
                   f"concentrated in the tails (Pm {sparsest['pm']:.1f}%)")]
    cut = min(stats["connectivity"], key=lambda lv: lv["pm"])
    hidden = names[:-1]
    units = sum(cut["layers"][n]["units"] for n in hidden)
    per_trial = [100 * sum(v) / units for v in zip(*(cut["layers"][n]["no_incoming_trials"] for n in hidden))]
    mean, tol = mean_tolerance(per_trial, "trial")
    out.append(at_most(claims["v1_few_units_cut_off"], mean, tol,
                       f"most hidden units are cut off entirely (Pm {cut['pm']:.1f}%)"))
    out.append(_proportional_verdict(claims["v1_connections_proportional"], cut["layers"][names[0]], cut["pm"]))
    return out


def _proportional_verdict(claim: Claim, layer: dict[str, Any], pm: float) -> Verdict:
    """Connections fall nearly in proportion to the pruning rate: the median unit of the first hidden layer keeps
    a share of its fan-in close to the layer's share of weights (1 = proportional). 'Nearly' is read as within a
    factor of 2 either side: a chosen band, not a spread."""
    incoming = np.asarray(layer["incoming_sorted"], dtype=float)
    density = incoming.sum() / (layer["units"] * layer["fan_in"])
    ratio = float(np.median(incoming) / layer["fan_in"] / density)
    inside = 0.5 <= ratio <= 2.0
    margin = min(math.log(ratio / 0.5), math.log(2.0 / ratio)) / math.log(2.0) if ratio > 0 else -math.inf
    return Verdict(claim, HOLDS if inside else FAILS, ratio, 2.0,
                   "a chosen band for 'nearly': a factor of 2 either side (margin: distance to its nearer end, in "
                   "factors of 2)", "" if inside else f"the median unit's share of its fan-in is x{ratio:.2f} the "
                   f"layer's (Pm {pm:.1f}%)", "mean of the trials", margin)


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
    tags = _figure_tags(results, stats)
    initialisations_figure(figures / "anatomy_initialisations.png", stats, tags["initialisations"])
    connectivity_figure(figures / "anatomy_connectivity.png", stats, tags["architecture"])
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
of each layer's SD of all its initial weights); {tags['initialisations']}.*

![connections per unit](figures/anatomy_connectivity.png)

*Surviving incoming connections of every unit, sorted in descending order (mean over trials rank by rank);
{tags['architecture']}.*

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
