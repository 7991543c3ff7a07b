"""When unstructured masks settle: the distance of the magnitude mask at iteration t to the final one (LeNet,
Conv-2), the distance between consecutive IMP tickets, and where the follow-ups post's 10% stopping rule
stops the IMP search and what the stopped ticket gives up."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.lines import Line2D

from lth.report.common import Section, markdown_table, plt, read_json, run_facts, save_figure
from lth.report.figures import panel_legend_below
from lth.report.scale import RunConfig

COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]


def relative(distance: float, pm: float) -> float:
    """The fraction of a mask's survivors that the other lacks, from the distance over all weights (two masks
    of equal size differ on twice as many positions as one lacks)."""
    return distance / (2 * pm)


def first_below(iterations: list[int], values: list[float], threshold: float) -> int | None:
    """The first iteration from which every later value stays below ``threshold``."""
    for i in range(len(values)):
        if all(v < threshold for v in values[i:]):
            return iterations[i]
    return None


def imp_stop(distances: list[list[float]], threshold: float) -> int | None:
    """The IMP round at which the rule stops: the first whose ticket differs from the previous one (round r's
    entry of ``distances``, one value per trial) by less than ``threshold`` (mean over trials)."""
    for r, d in enumerate(distances, start=1):
        if np.mean(d) < threshold:
            return r
    return None


def stopping_row(name: str, rounds: list[dict[str, Any]], threshold: float) -> list[str]:
    """Where the rule stops an IMP run (consecutive tickets differ by the Pm pruned in between) and what the
    stopped ticket gives up against the run's sparsest ticket at or above the dense net's accuracy."""
    pm = [rd["ticket"]["pm"][0] for rd in rounds]
    accuracy = [100 * np.mean(rd["ticket"]["early_stop_accuracy"]) for rd in rounds]
    stop = imp_stop([[pm[r - 1] - pm[r]] for r in range(1, len(pm))], threshold)
    matching = [r for r in range(len(pm)) if accuracy[r] >= accuracy[0]]
    best = min(matching, key=lambda r: pm[r])
    if stop is None:
        return [name, "never", "–", f"{best} ({100 * pm[best]:.1f}%), {accuracy[best]:.2f}", "0"]
    return [name, f"{stop} ({100 * pm[stop]:.1f}%)", f"{accuracy[stop]:.2f}",
            f"{best} ({100 * pm[best]:.1f}%), {accuracy[best]:.2f}", f"{len(pm) - 1 - stop} of {len(pm) - 1}"]


def _trajectory_panel(ax: Any, run: dict[str, Any], title: str, threshold: float) -> None:
    """One net's distance of the mask at iteration t to the final one: a colour per level, solid over all
    weights and dashed over the survivors; the legend (levels, then the two measures) below the panel."""
    its = np.array(run["iterations"]) / run["iterations"][-1] * 100
    handles, labels = [], []
    for i, level in enumerate(run["levels"]):
        d = np.array(level["distance"])                                 # [trials, points]
        handles += ax.plot(its, d.mean(0), color=COLORS[i])
        labels.append(f"Pm {100 * level['pm']:.1f}%")
        ax.plot(its, d.mean(0) / (2 * level["pm"]), color=COLORS[i], linestyle="--")
    handles += [Line2D([], [], color="k"), Line2D([], [], color="k", linestyle="--")]
    labels += ["of all weights", "of the survivors"]
    ax.axhline(threshold, color="k", linewidth=0.7, linestyle=":")
    ax.set_xlabel("percent of the training")
    ax.set_ylabel("distance to the final mask")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    panel_legend_below(ax, (handles, labels))


NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def _imp_panel(ax: Any, imp: dict[str, Any], threshold: float) -> None:
    """Right panel: the distance between consecutive IMP tickets of the mnist_v1 run vs the earlier Pm."""
    pm_before = [100 * np.mean(p) for p in imp["pm"][:-1]]
    ax.plot(pm_before, [np.mean(d) for d in imp["distance"]], marker="o", markersize=3, label="of all weights")
    ax.plot(pm_before, [np.mean(d) for d in imp["relative"]], marker="o", markersize=3, linestyle="--",
            label="of the earlier ticket's survivors")
    ax.axhline(threshold, color="k", linewidth=0.7, linestyle=":", label=f"the rule's {100 * threshold:g}%")
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.get_xaxis().set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("Pm of the earlier ticket (%)")
    ax.set_ylabel("distance to the next round's ticket")
    ax.set_title("IMP (mnist_v1 run): consecutive tickets", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    panel_legend_below(ax)


def distance_figure(path: Path, r: dict[str, Any], threshold: float) -> None:
    """LeNet's and Conv-2's mask at iteration t vs at the end, and consecutive IMP tickets, in one figure."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    _trajectory_panel(axes[0], r["lenet"], "LeNet-300-100 (MNIST): mask at iteration t vs at the end", threshold)
    _trajectory_panel(axes[1], r["conv2"], "Conv-2 (CIFAR-10): mask at iteration t vs at the end", threshold)
    _imp_panel(axes[2], r["imp_mnist_v1"], threshold)
    fig.suptitle("When unstructured masks settle (the follow-ups post's Hamming-distance rule)", fontsize=10)
    save_figure(fig, path)


def settle_table(r: dict[str, Any], threshold: float) -> str:
    """Per net and level: the distance at the first record and the iteration from which it stays below the
    threshold, over all weights and over the survivors."""
    rows = []
    for net, title in (("lenet", "LeNet-300-100"), ("conv2", "Conv-2")):
        run = r[net]
        for level in run["levels"]:
            d = np.array(level["distance"]).mean(0)
            absolute = first_below(run["iterations"], list(d), threshold)
            rel = first_below(run["iterations"], [relative(v, level["pm"]) for v in d], threshold)
            share = lambda it: "never" if it is None else f"{it} ({100 * it / run['iterations'][-1]:.0f}%)"  # noqa: E731
            rows.append([title, f"{100 * level['pm']:.1f}%", f"{d[0]:.3f}", share(absolute), share(rel)])
    return markdown_table(["net", "level (Pm)", "distance at the first record", f"below {100 * threshold:g}% of "
                           "all weights from iteration", f"below {100 * threshold:g}% of the survivors from "
                           "iteration"], rows)


def rules_table(results: Path, threshold: float) -> str:
    """Where the rule stops each IMP run of the pipeline that has results, and what the stopped ticket gives up."""
    rule_rows = []
    for name, rel_path in (("LeNet-300-100, v1 setup (`mnist_v1`)", "mnist_v1/lenet.json"),
                           ("LeNet-300-100, final paper (`mnist`)", "mnist/lenet.json"),
                           ("Conv-2 (`cifar_conv@conv2-plain`)", "cifar/conv2_plain.json")):
        if (results / rel_path).exists():
            rule_rows.append(stopping_row(name, read_json(results / rel_path)["rounds"], threshold))
    return markdown_table(["IMP run", "rule stops at round (Pm)", "ticket there: acc. %",
                           "sparsest ticket at or above dense: round (Pm), acc. %", "rounds the rule saves"],
                          rule_rows)


def _intro(r: dict[str, Any], threshold: float) -> str:
    """The section's title, run facts, what is measured and the figure."""
    c = r["config"]
    facts = (f"; {c['trials']} trials; LeNet {c['lenet_iterations']} iterations (recorded every "
             f"{c['lenet_record_every']}), Conv-2 at width {c['conv2_width']:g} {c['conv2_iterations']} iterations "
             f"(every {c['conv2_record_every']})")
    counts = {len(r[net]["levels"]) for net in ("lenet", "conv2")}
    levels = " or ".join(NUMBER_WORDS.get(n, str(n)) for n in sorted(counts))
    return f"""## When unstructured masks settle: the Hamming-distance stopping rule

{run_facts(r, facts)}

The follow-ups post ends with a rule borrowed from early-bird tickets: stop the IMP search once consecutive
tickets differ by less than 10%. The distance here is the normalised Hamming distance, the fraction of all
prunable weights on which two masks differ (dashed: as a fraction of the survivors instead). Left and middle:
the one-shot magnitude mask drawn from the weights at iteration t of a dense training, against the one drawn
at its end, at {levels} levels. Right: the tickets of consecutive IMP rounds of the `mnist_v1` run (its kept
masks).

![mask distance](figures/mask_distance.png)

*Distance of the mask at iteration t to the final mask (LeNet, Conv-2), and between consecutive IMP tickets;
the dotted line is the rule's {100 * threshold:g}%.*
"""


def _rule_paragraph(r: dict[str, Any], threshold: float) -> str:
    """Why the rule over all weights says nothing at sparse levels, and where it stops the mnist_v1 IMP run."""
    imp = r["imp_mnist_v1"]
    sparse = sorted({f"Pm {100 * lv['pm']:.1f}%" for net in ("lenet", "conv2") for lv in r[net]["levels"]
                     if 2 * lv["pm"] < threshold})
    vacuous = "here " + ", ".join(sparse) if sparse else "none of this run's levels"
    stop, rel_stop = imp_stop(imp["distance"], threshold), imp_stop(imp["relative"], threshold)
    rel_text = "never stops" if rel_stop is None else f"stops at round {rel_stop}"
    stop_text = "never stops" if stop is None else f"stops at round {stop}"
    # IMP masks are nested: consecutive tickets differ by exactly the weights pruned in between, so every
    # lottery's distances follow from its Pm ladder (checked on the saved mnist_v1 masks)
    nested_gap = max(abs(np.mean(d) - (np.mean(imp["pm"][r]) - np.mean(imp["pm"][r + 1])))
                     for r, d in enumerate(imp["distance"]))
    return f"""Measured over all weights, two masks of Pm p can differ by at most 2p, so at a level with 2p below the rule's
{100 * threshold:g}% ({vacuous}) the distance is below it from the first iteration, whatever is learned: the rule
needs the survivors' fraction to say anything there. For IMP the
masks are nested, so consecutive tickets differ by exactly the weights pruned in between: over all weights
that is the rate times the earlier Pm, over the survivors the rate itself ({100 * np.mean(imp['relative'][0]):.0f}%
every round). The rule over all weights therefore {stop_text} on the `mnist_v1` run whatever the
tickets learn, and over the survivors it {rel_text} (the saved masks agree with the Pm ladder to
{nested_gap:.1g}). The same holds for every IMP run of the pipeline; where the rule stops, and what the
stopped ticket gives up against the run's sparsest ticket that still matches the dense net (the LTH's winning
ticket):"""


def mask_distance_finding(r: dict[str, Any], threshold: float) -> str:
    """Where the stopping rule stops the mnist_v1 IMP search, over all weights and over the survivors."""
    imp = r["imp_mnist_v1"]
    stops = {how: imp_stop(imp[key], threshold) for how, key in (("all weights", "distance"),
                                                                   ("the survivors", "relative"))}
    where = {how: "never stops" if stop is None else
             f"stops at round {stop} (Pm {100 * np.mean(imp['pm'][stop]):.1f}%)" for how, stop in stops.items()}
    return (f"the {100 * threshold:g}% rule on the `mnist_v1` IMP search {where['all weights']} over all weights, "
            f"whatever the tickets learn; over the survivors (each round changes "
            f"{100 * np.mean(imp['relative'][0]):.0f}% of them) it {where['the survivors']}")


def mask_distance_section(results: Path, figures: Path) -> Section | None:
    """The unstructured-mask-distance section (None when the mask_distance stage has not run)."""
    path = results / "mask_distance" / "distances.json"
    if not path.exists():
        return None
    r = read_json(path)
    threshold = r["config"]["threshold"]
    distance_figure(figures / "mask_distance.png", r, threshold)
    text = (f"{_intro(r, threshold)}\n{settle_table(r, threshold)}\n\n{_rule_paragraph(r, threshold)}\n\n"
            f"{rules_table(results, threshold)}\n\nNo statement of a paper is tested here (the rule is a heuristic); "
            "see the early-bird section for You et al.'s.\n")
    return Section(text, [], r["profile"], scale=[RunConfig("LeNet-300-100 and Conv-2", "mask_distance", r["config"])],
                   finding=mask_distance_finding(r, threshold))
