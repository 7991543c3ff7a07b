"""Late rewinding and linear mode connectivity (Frankle et al., beyond the seeds) for VGG-19 and ResNet-20 at
learning rate 0.1: accuracy of tickets rewound to iteration k against random reinitialisation, instability of
the dense nets and tickets along the line between two copies, and the statements tested on these runs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lth.report import rewinding_claims
from lth.report.common import Section, markdown_table, plt, read_json, run_facts, save_figure
from lth.report.figures import Scale, figure_title, run_scale
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.records import Verdict
from lth.report.ledger.rules import at_most, equals, exceeds, reduced_scale, unless_reduced, untestable
from lth.report.ledger.statistics import Spread, difference, exact
from lth.report.scale import RunConfig

NETS = {"vgg19": "VGG-19", "resnet20": "ResNet-20"}
STABLE_POINTS = 2.0


def instability(path_error: list[list[float]]) -> float:
    """Largest test error on the path minus the mean error of its ends (points), mean over trials."""
    errors = np.array(path_error)                                        # [points, trials]
    return float(np.mean(errors.max(0) - (errors[0] + errors[-1]) / 2))


def _copies(entry: dict[str, Any]) -> list[float]:
    """Both copies' test accuracies (pp) over every trial."""
    return [100 * a for copy in entry["accuracy"] for a in copy]


def copies_spread(result: dict[str, Any]) -> Spread:
    """The spread of two copies trained on different batches, pooled over every pair (pp): the trial spread
    these runs measure."""
    groups = [[100 * a[t], 100 * b[t]] for rd in result["rounds"] for entry in rd["k"].values()
              for kind in ("ticket", "dense") if kind in entry
              for a, b in [entry[kind]["accuracy"]] for t in range(len(a))]
    return Spread.of(groups, f"two copies' accuracies pooled over {len(groups)} pairs")


def rewinding_verdicts(net: str, result: dict[str, Any]) -> list[Verdict]:
    """One network's statements: rewinding to 0 no better than reinit, late rewinding better, matching = stable."""
    claims = {c.key: c for c in rewinding_claims.CLAIMS}
    last = result["rounds"][-1]
    first = result["rounds"][0]
    spread = copies_spread(result)
    reinit = [100 * a for a in last["reinit"]["accuracy"]]
    ks = sorted(last["k"], key=int)
    out = []
    ticket0 = _copies(last["k"][ks[0]]["ticket"])
    tol = difference(spread, len(ticket0), spread, len(reinit))
    out.append(at_most(claims[f"{net}_rewind0_no_better_than_reinit"], float(np.mean(ticket0) - np.mean(reinit)),
                       tol, "the k = 0 ticket beats reinit at this scale"))
    later = [k for k in ks if int(k) > 0]
    if not later:
        out.append(untestable(claims[f"{net}_late_rewind_recovers"], "no k > 0 run"))
    else:
        best = max(later, key=lambda k: np.mean(_copies(last["k"][k]["ticket"])))
        gap = float(np.mean(_copies(last["k"][best]["ticket"])) - np.mean(reinit))
        out.append(exceeds(claims[f"{net}_late_rewind_recovers"], gap, tol,
                           f"no k > 0 ticket is significantly better than reinit here (best k = {best} of "
                           f"{len(later)}, no correction for the choice)"))
    disagreements = 0
    for k in ks:
        dense = _copies(first["k"][k]["dense"])
        ticket = _copies(last["k"][k]["ticket"])
        matches = np.mean(ticket) >= np.mean(dense) - difference(spread, len(ticket), spread, len(dense)).value
        stable = instability(last["k"][k]["ticket"]["path_error"]) < STABLE_POINTS
        disagreements += int(matches != stable)
    out.append(equals(claims[f"{net}_matching_tickets_stable"], float(disagreements),
                      exact(f"a count over the {len(ks)} values of k; matching within the tolerance ({tol.how}), "
                            f"stable below {STABLE_POINTS:g} points", f"{len(ks)} values of k"),
                      "matching and stability disagree at some k"))
    return unless_reduced(out, reduced_scale(result["config"], [f"{result['config']['iterations']} iterations"]
                                             if result["config"]["iterations"] < 30000 else []))


SOURCE = "the papers' rewinding and instability-vs-k figures"


def _scale(runs: dict[str, dict[str, Any]]) -> Scale:
    """The scale of the rewinding runs drawn (their levels: the dense net's and each IMP round's)."""
    return run_scale(list(runs.values()), [1 + len(r["rounds"]) for r in runs.values()])


def rewinding_figure(path: Path, runs: dict[str, dict[str, Any]]) -> None:
    """Per network: ticket accuracy vs Pm for every k against reinit and the dense net (left), and the
    instability of the dense nets and the sparsest tickets vs k (right)."""
    colors = ["tab:blue", "tab:green", "tab:purple", "tab:orange", "tab:brown"]
    fig, axes = plt.subplots(len(runs), 2, figsize=(11, 3.8 * len(runs)), squeeze=False)
    for row, (net, r) in zip(axes, runs.items()):
        last, first = r["rounds"][-1], r["rounds"][0]
        ks = sorted(last["k"], key=int)
        pm = [100 * rd["pm"][0] for rd in r["rounds"]]
        for i, k in enumerate(ks):
            acc = [_copies(rd["k"][k]["ticket"]) for rd in r["rounds"]]
            mean = np.array([np.mean(a) for a in acc])
            row[0].errorbar(pm, mean, yerr=[mean - [min(a) for a in acc], [max(a) for a in acc] - mean],
                            color=colors[i % len(colors)], marker="o", capsize=2, label=f"ticket, rewound to k = {k}")
        row[0].plot(pm, [100 * np.mean(rd["reinit"]["accuracy"]) for rd in r["rounds"]], color="tab:red",
                    linestyle="--", marker="s", label="random reinit (same mask)")
        row[0].axhline(100 * np.mean(r["dense_accuracy"]), color="tab:gray", linestyle=":", label="dense net")
        row[0].set_xscale("log")
        row[0].set_xlim(max(pm) * 1.5, min(pm) / 1.5)
        row[0].set_xticks(pm, [f"{p:.1f}" for p in pm])
        row[0].minorticks_off()
        row[0].set_xlabel("percent of conv weights remaining (Pm)")
        x = np.arange(len(ks))
        for kind, rounds, color in (("ticket", last, "tab:blue"), ("dense", first, "tab:gray")):
            row[1].plot(x, [instability(rounds["k"][k][kind]["path_error"]) for k in ks], color=color, marker="o",
                        label=f"ticket (Pm {100 * last['pm'][0]:.1f}%)" if kind == "ticket" else "dense")
        row[1].axhline(STABLE_POINTS, color="k", linestyle=":", linewidth=0.8, label="stable below 2 points")
        row[1].set_xticks(x, ks)
        row[1].set_xlabel("rewinding iteration k")
        for ax, ylabel in zip(row, ("test accuracy (%)", "instability (error rise, points)")):
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
            ax.set_title(f"{NETS[net]}, learning rate {r['config']['lr']:g}", fontsize=9)
    figure_title(fig, "Frankle et al.: rewinding to iteration k (accuracy vs Pm) and linear mode connectivity\n"
                      + _scale(runs).tag(SOURCE), fontsize=10)
    save_figure(fig, path)


def rewinding_finding(runs: dict[str, dict[str, Any]]) -> str:
    """Per network: the rewinding iteration whose ticket beats random reinit by most, against k = 0."""
    parts = []
    for net, r in runs.items():
        last = r["rounds"][-1]
        reinit = np.mean([100 * a for a in last["reinit"]["accuracy"]])
        gaps = {int(k): np.mean(_copies(entry["ticket"])) - reinit for k, entry in last["k"].items()}
        best = max(gaps, key=gaps.get)
        parts.append(f"{NETS[net]} tickets rewound to k = {best} {gaps[best]:+.2f} pp vs reinit "
                     f"(k = {min(gaps)}: {gaps[min(gaps)]:+.2f} pp)")
    return "; ".join(parts)


def rewinding_section(results: Path, figures: Path) -> Section | None:
    """The rewinding and linear-mode-connectivity section (None when no rewinding stage has run)."""
    runs = {net: read_json(results / "rewinding" / f"{net}.json") for net in NETS
            if (results / "rewinding" / f"{net}.json").exists()}
    if not runs:
        return None
    rewinding_figure(figures / "rewinding.png", runs)
    parts, verdicts = [], []
    reduced = [f"{NETS[net]} ({reason.split('(', 1)[1].split(');')[0]})" for net, r in runs.items()
               if (reason := reduced_scale(r["config"], [f"{r['config']['iterations']} iterations"]
                                           if r["config"]["iterations"] < 30000 else [])) is not None]
    for net, r in runs.items():
        c = r["config"]
        last, first = r["rounds"][-1], r["rounds"][0]
        rows = []
        for k in sorted(last["k"], key=int):
            rows.append([k, f"{np.mean(_copies(first['k'][k]['dense'])):.2f}",
                         f"{instability(first['k'][k]['dense']['path_error']):.2f}",
                         f"{np.mean(_copies(last['k'][k]['ticket'])):.2f}",
                         f"{instability(last['k'][k]['ticket']['path_error']):.2f}"])
        table = markdown_table(["k", "dense copies acc. %", "dense instability (points)",
                                f"ticket (Pm {100 * last['pm'][0]:.1f}%) acc. %", "ticket instability (points)"], rows)
        verdicts += rewinding_verdicts(net, r)
        facts = (f"; {c['trials']} trial(s); width {c['width']:g}, "
                 + (f"the first {c['train_examples']:,} training images" if c["train_examples"] else "all training images")
                 + f", {c['iterations']} iterations at batch {c['batch_size']} (SGD {c['lr']:g}, rate / 10 at "
                 f"{', '.join(map(str, c['lr_milestones']))}), {c['rounds']} IMP round(s) of {100 * c['conv_rate']:g}% "
                 f"of the conv weights (global); path errors on {r['path_examples']:,} test images at "
                 f"{c['interpolation_points']} points")
        parts.append(f"### {NETS[net]}\n\n{run_facts(r, facts)}\n\nDense net (the recorded run): test accuracy "
                     f"{', '.join(f'{100 * a:.2f}%' for a in r['dense_accuracy'])}; random reinit with the ticket's mask: "
                     f"{', '.join(f'{100 * a:.2f}%' for a in last['reinit']['accuracy'])}.\n\n{table}\n")
    text = ("## Late rewinding and linear mode connectivity (Frankle et al., beyond the seeds)\n\n"
            "IMP whose survivors are rewound to their values at iteration k of the dense training instead of 0, at "
            "the usual learning rate 0.1, against a random reinitialisation with the same mask. Two copies of the "
            "dense net at k and two copies of the ticket rewound to k train to the end of the schedule on different "
            "batches (the rate schedule continuing from k; optimizer state restarted); the test error along the "
            "straight line between each pair's final weights (all parameters and batch-norm statistics "
            "interpolated, statistics not re-estimated) gives the instability: its largest error minus the mean of "
            "its ends. A network is stable below 2 points. Later IMP rounds prune copy 0's ticket of the first k "
            "(k = 0), one mask lineage for every k.\n\n![rewinding](figures/rewinding.png)\n\n*Ticket accuracy vs Pm "
            "for each rewinding iteration k against random reinit and the dense net (left), instability vs k "
            f"(right); {_scale(runs).tag(SOURCE)}.*\n\n" + "\n".join(parts)
            + (f"\nReduced scale here: {', '.join(reduced)}; read them as an illustration of the procedure.\n\n"
               if reduced else "\n")
            + "**The statements, on these runs:**\n\n" + ledger_table(verdicts) + "\n")
    profiles = {r["profile"] for r in runs.values()}
    return Section(text, verdicts, ", ".join(sorted(profiles)), rewinding_claims.HEADLINE,
                   scale=[RunConfig(NETS[net], f"rewinding_{net}", r["config"]) for net, r in runs.items()],
                   finding=rewinding_finding(runs))
