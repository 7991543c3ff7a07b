"""Lottery tickets in a small transformer (seed 004's open questions): test accuracy against Pm of IMP tickets
rewound to init and to an early iteration, against random reinitialisation and random masks, from the
``transformer_tickets`` stage."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lth.report import transformer_tickets_claims as transformer_claims
from lth.report.common import Section, markdown_table, read_json, run_facts
from lth.report.figures import PmAxis, PmSeries, pm_figure
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.records import FAILS, HOLDS, UNTESTABLE, Verdict
from lth.report.ledger.rules import at_least, exceeds, untestable
from lth.report.ledger.statistics import Spread, difference
from lth.report.scale import RunConfig

STYLES = ("tab:blue", "tab:green", "tab:purple", "tab:brown")


def _accuracies(levels: list[dict[str, Any]], role: str) -> list[list[float]]:
    """Per level, every trial's test accuracy at early stop (%) of ``role``."""
    return [[100 * a for a in lv[role]["early_stop_accuracy"]] for lv in levels if role in lv]


def pooled_gap(a: list[list[float]], b: list[list[float]], what: str) -> tuple[float, Any]:
    """Mean of ``a`` minus mean of ``b`` over all their levels and trials, with the Welch tolerance of the two
    sides' spreads pooled within levels."""
    flat_a, flat_b = [v for level in a for v in level], [v for level in b for v in level]
    tol = difference(Spread.of(a, f"{what}: first side pooled within {len(a)} levels"), len(flat_a),
                     Spread.of(b, f"{what}: second side pooled within {len(b)} levels"), len(flat_b))
    return float(np.mean(flat_a) - np.mean(flat_b)), tol


def global_runs(result: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """The globally pruned lotteries by rewinding point (the statements' runs)."""
    return {run["rewind_iteration"]: run["rounds"] for run in result["runs"]
            if run.get("pruning", "global") == "global"}


def _run_label(run: dict[str, Any]) -> str:
    return f"k = {run['rewind_iteration']}" + (", per layer" if run.get("pruning") == "layerwise" else "")


def transformer_verdicts(result: dict[str, Any]) -> list[Verdict]:
    """Tickets vs reinit at k = 0; late vs init rewinding at the sparser levels; matching at 40% sparsity."""
    claims = {c.key: c for c in transformer_claims.CLAIMS}
    runs = global_runs(result)
    out = []
    if 0 in runs and any("reinit" in lv for lv in runs[0]):
        value, tol = pooled_gap(_accuracies(runs[0][1:], "ticket"), _accuracies(runs[0][1:], "reinit"),
                                "k = 0 tickets vs reinit")
        out.append(exceeds(claims["tf_tickets_beat_reinit"], value, tol, "tickets rewound to init are not "
                           "significantly more accurate than random reinits"))
    else:
        out.append(untestable(claims["tf_tickets_beat_reinit"], "needs rewinding to init with reinit controls"))
    late = max(runs)
    if 0 in runs and late > 0 and len(runs[0]) > 1:
        sparse = slice(1 + (len(runs[0]) - 1) // 2, None)
        value, tol = pooled_gap(_accuracies(runs[late][sparse], "ticket"), _accuracies(runs[0][sparse], "ticket"),
                                f"k = {late} vs k = 0 tickets")
        out.append(exceeds(claims["tf_late_rewinding"], value, tol, f"tickets rewound to k = {late} are not "
                           "significantly more accurate than tickets rewound to init at the sparser levels"))
    else:
        out.append(untestable(claims["tf_late_rewinding"], "needs rewinding to init and to a later k"))
    out.append(_matching(claims["tf_matching_at_40"], runs))
    return out


def _matching(claim: Any, runs: dict[int, list[dict[str, Any]]]) -> Verdict:
    """The better-rewound tickets at the level nearest Pm 60% against the dense net (at_least 0)."""
    def gap(rounds: list[dict[str, Any]]) -> tuple[float, Any, float]:
        level = min(rounds[1:], key=lambda lv: abs(100 * lv["ticket"]["pm"][0] - 60))
        value, tol = pooled_gap(_accuracies([level], "ticket"), _accuracies([rounds[0]], "ticket"), "ticket vs dense")
        return value, tol, 100 * level["ticket"]["pm"][0]
    candidates = [gap(rounds) for rounds in runs.values() if len(rounds) > 1]
    if not candidates:
        return untestable(claim, "needs a pruned level")
    value, tol, pm = max(candidates, key=lambda c: c[0])
    return at_least(claim, value, tol, f"the tickets at Pm {pm:.0f}% are significantly less accurate than dense")


def level_table(result: dict[str, Any]) -> str:
    """Every level of every rewinding point: Pm and each role's mean test accuracy at early stop."""
    roles = ("ticket", "reinit", "random_mask")
    rows = []
    for run in result["runs"]:
        for lv in run["rounds"]:
            cells = [f"{100 * np.mean(lv[r]['early_stop_accuracy']):.2f}" if r in lv else "–" for r in roles]
            rows.append([_run_label(run), f"{100 * lv['ticket']['pm'][0]:.1f}%", *cells])
    return markdown_table(["rewound to", "Pm", "tickets acc. %", "random reinit acc. %", "random masks acc. %"], rows)


# The nets the sparsity comparison reads besides the transformer: (label, results file, what it trains on).
COMPARED = (("LeNet-300-100", "mnist/lenet.json", "MNIST"), ("Conv-2", "cifar/conv2_plain.json", "CIFAR-10"))


def matching_levels(rounds: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, float, float, dict[str, Any] | None]:
    """(the sparsest level of the unbroken run of pruned levels whose tickets are not significantly less
    accurate than the dense net, its gap, its tolerance, the first level that is): Welch t of both sides' trials
    at early stop, level by level in pruning order."""
    matched, gap, tol = None, float("nan"), float("nan")
    for level in rounds[1:]:
        value, tolerance = pooled_gap(_accuracies([level], "ticket"), _accuracies([rounds[0]], "ticket"),
                                      "ticket vs dense")
        if value < -tolerance.value:
            return matched, gap, tol, level
        matched, gap, tol = level, value, tolerance.value
    return matched, gap, tol, None


def _sparsity_row(label: str, data: str, rounds: list[dict[str, Any]]) -> list[str]:
    matched, gap, tol, below = matching_levels(rounds)
    pm = lambda level: f"{100 * level['ticket']['pm'][0]:.1f}%"  # noqa: E731
    trials = len(rounds[0]["ticket"]["early_stop_accuracy"])
    return [label, data, str(trials), f"{pm(rounds[1])} – {pm(rounds[-1])}",
            f"{pm(matched)} ({gap:+.2f} ± {tol:.2f} pp)" if matched else "none",
            pm(below) if below else "none down to the last level"]


def sparsity_table(results: Path, result: dict[str, Any]) -> str:
    """Seed 004's 'are transformers sparse like feed-forward and conv nets?': for LeNet, Conv-2 and the
    transformer's tickets (globally pruned, each rewinding point), how far IMP prunes before the tickets fall
    significantly below their dense net. Nets whose results are missing are left out."""
    rows = []
    for label, name, data in COMPARED:
        if (results / name).exists():
            rows.append(_sparsity_row(label, data, read_json(results / name, ("rounds",))["rounds"]))
    for k, rounds in sorted(global_runs(result).items()):
        rows.append(_sparsity_row(f"transformer, rewound to k = {k}", "pydoc text", rounds))
    return markdown_table(["net", "data", "trials", "pruned levels (Pm)", "sparsest level matching dense (ticket - "
                           "dense, Welch t tolerance)", "first level significantly below dense"], rows)


def as_sparse_as_lenet(claim: Any, results: Path, result: dict[str, Any]) -> Verdict:
    """The transformer's sparsest matching level (its best rewinding point: a selection, said in the tolerance
    text) against LeNet's: holds at or below it, fails when every rewinding point falls significantly below
    its dense net above it, else not testable (the transformer's ladder ends above LeNet's level)."""
    lenet_path = results / COMPARED[0][1]
    if not lenet_path.exists():
        return untestable(claim, "needs the mnist stage's LeNet results")
    lenet = read_json(lenet_path, ("rounds",))["rounds"]
    lenet_level = matching_levels(lenet)[0]
    if lenet_level is None:
        return untestable(claim, "LeNet's tickets match their dense net at no pruned level")
    target = 100 * lenet_level["ticket"]["pm"][0]
    ladders = [rounds for rounds in global_runs(result).values() if len(rounds) > 1]
    if not ladders:
        return untestable(claim, "needs a pruned level of the transformer")
    found = [matching_levels(rounds) for rounds in ladders]
    pm = lambda level: 100 * level["ticket"]["pm"][0]  # noqa: E731
    reached = [pm(matched) for matched, _, _, _ in found if matched is not None]
    ours = min(reached) if reached else None
    how = ("each level against its dense net (Welch t interval of both sides' trials), the best of "
           f"{len(found)} rewinding points")
    trials = (f"{len(lenet[0]['ticket']['early_stop_accuracy'])} (LeNet) / "
              f"{len(ladders[0][0]['ticket']['early_stop_accuracy'])} (transformer)")
    if ours is not None and ours <= target:
        return Verdict(claim, HOLDS, ours, None, how, "", trials)
    if all(below is not None and pm(below) > target for _, _, _, below in found):
        return Verdict(claim, FAILS, ours, None, how, f"the transformer's tickets fall significantly below its "
                       f"dense net above Pm {target:.1f}%, where LeNet's still match", trials)
    last = min(pm(rounds[-1]) for rounds, (_, _, _, below) in zip(ladders, found) if below is None)
    return Verdict(claim, UNTESTABLE, ours, None, how, f"the transformer's ladder ends at Pm {last:.1f}% while "
                   f"its tickets still match, and LeNet's match down to {target:.1f}%: more IMP rounds test it",
                   trials)


def sparsity_part(results: Path, result: dict[str, Any]) -> str:
    """The paragraph and table answering seed 004's 'are transformers sparse like feed-forward and conv nets?'."""
    return f"""**Are transformers sparse like feed-forward and conv nets?** How far IMP prunes each net of this
repository before its tickets fall significantly below its dense net (test accuracy at early stop, each level
against the dense level, Welch t interval of both sides' trials; a level "matches" when it is not significantly
below). The nets differ in task, size and pruning rate per round, the ladders end where each profile stops
pruning, and with 3 to 5 trials only large drops are significant; the statement "as sparse as LeNet" below
reads the table.

{sparsity_table(results, result)}
"""


def figure(path: Path, result: dict[str, Any]) -> None:
    """Early-stop iteration and test accuracy vs Pm: tickets per rewinding point, reinits, random masks."""
    series = []
    for i, run in enumerate(result["runs"]):
        k, rounds = run["rewind_iteration"], run["rounds"]
        series.append(PmSeries(rounds, "ticket", f"tickets rewound to {_run_label(run)}", STYLES[i % 4], "-"))
        if any("random_mask" in lv for lv in rounds):
            series.append(PmSeries(rounds, "random_mask", f"random masks, k = {k}", STYLES[i % 4], ":"))
        if any("reinit" in lv for lv in rounds):
            series.append(PmSeries(rounds, "reinit", "random reinit", "tab:orange", "--"))
    pm_figure(path, series, PmAxis("percent of attention and feed-forward weights remaining (Pm)"),
              "IMP in a small character-level transformer (measured here; no paper figure at this scale)")


def transformer_tickets_section(results: Path, figures: Path) -> Section | None:
    """The small-transformer section (None when its stage has not run)."""
    path = results / "transformer" / "tickets.json"
    if not path.exists():
        return None
    r = read_json(path, ("runs",))
    c = r["config"]
    figure(figures / "transformer_tickets.png", r)
    sparse_claim = next(claim for claim in transformer_claims.CLAIMS if claim.key == "tf_as_sparse_as_lenet")
    verdicts = transformer_verdicts(r) + [as_sparse_as_lenet(sparse_claim, results, r)]
    facts = (f"; {c['trials']} trials; {c['layers']} blocks of width {c['width']} ({c['heads']} heads, "
             f"{c['ff']} feed-forward units), {r['parameters']:,} parameters; context {c['context']} characters")
    text = f"""## Lottery tickets in a small transformer (seed 004's open questions)

{run_facts(r, facts)}

Seed 004 ends on three questions: are transformers sparse like feed-forward and conv nets, do lottery tickets
work for NLP, do they scale? Here: character-level language modelling on the standard library's
`pydoc_data.topics` (Python's own help texts, {sum(r['examples']):,} windows; {r['vocab']} characters; the text's
sha256 is in the results): predict the character after {c['context']} characters. The first 80% of the text
trains, the next 10% stops training early (validation loss), the last 10% tests. IMP prunes
{100 * c['prune_rate']:g}% of the surviving attention and feed-forward weights per round, globally (Chen et al.'s
choice for BERT; with `layerwise_tickets` also per layer at k = 0, every matrix at the same rate, tickets only);
embeddings, output layer and biases stay dense (as Chen et al. leave embeddings). Tickets are
rewound to their initial weights (k = 0, Frankle & Carbin) and to their weights after k iterations (Frankle et
al. 2020; Yu et al. 2020 report that transformers need this), against random reinitialisation and random masks
of the same per-layer sizes. A fair stand-in for the questions' *mechanism* (attention and feed-forward weights
pruned by magnitude, next-token prediction, early stopping); it cannot tell whether tickets *scale*: the net
has {r['parameters']:,} parameters, BERT-base 110 million, and the task's text is tiny.

![transformer tickets](figures/transformer_tickets.png)

*Early-stop iteration (left; for k > 0 counted from the rewinding point) and test accuracy at early stop (right)
against Pm; means with min-max bars over trials; measured here. A ringed level has a training whose validation
loss was still falling at its last evaluation: its accuracy is a lower bound of what longer training gives.*

{level_table(r)}

{sparsity_part(results, r)}

**Statements on this run** (tolerances: Welch t intervals of both sides' trials):

{ledger_table(verdicts)}
"""
    return Section(text, verdicts, r["profile"], transformer_claims.HEADLINE,
                   scale=[RunConfig("transformer", "transformer_tickets", c)], finding=_finding(r))


def _finding(r: dict[str, Any]) -> str:
    """The sparsest level's tickets against reinit at k = 0, for the first screen."""
    runs = global_runs(r)
    rounds = runs.get(0) or next(iter(runs.values()))
    last = rounds[-1]
    reinit = f", random reinit {100 * np.mean(last['reinit']['early_stop_accuracy']):.1f}%" if "reinit" in last else ""
    return (f"at Pm {100 * last['ticket']['pm'][0]:.0f}% tickets rewound to init reach "
            f"{100 * np.mean(last['ticket']['early_stop_accuracy']):.1f}% next-character accuracy{reinit} "
            f"(dense {100 * np.mean(rounds[0]['ticket']['early_stop_accuracy']):.1f}%)")
