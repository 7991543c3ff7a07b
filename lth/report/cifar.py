"""CIFAR-10 section of the report: the final paper's Figs. 5-8 (Conv-2/4/6, dropout, VGG-19, ResNet-20)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lth.report import papers
from lth.report.common import Section, diverged_count, level_cell, level_pm, level_stats, markdown_table, read_json, \
    run_facts
from lth.report.figures import CurvesPanel, PmAxis, PmSeries, curves_figure, pm_figure

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


def deep_verdicts(runs: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    """One line per VGG-19/ResNet-20 variant: does our run show what the paper finds for it?
    (high_lr: tickets no better than reinit, within 1 pp; low_lr: tickets beat reinit but the dense net is
    less accurate than at high_lr; warmup: tickets beat reinit.)"""
    lines = []
    for net in DEEP_NETS:
        got = {v: summary(r) for (n, v), r in runs.items() if n == net}
        for variant in ("high_lr", "low_lr", "warmup"):
            if variant not in got or got[variant]["ticket_minus_reinit_pp"] is None:
                continue
            gap = got[variant]["ticket_minus_reinit_pp"]
            if variant == "high_lr":
                agrees = gap <= 1.0
            elif variant == "low_lr":
                agrees = gap > 0 and ("high_lr" not in got
                                      or got["low_lr"]["dense_accuracy"] < got["high_lr"]["dense_accuracy"])
            else:
                agrees = gap > 0
            lines.append(f"{NET_TITLE[net]} `{variant}`: dense {got[variant]['dense_accuracy']:.1f}%, ticket − reinit "
                         f"{gap:+.1f} pp at Pm {got[variant]['sparsest_pm']:g}%: "
                         + ("agrees with the paper" if agrees else "**does not agree** with the paper"))
    return lines


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


def _scale_note(runs: dict[tuple[str, str], dict[str, Any]]) -> str:
    reduced = sorted({r["profile"] for r in runs.values() if r["profile"] != "paper"})
    if not reduced:
        return ""
    parts = []
    for (net, variant), r in sorted(runs.items()):
        c = r["config"]
        parts.append(f"{NET_TITLE[net]} {variant}: width x{c['width']:g}, {c['iterations']} iterations, "
                     f"{c['rounds']} rounds, {c['trials']} trial(s)")
    return ("\n\n> **Reduced scale** (profile " + ", ".join(f"`{p}`" for p in reduced) + "): every hidden width is "
            "multiplied by `width`, training is far shorter than the paper's (20K-112K iterations) and rounds prune "
            "faster, so that all of CIFAR-10 runs on a 2-core CPU within the pipeline's budget. Most runs are still "
            "improving when training stops (early-stop iteration = the last one), so compare accuracies and the "
            "ticket-vs-reinit ordering, not absolute numbers or speedups. `profile: paper` runs the paper's "
            "settings (GPU; see README for the cost). Settings: " + "; ".join(parts) + ".")


def cifar_section(results: Path, figures: Path) -> Section | None:
    """Figures 5-8 replicas, headline numbers beside the paper's, and the per-level tables."""
    runs = load_cifar(results)
    if not runs:
        return None
    metrics: dict[str, Any] = {}
    rows = []
    for (net, variant), result in sorted(runs.items()):
        s = summary(result)
        metrics[f"{net}_{variant}"] = s
        claim = papers.CONV_CLAIMS.get(net) if variant == "plain" else None
        paper_gain = f"{claim[2]:g} pp @ {claim[3]:g}%" if claim else "–"
        paper_speed = f"{claim[0]:g}x @ {claim[1]:g}%" if claim else "–"
        if net == "resnet20" and variant == "high_lr":
            paper_dense = f"{papers.RESNET_DENSE_ACCURACY:g}"
        else:
            paper_dense = "–"
        rows.append([f"{NET_TITLE[net]} {variant}", f"{s['dense_accuracy']:.2f}", paper_dense,
                     f"{s['max_accuracy_gain_pp']:+.2f} pp @ {s['max_accuracy_gain_pm']:g}%"
                     if s["max_accuracy_gain_pp"] is not None else "–", paper_gain,
                     f"{s['max_speedup']:.2f}x @ {s['max_speedup_pm']:g}%" if s["max_speedup"] is not None else "–",
                     paper_speed,
                     f"{s['ticket_minus_reinit_pp']:+.2f} pp @ {s['sparsest_pm']:g}%"
                     if s["ticket_minus_reinit_pp"] is not None else "–"])
    table = markdown_table(["net, variant", "dense acc. %", "paper", "best ticket gain over dense", "paper",
                            "best early-stop speedup", "paper", "ticket − reinit at sparsest level"], rows)

    dropout_rows = []
    for net in CONV_NETS:
        if (net, "plain") in runs and (net, "dropout") in runs:
            plain, drop = summary(runs[(net, "plain")]), summary(runs[(net, "dropout")])
            raise_pp = float(drop["dense_accuracy"] - plain["dense_accuracy"])
            claim = papers.DROPOUT_CLAIMS[net]
            metrics[f"{net}_dropout_raises_dense_pp"] = {"measured": round(raise_pp, 2), "paper": claim[0]}
            dropout_rows.append([NET_TITLE[net], f"{raise_pp:+.2f}", f"{claim[0]:g}",
                                 f"{drop['max_accuracy_gain_pp']:+.2f}" if drop["max_accuracy_gain_pp"] is not None
                                 else "–", f"{claim[1]:g}"])
    dropout_table = markdown_table(["net", "dropout raises dense acc. (pp)", "paper", "pruning adds up to (pp)",
                                    "paper"], dropout_rows) if dropout_rows else "(dropout runs missing)"

    figure_md = []
    for net in CONV_NETS + DEEP_NETS:
        net_runs = [(v, r) for (n, v), r in sorted(runs.items()) if n == net]
        if not net_runs:
            continue
        which = {"conv2": "5 and 6", "conv4": "5 and 6", "conv6": "5 and 6", "vgg19": "7", "resnet20": "8"}[net]
        pm_figure(figures / f"cifar_{net}.png", [line for v, r in net_runs for line in pm_series(v, r)], PM_AXIS,
                  f"{NET_TITLE[net]} on CIFAR-10: winning tickets vs random reinit (replicates paper Fig. {which})")
        figure_md.append(f"![{net}](figures/cifar_{net}.png)\n\n*{NET_TITLE[net]}: early-stop iteration and test "
                         f"accuracy vs Pm for each variant ({', '.join(v for v, _ in net_runs)}); tickets solid, "
                         f"random reinit dashed; replicates paper Fig. {which}.*")
    curve_runs = [(net, runs[(net, "plain")]) for net in CONV_NETS if (net, "plain") in runs]
    if curve_runs:
        curves_figure(figures / "cifar_curves.png",
                      [CurvesPanel(result["rounds"], title=NET_TITLE[net]) for net, result in curve_runs],
                      (5 * len(curve_runs), 4), "Winning tickets on CIFAR-10: test accuracy during training")
        figure_md.insert(0, "![curves](figures/cifar_curves.png)\n\n*Test accuracy over training of Conv-2/4/6 "
                            "winning tickets at the recorded Pm levels (paper Fig. 5's companion curves).*")

    level_rows = [[f"{NET_TITLE[net]} {variant}", f"{level_pm(r):.1f}"]
                  + [level_cell(r[role]) if role in r else "–" for role in ("ticket", "reinit")]
                  for (net, variant), result in sorted(runs.items()) for r in result["rounds"]]
    levels = markdown_table(["run", "Pm %", "ticket (early stop / acc. %)", "reinit"], level_rows)
    diverged = sum(diverged_count(result["rounds"]) for result in runs.values())
    findings = "\n".join(f"- `{variant}`: {text}" for variant, text in papers.DEEP_FINDINGS.items())
    verdicts = deep_verdicts(runs)
    if verdicts:
        findings += "\n\nOurs, at this profile:\n\n" + "\n".join(f"- {line}" for line in verdicts)
        if any(r["profile"] != "paper" for (n, _), r in runs.items() if n in DEEP_NETS):
            findings += ("\n\nThe paper's learning-rate effects arise over 30K-112K iterations; a reduced-scale "
                         "profile trains a few hundred, so these lines say little about them until `paper` is run.")
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

**Headline numbers beside the paper's** (paper: Sec. 3 for Conv-2/4/6, unpruned dropout-free runs; Sec. 4 for
ResNet-20's dense accuracy):

{table}

**Dropout** (paper Fig. 6):

{dropout_table}

**VGG-19 / ResNet-20, what the paper finds** (Sec. 4, Figs. 7-8) — compare with the ticket − reinit column and
the figures:

{findings}

**Every level** (early-stop iteration / test accuracy %, means over trials):

{levels}
"""
    return Section(text, metrics)
