"""Layerwise importance (Vandersmissen & Oramas) on LeNet-300-100: accuracy vs Pm of IMP with global pruning by
each importance value, the overlap of the tickets they find, and the seed's statements tested on this run."""
from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from lth.report import importance_claims
from lth.report.common import Section, markdown_table, plt, read_json, run_facts, save_figure
from lth.report.figures import PmAxis, PmSeries, figure_title, pm_figure
from lth.report.findings import mean_accuracy
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.records import Claim, Verdict
from lth.report.ledger.rules import at_least, at_most, unless_reduced, untestable
from lth.report.ledger.statistics import Spread, difference, mean_tolerance
from lth.report.net_studies import (COLORS, CONV_NETS, NET_TITLES, claims_for, compare, conv_reduced,
                                    figure_name, not_run_note, study_scale, variants_spread)
from lth.report.scale import RunConfig

METRICS_DEFINED = {
    "magnitude": "|w|, pooled over all layers (global magnitude pruning, the seed's baseline)",
    "layerwise": "the percentile of |w| among its layer's surviving weights: pooled, it prunes the same "
                 "fraction of every layer (layerwise magnitude pruning at one rate)",
    "mean_normalized": "|w| / the mean |w| of its layer's surviving weights",
    "std_normalized": "|w| / the standard deviation of its layer's surviving weights",
    "l1_normalized": "|w| / the sum of |w| over its layer's surviving weights (the mean-normalised value divided by "
                     "the layer's size)",
}


def metric_rounds(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The rounds as the Pm figures read them: round 0's dense nets (one per trial) stand for every metric,
    and the first metric's members are also ``ticket`` (for Pm)."""
    metrics = result["config"]["metrics"]
    out = []
    for r in result["rounds"]:
        if "dense" in r:
            r = {**r, **{m: r["dense"] for m in metrics}}
        out.append({**r, "ticket": r[metrics[0]]})
    return out


def overlap_parts(result: dict[str, Any], round_index: int) -> dict[str, Any]:
    """At one round: per trial the IoU of every pair of distinct metrics, per metric the IoU of its tickets of
    every pair of trials, and per trial the IoU of the repeated metric with its repeat."""
    labels = result["members"]
    matrix = np.array(result["rounds"][round_index]["overlap"])
    config = result["config"]
    position = {label: i for i, label in enumerate(labels)}
    trials = range(config["trials"])
    between_metrics = {t: [matrix[position[f"{a} t{t}"], position[f"{b} t{t}"]]
                           for a, b in itertools.combinations(config["metrics"], 2)] for t in trials}
    between_trials = [matrix[position[f"{m} t{s}"], position[f"{m} t{t}"]]
                      for m in config["metrics"] for s, t in itertools.combinations(trials, 2)]
    repeat = config["repeat_metric"]
    repeats = [matrix[position[f"{repeat} t{t}"], position[f"{repeat} (repeat) t{t}"]] for t in trials]
    return {"between_metrics": between_metrics, "between_trials": between_trials, "repeats": repeats,
            "matrix": matrix, "labels": labels}


def importance_verdicts(result: dict[str, Any], net: str = "lenet") -> list[Verdict]:
    """The seed's statements on one net's run: little overlap between metrics, every metric performant, tickets
    as accurate as the dense net."""
    claims = {c.key.removesuffix(f"_{net}"): c for c in claims_for(importance_claims.CLAIMS, net).values()}
    out = [_overlap_verdict(claims["vo_little_overlap"], result)]
    rounds = metric_rounds(result)
    others = [m for m in result["config"]["metrics"] if m != "magnitude"]
    if "magnitude" not in result["config"]["metrics"] or not others:
        out += [untestable(claims[k], "needs global magnitude and another metric") for k in
                ("vo_performant", "vo_match_dense")]
        return out
    spread = variants_spread(rounds[1:], result["config"]["metrics"])
    metric, gap, tol = min(((m, *compare(rounds[1:], m, "magnitude", spread)) for m in others),
                           key=lambda item: item[1])
    out.append(at_least(claims["vo_performant"], gap, tol,
                        f"{metric} (the worst metric) is significantly less accurate than global magnitude"))
    out.append(_versus_dense(claims["vo_match_dense"], rounds))
    return out if net == "lenet" else unless_reduced(out, conv_reduced(result["config"]))


def _overlap_verdict(claim: Claim, result: dict[str, Any]) -> Verdict:
    """Little overlap: the metrics' tickets closer to unrelated (0) than to identical (1), 0.5 being a chosen
    threshold, with the t tolerance of the mean over trials."""
    parts = overlap_parts(result, len(result["rounds"]) - 1)
    unrelated = float(np.mean(parts["between_trials"])) if parts["between_trials"] else float("nan")
    if not np.isfinite(unrelated) or len(result["config"]["metrics"]) < 2:
        return untestable(claim, "needs two metrics and two trials")
    excess = [(np.mean(v) - unrelated) / (1 - unrelated) for v in parts["between_metrics"].values()]
    mean, tol = mean_tolerance(excess, "trial")
    between = float(np.mean(list(parts["between_metrics"].values())))
    tol = replace(tol, how=f"{tol.how}; IoU between metrics {between:.3f}, between trials {unrelated:.3f}")
    return at_most(claim, mean, tol, "the metrics' tickets overlap more than halfway to identical (0.5: a chosen "
                   "threshold)")


def _versus_dense(claim: Claim, rounds: list[dict[str, Any]]) -> Verdict:
    """Global-magnitude tickets against the dense net: mean test accuracy at early stop over the pruned levels
    and trials minus the dense net's, with the tickets' spread pooled within levels and the dense net's own."""
    tickets = [list(100 * np.asarray(r["magnitude"]["early_stop_accuracy"], dtype=float)) for r in rounds[1:]]
    dense = list(100 * np.asarray(rounds[0]["magnitude"]["early_stop_accuracy"], dtype=float))
    gap = float(np.mean([a for t in tickets for a in t]) - np.mean(dense))
    tol = difference(Spread.of(tickets, f"magnitude tickets pooled within {len(tickets)} levels"),
                     sum(len(t) for t in tickets), Spread.of([dense], "the dense net's own trials"), len(dense))
    return at_least(claim, gap, tol, "the tickets are significantly less accurate than the dense net")


SOURCES = {"metrics": "the seed's accuracy-vs-sparsity comparison", "overlap": "the seed's overlap comparison"}


def _tags(r: dict[str, Any], net: str) -> dict[str, str]:
    """Whether each figure of one net's run replicates the seed's comparison or illustrates it (reduced)."""
    scale = study_scale(r, net, len(r["rounds"]))
    return {kind: scale.tag(source) for kind, source in SOURCES.items()}


def overlap_figure(path: Path, parts: dict[str, Any], pm: float, net_title: str, tag: str) -> None:
    """The IoU matrix of every member's ticket at one level (the seed's overlap matrix) of ``net_title``'s run;
    ``tag``: whether it replicates the seed's or illustrates it at a reduced scale."""
    matrix, labels = parts["matrix"], parts["labels"]
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(labels), 0.6 + 0.5 * len(labels)))
    image = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
    for i, j in itertools.product(range(len(labels)), repeat=2):
        ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=6,
                color="k" if matrix[i, j] > 0.6 else "w")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    fig.colorbar(image, ax=ax, label="intersection over union of surviving weights")
    figure_title(fig, f"Ticket overlap at Pm {pm:.1f}% ({net_title}, global pruning by each metric)\n{tag}",
                 fontsize=9)
    save_figure(fig, path)


def net_figures(r: dict[str, Any], net: str, figures: Path) -> tuple[float, str]:
    """Draw one net's accuracy-vs-Pm and overlap figures; return the sparsest Pm and the per-round table."""
    c, rounds, tags = r["config"], metric_rounds(r), _tags(r, net)
    series = [PmSeries(rounds, m, m, COLORS[i], "-" if m == "magnitude" else "--")
              for i, m in enumerate(c["metrics"])]
    pm_figure(figures / figure_name("importance", net, "metrics"), series,
              PmAxis("percent of weights remaining (Pm)", minor_ticks=False),
              f"Vandersmissen & Oramas: IMP with global pruning by each importance value ({NET_TITLES[net]})"
              f"\n{tags['metrics']}")
    last = len(r["rounds"]) - 1
    last_pm = 100 * rounds[last]["ticket"]["pm"][0]
    overlap_figure(figures / figure_name("importance", net, "overlap"), overlap_parts(r, last), last_pm,
                   NET_TITLES[net], tags["overlap"])
    rows = []
    for i in range(1, len(r["rounds"])):
        parts = overlap_parts(r, i)
        rows.append([f"{100 * rounds[i]['ticket']['pm'][0]:.1f}%",
                     f"{np.mean([v for vs in parts['between_metrics'].values() for v in vs]):.3f}",
                     f"{np.mean(parts['between_trials']):.3f}" if parts["between_trials"] else "–",
                     ", ".join(f"{v:.3f}" for v in parts["repeats"])]
                    + [f"{100 * np.mean(rounds[i][m]['early_stop_accuracy']):.2f}" for m in c["metrics"]])
    table = markdown_table(["Pm", "IoU between metrics (same trial)", "IoU between trials (same metric)",
                            f"IoU {c['repeat_metric']} vs its repeat"] + [f"{m} acc. %" for m in c["metrics"]], rows)
    return last_pm, table


def conv_part(r: dict[str, Any], net: str, figures: Path) -> tuple[str, list[Verdict]]:
    """One conv net's subsection: its figures, the per-round table and its statements."""
    c = r["config"]
    _, table = net_figures(r, net, figures)
    verdicts = importance_verdicts(r, net)
    facts = (f"; {c['trials']} trials; width {c['conv_width']:g}, "
             + (f"the first {c['conv_train_examples']:,} training images" if c["conv_train_examples"] else
                "all training images"))
    text = (f"\n### {NET_TITLES[net]}\n\n{run_facts(r, facts)}\n\n"
            f"![importance metrics](figures/{figure_name('importance', net, 'metrics')})\n\n"
            f"![ticket overlap](figures/{figure_name('importance', net, 'overlap')})\n\n*The same metrics on "
            f"{NET_TITLES[net]} (the final paper's rate and length for this net); {_tags(r, net)['metrics']}.*"
            f"\n\n{table}\n\n"
            f"**The seed's statements on {NET_TITLES[net]}:**\n\n{ledger_table(verdicts)}\n")
    return text, verdicts


def _facts(c: dict[str, Any]) -> str:
    """The LeNet run's facts: trials, training length and stopping, the global pruning rate and depth."""
    stop = f", stopped {c['patience']} after the best" if c.get("patience") else ""
    return (f"; {c['trials']} trials; at most {c['iterations']} iterations at batch {c['batch_size']}, evaluated "
            f"every {c['eval_every']}{stop}; {100 * c['global_rate']:g}% of all surviving weights pruned per round, "
            f"down to Pm {100 * c['min_remaining']:g}%")


def importance_finding(r: dict[str, Any]) -> str:
    """At the last round: how much the tickets of different importance values overlap against unrelated
    tickets, and the range of their accuracies."""
    parts, last = overlap_parts(r, len(r["rounds"]) - 1), metric_rounds(r)[-1]
    between = np.mean([v for values in parts["between_metrics"].values() for v in values])
    accuracies = [mean_accuracy(last[m]) for m in r["config"]["metrics"]]
    text = (f"at Pm {100 * last['ticket']['pm'][0]:.1f}% the tickets of different importance values overlap "
            f"IoU {between:.2f}")
    if parts["between_trials"]:
        text += f" (unrelated tickets {np.mean(parts['between_trials']):.2f})"
    return text + f"; their accuracies {min(accuracies):.2f}–{max(accuracies):.2f}%"


def importance_section(results: Path, figures: Path) -> Section | None:
    """The layerwise-importance section (None when the importance stage has not run)."""
    path = results / "importance" / "lenet.json"
    if not path.exists():
        return None
    r = read_json(path)
    c, scale = r["config"], [RunConfig("LeNet-300-100 and the conv nets", "importance", r["config"])]
    (last_pm, table), tags = net_figures(r, "lenet", figures), _tags(r, "lenet")
    verdicts = importance_verdicts(r)
    not_run = not_run_note(results, "importance", c["nets"])
    facts, metric_rows = _facts(c), [[m, METRICS_DEFINED.get(m, "").replace("|", "\\|")] for m in c["metrics"]]
    text = f"""## Layerwise importance (Vandersmissen & Oramas): different importance values, different tickets

{run_facts(r, facts)}

IMP with rewinding on LeNet-300-100 (the final paper's setup), pruning **globally** by an importance value
that depends on the other surviving weights of the weight's layer. The seed leaves the values' definitions
open; ours (`importance.metrics` in `params.yaml` chooses the set, `lth/core/criteria.py` defines them):

{markdown_table(["metric", "importance of a weight w"], metric_rows)}

A repeatable training procedure, as the seed asks: within a trial every metric starts from the same initial
weights and sees the same batches, so its tickets differ from the others' only through the importance value;
`{c['repeat_metric']}` is trained twice per trial (its two tickets must be identical), and the trials differ
in both init and batches (the overlap of unrelated tickets).

![importance metrics](figures/importance_metrics.png)

*Early-stop iteration and test accuracy at early stop vs Pm for IMP by each importance value;
{tags['metrics']}.*

![ticket overlap](figures/importance_overlap.png)

*Intersection over union of the surviving weights of every pair of tickets at Pm {last_pm:.1f}% (rows: metric,
trial); {tags['overlap']}.*

{table}

{not_run}Not built: ResNet-20 (the seed's "if the budget allows").

**The seed's statements, on this run:**

{ledger_table(verdicts)}
"""
    for net in CONV_NETS:
        if (results / "importance" / f"{net}.json").exists():
            part, net_verdicts = conv_part(read_json(results / "importance" / f"{net}.json"), net, figures)
            text += part
            verdicts += net_verdicts
    return Section(text, verdicts, r["profile"], importance_claims.HEADLINE, scale=scale, finding=importance_finding(r))
