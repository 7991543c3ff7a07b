"""CIFAR-10 section of the report: the final paper's Figs. 5-8 (Conv-2/4/6, dropout, VGG-19, ResNet-20)."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from lth.report import cifar_claims
from lth.report.cifar_directions import direction_verdicts
from lth.report.common import (Section, cut_short, diverged_count, level_cell, level_pm, level_stats,
                               markdown_table, read_json, run_facts)
from lth.report.figures import CurvesPanel, PmAxis, PmSeries, curves_figure, pm_figure, run_scale
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.records import DIRECTION, Verdict
from lth.report.ledger.rules import at_most, equals, exceeds, on_ladder, reduced_scale, untestable
from lth.report.ledger.levels import DENSE, LevelSpreads
from lth.report.ledger.statistics import Tolerance, difference, role_mean, versus_paper
from lth.report.scale import RunConfig

CONV_NETS = ("conv2", "conv4", "conv6")
DEEP_NETS = ("vgg19", "resnet20")
VARIANT_STYLE = {"plain": "tab:blue", "dropout": "tab:green", "high_lr": "tab:red", "low_lr": "tab:blue",
                 "warmup": "tab:green"}
NET_TITLE = {"conv2": "Conv-2", "conv4": "Conv-4", "conv6": "Conv-6", "vgg19": "VGG-19", "resnet20": "ResNet-20"}
PM_AXIS = PmAxis("percent of prunable weights remaining (Pm)", minor_ticks=False)   # limits and ticks: the levels


def load_cifar(results: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(net, variant) -> result JSON for every CIFAR stage that has run."""
    folder = results / "cifar"
    found = {}
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        if path.stem.endswith("_timing"):
            continue
        result = read_json(path)
        found[(result["net"], result["variant"])] = result
    return found


def summary(result: dict[str, Any]) -> dict[str, float | None]:
    """The paper's headline quantities for one run: dense accuracy, best ticket gain and speedup (and the Pm
    where they occur), and ticket minus reinit accuracy at the sparsest level."""
    rounds = result["rounds"]
    pm, acc, _, _ = level_stats(rounds, "ticket", "early_stop_accuracy")
    _, its, _, _ = level_stats(rounds, "ticket", "early_stop_iteration")
    out: dict[str, float | None] = {"dense_accuracy": round(float(100 * acc[0]), 2)}
    gain = 100 * (acc[1:] - acc[0]) if len(acc) > 1 else np.array([])
    # A run whose validation loss never improved stops at iteration 0: no speedup is defined then.
    speed = its[0] / its[1:] if len(its) > 1 and its[0] > 0 and (its[1:] > 0).all() else np.array([])
    out["max_accuracy_gain_pp"] = round(float(gain.max()), 2) if len(gain) else None
    out["max_accuracy_gain_pm"] = round(float(pm[1:][gain.argmax()]), 1) if len(gain) else None
    out["max_speedup"] = round(float(speed.max()), 2) if len(speed) else None
    out["max_speedup_pm"] = round(float(pm[1:][speed.argmax()]), 1) if len(speed) else None
    last = rounds[-1]
    out["sparsest_pm"] = round(level_pm(last), 1)
    out["ticket_minus_reinit_pp"] = (round(float(100 * (np.mean(last["ticket"]["early_stop_accuracy"])
                                                        - np.mean(last["reinit"]["early_stop_accuracy"]))), 2)
                                     if "reinit" in last else None)
    return out


def _not_testable(result: dict[str, Any] | None, claim_pm: float | None = None) -> str | None:
    """Why a run cannot test a statement about the paper's net (None: it can)."""
    if result is None:
        return "the run is not in the pipeline's results"
    config, reasons = result["config"], []
    if config["trials"] < 2:
        reasons.append(f"{config['trials']} trial per level, so no trial spread for a tolerance")
    sparsest = level_pm(result["rounds"][-1])
    if claim_pm is not None and sparsest > claim_pm:
        reasons.append(f"its levels reach only Pm {sparsest:.1f}%")
    return reduced_scale(config, reasons)


def _largest(result: dict[str, Any], value) -> tuple[float, dict[str, Any]]:
    """The largest ``value(level)`` over the pruned levels, and that level."""
    levels = result["rounds"][1:]
    best = max(levels, key=value)
    return value(best), best


def _ticket_vs_reinit(result: dict[str, Any]) -> tuple[float, Tolerance]:
    """Ticket minus reinit mean accuracy (pp) at the sparsest level, and its tolerance."""
    rounds, last = result["rounds"], result["rounds"][-1]
    gap = 100 * (role_mean(last["ticket"], "early_stop_accuracy") - role_mean(last["reinit"], "early_stop_accuracy"))
    spreads = LevelSpreads(rounds, rounds[0]["ticket"])
    return gap, spreads.accuracy_difference(last["ticket"], "ticket", last["reinit"], "reinit")


def _conv_verdicts(claims: dict[str, Any], net: str, runs: dict[tuple[str, str], dict[str, Any]]) -> list[Verdict]:
    """One conv net's statements (§3): speedup, accuracy gain, where tickets stay above dense, dropout's effects."""
    out = []
    plain, drop = runs.get((net, "plain")), runs.get((net, "dropout"))
    for key, pm in ((f"{net}_speedup", None), (f"{net}_accuracy_gain", None), (f"{net}_above_dense_pm", 2.0)):
        claim = claims[key]
        reason = _not_testable(plain, pm)
        if plain is None:
            out.append(untestable(claim, reason))
            continue
        dense = plain["rounds"][0]["ticket"]
        spreads = LevelSpreads(plain["rounds"], dense)
        if key.endswith("speedup"):
            speed, level = _largest(plain, lambda lv: role_mean(dense, "early_stop_iteration")
                                    / max(role_mean(lv["ticket"], "early_stop_iteration"), 1))
            tol = spreads.iteration_ratio(speed, dense, DENSE, level["ticket"], "ticket", claim.paper_trials)
            verdict = equals(claim, speed, tol, "the largest speedup differs beyond the tolerance")
        elif key.endswith("accuracy_gain"):
            gain, level = _largest(plain, lambda lv: 100 * (role_mean(lv["ticket"], "early_stop_accuracy")
                                                            - role_mean(dense, "early_stop_accuracy")))
            tol = spreads.accuracy_difference(level["ticket"], "ticket", dense, DENSE, claim.paper_trials)
            verdict = equals(claim, gain, tol, "the largest gain differs beyond the tolerance")
        else:
            lowest = None
            for level in sorted(plain["rounds"][1:], key=lambda lv: -level_pm(lv)):
                tol = spreads.accuracy_difference(level["ticket"], "ticket", dense, DENSE)
                if 100 * (role_mean(level["ticket"], "early_stop_accuracy")
                          - role_mean(dense, "early_stop_accuracy")) < -tol.value:
                    break
                lowest = level_pm(level)
            verdict = on_ladder(claim, lowest, [level_pm(lv) for lv in plain["rounds"]],
                                "tickets fall below the dense net at another level")
        out.append(untestable(claim, reason, verdict.measured) if reason else verdict)
    return out + _dropout_verdicts(claims, net, plain, drop)


def _dropout_verdicts(claims: dict[str, Any], net: str, plain: dict[str, Any] | None,
                      drop: dict[str, Any] | None) -> list[Verdict]:
    """Dropout's statements on one conv net (§3, Fig. 6): it raises the dense accuracy; pruning adds to it."""
    out = []
    for key in (f"{net}_dropout_raises_dense", f"{net}_dropout_pruning_adds"):
        claim = claims[key]
        reason = _not_testable(drop) or _not_testable(plain)
        if drop is None or plain is None:
            out.append(untestable(claim, reason))
            continue
        dense_plain, dense_drop = plain["rounds"][0]["ticket"], drop["rounds"][0]["ticket"]
        if key.endswith("raises_dense"):
            measured = 100 * (role_mean(dense_drop, "early_stop_accuracy")
                              - role_mean(dense_plain, "early_stop_accuracy"))
            tol = difference(LevelSpreads(drop["rounds"], dense_drop).accuracy[DENSE], len(dense_drop["pm"]),
                             LevelSpreads(plain["rounds"], dense_plain).accuracy[DENSE], len(dense_plain["pm"]),
                             claim.paper_trials)
        else:
            measured, level = _largest(drop, lambda lv: 100 * (role_mean(lv["ticket"], "early_stop_accuracy")
                                                               - role_mean(dense_drop, "early_stop_accuracy")))
            tol = LevelSpreads(drop["rounds"], dense_drop).accuracy_difference(level["ticket"], "ticket", dense_drop,
                                                                               DENSE, claim.paper_trials)
        verdict = equals(claim, measured, tol, "differs beyond the tolerance")
        out.append(untestable(claim, reason, verdict.measured) if reason else verdict)
    return out


def _deep_verdicts(claims: dict[str, Any], runs: dict[tuple[str, str], dict[str, Any]]) -> list[Verdict]:
    """VGG-19's and ResNet-20's statements (§4): tickets vs random reinit at each learning-rate variant, and
    ResNet-20's dense accuracy."""
    out = []
    for net in DEEP_NETS:
        for variant, compare in (("high_lr", at_most), ("low_lr", exceeds), ("warmup", exceeds)):
            claim = claims[f"{net}_{variant}_{'no_tickets' if variant == 'high_lr' else 'tickets'}"]
            result = runs.get((net, variant))
            reason = _not_testable(result)
            if result is None or "reinit" not in result["rounds"][-1]:
                out.append(untestable(claim, reason or "no random-reinit control in the run"))
                continue
            gap, tol = _ticket_vs_reinit(result)
            verdict = compare(claim, gap, tol, "tickets and random reinit compare otherwise than in the paper")
            out.append(untestable(claim, reason, verdict.measured) if reason else verdict)
    resnet = runs.get(("resnet20", "high_lr"))
    claim = claims["resnet20_dense_accuracy"]
    if resnet is None:
        out.append(untestable(claim, _not_testable(None)))
    else:
        dense = resnet["rounds"][0]["ticket"]
        accuracy = 100 * role_mean(dense, "early_stop_accuracy")
        reason = _not_testable(resnet)
        tol = versus_paper(LevelSpreads(resnet["rounds"], dense).accuracy[DENSE], len(dense["pm"]),
                           claim.paper_trials)
        verdict = equals(claim, accuracy, tol, "the dense accuracy differs beyond the tolerance")
        out.append(untestable(claim, reason, accuracy) if reason else verdict)
    return out


def cifar_verdicts(runs: dict[tuple[str, str], dict[str, Any]]) -> list[Verdict]:
    """The final paper's CIFAR-10 statements, measured where a run can test them."""
    claims = {c.key: c for c in cifar_claims.CLAIMS}
    return ([v for net in CONV_NETS for v in _conv_verdicts(claims, net, runs)] + _deep_verdicts(claims, runs)
            + [v for net in CONV_NETS for v in direction_verdicts(claims, net, runs)])


def pm_series(variant: str, result: dict[str, Any]) -> list[PmSeries]:
    """A run's lines in a Pm figure: tickets solid with dots, random reinit dashed with crosses (starting from
    the dense point they share), in the variant's colour (paper Figs. 5-8 layout)."""
    colour = VARIANT_STYLE.get(variant, "k")
    series = [PmSeries(result["rounds"], "ticket", f"{variant}: winning ticket", colour, "-", "o", 4)]
    reinit = [r for r in result["rounds"] if "reinit" in r]
    if reinit:
        reinit = [{"reinit": result["rounds"][0]["ticket"]}] + reinit
        series.append(PmSeries(reinit, "reinit", f"{variant}: random reinit", colour, "--", "x", 4))
    return series


def _run_settings(net: str, variant: str, r: dict[str, Any]) -> tuple[list[str], int, int]:
    """One run's row of the reduced-scale settings table, with its trainings cut short by the cap and in all."""
    c, roles = r["config"], ("ticket", "reinit")
    capped = sum(cut_short(level[role]) for level in r["rounds"] for role in roles if role in level)
    total = sum(len(level[role]["early_stop_iteration"]) for level in r["rounds"] for role in roles if role in level)
    row = [f"{NET_TITLE[net]} {variant}", f"x{c['width']:g}", f"{c['lr']:g}", str(c["iterations"]),
           f"{c['train_examples']:,}" if c.get("train_examples") else "all",
           f"{c['validation_examples']:,}" if c.get("validation_examples") else "all",
           str(c["patience"]) if c.get("patience") else "-", str(c["eval_every"]),
           f"{c['curve_examples']:,}" if c.get("curve_examples") else "all", str(c["rounds"]), str(c["trials"]),
           str(c["reinit_per_ticket"]), f"{capped} of {total}"]
    return row, capped, total


def _scale_note(runs: dict[tuple[str, str], dict[str, Any]]) -> str:
    """What a reduced-scale profile changed, per run (a table), and how many trainings the iteration cap cut
    short."""
    reduced = sorted({r["profile"] for r in runs.values() if r["profile"] != "paper"})
    if not reduced:
        return ""
    rows, conv_capped, conv_total = [], 0, 0
    for (net, variant), r in sorted(runs.items()):
        row, capped, total = _run_settings(net, variant, r)
        rows.append(row)
        if net in CONV_NETS:
            conv_capped, conv_total = conv_capped + capped, conv_total + total
    deep_iterations = max((r["config"]["iterations"] for (net, _), r in runs.items() if net not in CONV_NETS),
                          default=0)
    text = ("**Reduced scale** (profile " + ", ".join(f"`{p}`" for p in reduced) + "): every hidden width is "
            "multiplied by `width` and rounds prune faster, so that all of CIFAR-10 runs on a 2-core CPU within the "
            "pipeline's budget. Conv-2/4/6 train Adam at 1/width times the paper's rate (a narrow net then learns at "
            "about the full-width pace), train on a subset of the training images where `train_examples` says so (a "
            "smaller training set is fitted, and the validation loss turns, sooner; absolute accuracies are then "
            "lower than the paper's), read the validation loss on a subset of the validation images where "
            "`validation_examples` says so (the evaluation costs less), and stop each training a few hundred "
            f"iterations after its best validation loss: {conv_total - conv_capped} of their {conv_total} trainings "
            "stopped that way; the others were cut short by the iteration cap before their patience ran out (their "
            "early-stop points are lower bounds, ringed in the figures, and directions resting on them are not "
            "tested; docs/measurements.md, session 20, measures how far beyond the cap their minima lie and what "
            f"that cap costs). VGG-19 and ResNet-20 are smoke-scale illustrations (at most {deep_iterations} "
            "iterations): they say nothing yet about the paper's learning-rate findings. `profile: paper` runs the "
            "paper's settings (GPU; see docs/paper-profile-cost.md for the cost). Settings of each run:")
    header = ["run", "width", "lr", "max iterations", "training images", "validation images", "stop after best",
              "evaluated every", "curve test images", "rounds", "trials", "reinits per ticket",
              "cut short by the cap"]
    return ("\n\n" + "\n".join("> " + line for line in textwrap.wrap(text, 114, break_on_hyphens=False)) + "\n\n"
            + markdown_table(header, rows))


def headline_table(runs: dict[tuple[str, str], dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The headline numbers of every run (dense accuracy, best gain and speedup, ticket minus reinit) as a
    table, and by run for claims.json."""
    runs_numbers: dict[str, Any] = {}
    rows = []
    for (net, variant), result in sorted(runs.items()):
        s = summary(result)
        runs_numbers[f"{net}_{variant}"] = s
        rows.append([f"{NET_TITLE[net]} {variant}", f"{s['dense_accuracy']:.2f}",
                     f"{s['max_accuracy_gain_pp']:+.2f} pp @ {s['max_accuracy_gain_pm']:g}%"
                     if s["max_accuracy_gain_pp"] is not None else "–",
                     f"{s['max_speedup']:.2f}x @ {s['max_speedup_pm']:g}%" if s["max_speedup"] is not None else "–",
                     f"{s['ticket_minus_reinit_pp']:+.2f} pp @ {s['sparsest_pm']:g}%"
                     if s["ticket_minus_reinit_pp"] is not None else "–"])
    table = markdown_table(["net, variant", "dense acc. %", "best ticket gain over dense", "best early-stop speedup",
                            "ticket − reinit at sparsest level"], rows)
    return table, runs_numbers


def cifar_figures(runs: dict[tuple[str, str], dict[str, Any]], figures: Path) -> list[str]:
    """Draw each net's Pm figure and the Conv-2/4/6 curves; return their Markdown with captions (each says
    whether it replicates the paper's figure or, at a reduced scale, illustrates it and how it is reduced)."""
    figure_md = []
    for net in CONV_NETS + DEEP_NETS:
        net_runs = [(v, r) for (n, v), r in sorted(runs.items()) if n == net]
        if not net_runs:
            continue
        which = {"vgg19": "paper Fig. 7", "resnet20": "paper Fig. 8"}.get(net, "paper Figs. 5 and 6")
        tag = run_scale([r for _, r in net_runs], [len(r["rounds"]) for _, r in net_runs]).tag(which)
        pm_figure(figures / f"cifar_{net}.png", [line for v, r in net_runs for line in pm_series(v, r)], PM_AXIS,
                  f"{NET_TITLE[net]} on CIFAR-10: winning tickets vs random reinit\n{tag}")
        figure_md.append(f"![{net}](figures/cifar_{net}.png)\n\n*{NET_TITLE[net]}: early-stop iteration and test "
                         f"accuracy vs Pm for each variant ({', '.join(v for v, _ in net_runs)}); tickets solid, "
                         f"random reinit dashed; {tag}.*")
    curve_runs = [(net, runs[(net, "plain")]) for net in CONV_NETS if (net, "plain") in runs]
    if curve_runs:
        tag = run_scale([r for _, r in curve_runs]).tag("the curves of paper Fig. 5")
        curves_figure(figures / "cifar_curves.png",
                      [CurvesPanel(result["rounds"], title=NET_TITLE[net]) for net, result in curve_runs],
                      (5 * len(curve_runs), 4.3), f"Winning tickets on CIFAR-10: test accuracy during training\n{tag}")
        figure_md.insert(0, "![curves](figures/cifar_curves.png)\n\n*Test accuracy over training of Conv-2/4/6 "
                            "winning tickets at the recorded Pm levels (mean over the trials still running at each "
                            "iteration, to the longest trial's end, thin once a trial has stopped; band: min to max "
                            f"where two or more run); {tag}.*")
    return figure_md


def levels_table(runs: dict[tuple[str, str], dict[str, Any]]) -> str:
    """Every run's every level: ticket and reinit early-stop iteration / accuracy."""
    level_rows = [[f"{NET_TITLE[net]} {variant}", f"{level_pm(r):.1f}"]
                  + [level_cell(r[role]) if role in r else "–" for role in ("ticket", "reinit")]
                  for (net, variant), result in sorted(runs.items()) for r in result["rounds"]]
    return markdown_table(["run", "Pm %", "ticket (early stop / acc. %)", "reinit"], level_rows)


def cifar_finding(runs: dict[tuple[str, str], dict[str, Any]]) -> str:
    """The largest ticket gain over the dense net among the runs, in how many runs some level beats the dense
    net, and the ticket-minus-reinit range at the runs' sparsest levels."""
    numbers = {key: summary(result) for key, result in runs.items()}
    gains = {key: s for key, s in numbers.items() if s["max_accuracy_gain_pp"] is not None}
    if not gains:
        return "dense nets only"
    (net, variant), best = max(gains.items(), key=lambda item: item[1]["max_accuracy_gain_pp"])
    above = sum(s["max_accuracy_gain_pp"] > 0 for s in gains.values())
    text = (f"tickets up to {best['max_accuracy_gain_pp']:+.2f} pp vs the dense net ({NET_TITLE[net]} {variant}, "
            f"Pm {best['max_accuracy_gain_pm']:.1f}%), above it at some level in {above} of {len(gains)} runs")
    vs_reinit = [s["ticket_minus_reinit_pp"] for s in numbers.values() if s["ticket_minus_reinit_pp"] is not None]
    if vs_reinit:
        text += f"; ticket minus reinit at the sparsest level {min(vs_reinit):+.2f} to {max(vs_reinit):+.2f} pp"
    return text


def cifar_section(results: Path, figures: Path) -> Section | None:
    """Figures 5-8 (replicas, or illustrations at a reduced scale), headline numbers beside the paper's, and
    the per-level tables."""
    runs = load_cifar(results)
    if not runs:
        return None
    table, runs_numbers = headline_table(runs)
    verdicts = cifar_verdicts(runs)
    figure_md = cifar_figures(runs, figures)
    levels = levels_table(runs)
    diverged = sum(diverged_count(result["rounds"]) for result in runs.values())
    first = next(iter(runs.values()))
    text = f"""## CIFAR-10: Conv-2/4/6, dropout, VGG-19 and ResNet-20 (final paper Figs. 5-8)

{run_facts(first)}{_scale_note(runs)}

Conv-2/4/6 (Adam; the paper's layers) prune each round their conv, hidden-fc and output weights layerwise at
their own rates; VGG-19 and ResNet-20 (SGD with momentum 0.9, weight decay 1e-4, step schedule, random flip +
pad-and-crop on the device, batch norm with statistics per member) prune **globally** over all conv weights
(not ResNet's 1x1 shortcut projections, not the fc layer). Survivors are rewound to their initial values; the
**random reinit** control trains the same mask from a fresh init. Pm counts the prunable weights. Early stop
and accuracy as for MNIST (5,000 validation images). Diverged runs: {diverged}.

{(chr(10) * 2).join(figure_md)}

**Our headline numbers** (means over trials; the paper's values are in the ledger below):

{table}

**The paper's statements: the claims ledger for this experiment**:

{ledger_table([v for v in verdicts if v.claim.kind != DIRECTION])}

**The directions of the paper's Conv-2/4/6 effects at our reduced scale** (each effect against no effect, with
the measured trial spread; counted apart from the statements above: a direction seen in a narrower, shorter run
is evidence for the paper's effect, not its value reproduced):

{ledger_table([v for v in verdicts if v.claim.kind == DIRECTION])}

**Every level** (early-stop iteration / test accuracy %, means over trials):

{levels}
"""
    return Section(text, verdicts, first["profile"], cifar_claims.HEADLINE, runs_numbers,
                   scale=[RunConfig(f"{NET_TITLE[net]} {variant}", net, result["config"], variant)
                          for (net, variant), result in sorted(runs.items())],
                   finding=cifar_finding(runs))
