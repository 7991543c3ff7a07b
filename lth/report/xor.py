"""XOR section of the report: the paper's two XOR tables (v1, Section 2) beside ours, and their figure."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lth.report import papers
from lth.report.common import Section, markdown_table, plt, read_json, run_facts, save_figure

HEURISTIC_NAMES = {"input_magnitude": "Input magnitude", "output_magnitude": "Output magnitude",
                   "product": "Product"}
MODE_NAMES = {"one_shot": "One-shot", "iterative": "Iterative"}


def _fmt(rate: dict[str, Any], key: str) -> str:
    return f"{rate[key]:.1f} ± {rate[key + '_se']:.1f}"


def xor_figure(result: dict[str, Any], path: Path) -> None:
    """Success rates vs width: random init (measured and paper) and pruned tickets, DB and ZL panels."""
    random_init = result["random_init"]
    widths = sorted(int(w) for w in random_init)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, key, label in zip(axes, ("db", "zl"), ("found the decision boundary", "reached zero loss")):
        ax.errorbar(widths, [random_init[str(w)][key] for w in widths],
                    yerr=[random_init[str(w)][key + "_se"] for w in widths], marker="o", color="tab:gray",
                    label="random init (ours)", capsize=3)
        paper_widths = [w for w in widths if w in papers.XOR_RANDOM_INIT]
        ax.plot(paper_widths, [papers.XOR_RANDOM_INIT[w][key == "zl"] for w in paper_widths], "x--",
                color="tab:gray", alpha=0.6, label="random init (paper)")
        colours = {"one_shot": "tab:orange", "iterative": "tab:blue"}
        for mode, by_heuristic in result["pruning"].items():
            if mode == "dense" or "product" not in by_heuristic:
                continue
            units = sorted(int(u) for u in by_heuristic["product"])
            ax.errorbar(units, [by_heuristic["product"][str(u)][key] for u in units],
                        yerr=[by_heuristic["product"][str(u)][key + "_se"] for u in units], marker="s",
                        linestyle="none", color=colours[mode], capsize=3,
                        label=f"{MODE_NAMES[mode].lower()} pruned from 10, reset (ours)")
            paper_row = papers.XOR_PRUNING.get((mode, "product"), {})
            paper_units = [u for u in units if u in paper_row]
            ax.plot(paper_units, [paper_row[u][key == "zl"] for u in paper_units], "x", markersize=9,
                    color=colours[mode], label=f"{MODE_NAMES[mode].lower()} pruned (paper)")
        ax.set_xlabel("hidden units")
        ax.set_title(f"XOR: % of nets that {label}")
        ax.set_xticks(widths)
        ax.set_ylim(0, 102)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"% of {result['config']['trials']} trials")
    axes[1].legend(loc="lower right", fontsize=8)
    fig.suptitle(f"Winning tickets train where random nets of the same width fail "
                 f"(profile {result['profile']})", fontsize=11)
    save_figure(fig, path)


def xor_section(results: Path, figures: Path) -> Section | None:
    """Both XOR tables with the paper's numbers beside ours, the figure, and the choices we made."""
    path = results / "xor" / "results.json"
    if not path.exists():
        return None
    result = read_json(path)
    config, random_init, pruning = result["config"], result["random_init"], result["pruning"]
    metrics: dict[str, dict[str, float | None]] = {}
    widths = sorted((int(w) for w in random_init), reverse=True)
    rows = []
    for key, name in (("db", "DB"), ("zl", "ZL")):
        row = [name + " ours"] + [_fmt(random_init[str(w)], key) for w in widths]
        rows.append(row)
        rows.append([name + " paper"] + [f"{papers.XOR_RANDOM_INIT[w][key == 'zl']:.1f}"
                                         if w in papers.XOR_RANDOM_INIT else "–" for w in widths])
        for w in widths:
            metrics[f"random_{w}_units_{key}"] = {
                "measured": random_init[str(w)][key],
                "paper": papers.XOR_RANDOM_INIT[w][key == "zl"] if w in papers.XOR_RANDOM_INIT else None}
    table1 = markdown_table(["%"] + [f"{w} units" for w in widths], rows)

    targets = sorted((int(t) for t in config["pruning"]["targets"]), reverse=True)
    start = config["pruning"]["start_units"]
    header = ["Pruning strategy", "source"] + [f"{start} units DB / ZL"] + \
             [f"{t} units (pruned) DB / ZL" for t in targets]
    rows = []
    dense = pruning["dense"]
    for mode in ("one_shot", "iterative"):
        for heuristic in config["pruning"]["heuristics"]:
            if mode not in pruning:
                continue
            ours = pruning[mode][heuristic]
            name = f"{MODE_NAMES[mode]} {HEURISTIC_NAMES[heuristic].lower()}"
            rows.append([name, "ours", f"{dense['db']:.1f} / {dense['zl']:.1f}"] +
                        [f"{ours[str(t)]['db']:.1f} / {ours[str(t)]['zl']:.1f}" for t in targets])
            paper_row = papers.XOR_PRUNING.get((mode, heuristic))
            if paper_row:
                rows.append(["", "paper", "{:.1f} / {:.1f}".format(*paper_row.get(start, ("–", "–")))
                             if start in paper_row else "–"] +
                            ["{:.1f} / {:.1f}".format(*paper_row[t]) if t in paper_row else "–" for t in targets])
            for t in targets:
                for key in ("db", "zl"):
                    metrics[f"{mode}_{heuristic}_{t}_units_{key}"] = {
                        "measured": ours[str(t)][key],
                        "paper": paper_row[t][key == "zl"] if paper_row and t in paper_row else None}
    table2 = markdown_table(header, rows)
    figure = figures / "xor_success_rates.png"
    xor_figure(result, figure)
    se = max(max(r["db_se"], r["zl_se"]) for r in random_init.values())
    text = f"""## XOR: winning tickets in 2-H-1 networks (paper v1, Section 2)

{run_facts(result, f"; {config['trials']} trials per configuration (largest standard error {se:.2f} pp)")}

A net **finds the decision boundary (DB)** when it classifies all four XOR points correctly after
{config['iterations']} full-batch iterations, and **reaches zero loss (ZL)** when its mean binary
cross-entropy on the four points is below {config['zero_loss_threshold']}. Rates are % of trials ± one
binomial standard error.

**Random initialisation** (the paper's first XOR table):

{table1}

**Pruning from {start} hidden units**, survivors reset to their original initialisation and retrained
(the paper's second XOR table; iterative pruning removes {config['pruning']['units_per_round']} units per
round; the {start}-unit column is the unpruned network of the same trials):

{table2}

![XOR success rates](figures/{figure.name})

*Figure: success rates vs. hidden units: random initialisation (grey) against nets pruned from {start} units
with the product heuristic and reset to their initialisation (blue/orange); crosses are the paper's numbers.*

**What the paper leaves open and we chose** (all are `xor` params): hidden activation
`{config['activation']}` with a sigmoid output and binary cross-entropy; optimizer `{config['optimizer']}` at
lr {config['lr']}; weights N(0, {config['init_std']}) (init `{config['init']}`), biases 0; DB/ZL judged after
the last iteration; the input-magnitude heuristic scores a unit by the mean |incoming weight|, the
output-magnitude one by its |outgoing weight|, the product by |outgoing| × Σ|incoming|.
Rates over all trials, including those whose unpruned net failed.
"""
    return Section(text, metrics)
