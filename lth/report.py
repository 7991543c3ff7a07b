"""Figures (matplotlib) and the Markdown report, built from ``results/`` only.

Each experiment contributes a section builder that reads its results JSON and returns Markdown plus the
paper-vs-measured numbers for ``reports/metrics.json``. A section whose results are absent is skipped and
listed as not run, never invented.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lth import paper  # noqa: E402

HEURISTIC_NAMES = {"input_magnitude": "Input magnitude", "output_magnitude": "Output magnitude",
                   "product": "Product"}
MODE_NAMES = {"one_shot": "One-shot", "iterative": "Iterative"}


@dataclass
class Section:
    """One report section: Markdown text and its paper-vs-measured metrics."""
    markdown: str
    metrics: dict[str, dict[str, float | None]] = field(default_factory=dict)


def read_json(path: Path) -> Any:
    """Parse a results file."""
    return json.loads(path.read_text())


def run_facts(result: dict[str, Any], extra: str = "") -> str:
    """The line every section starts with: profile, trials, device and library versions."""
    env = result["environment"]
    return (f"*Profile `{result['profile']}`{extra}; device {env['device']}; torch {env['torch']}, "
            f"torchvision {env['torchvision']}, Python {env['python']}.*")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _fmt(rate: dict[str, Any], key: str) -> str:
    return f"{rate[key]:.1f} ± {rate[key + '_se']:.1f}"


# ---------------------------------------------------------------------------------------------------- XOR
def xor_figure(result: dict[str, Any], path: Path) -> None:
    """Success rates vs width: random init (measured and paper) and pruned tickets, DB and ZL panels."""
    random_init = result["random_init"]
    widths = sorted(int(w) for w in random_init)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, key, label in zip(axes, ("db", "zl"), ("found the decision boundary", "reached zero loss")):
        ax.errorbar(widths, [random_init[str(w)][key] for w in widths],
                    yerr=[random_init[str(w)][key + "_se"] for w in widths], marker="o", color="tab:gray",
                    label="random init (ours)", capsize=3)
        paper_widths = [w for w in widths if w in paper.XOR_RANDOM_INIT]
        ax.plot(paper_widths, [paper.XOR_RANDOM_INIT[w][key == "zl"] for w in paper_widths], "x--",
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
            paper_row = paper.XOR_PRUNING.get((mode, "product"), {})
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
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
        rows.append([name + " paper"] + [f"{paper.XOR_RANDOM_INIT[w][key == 'zl']:.1f}"
                                         if w in paper.XOR_RANDOM_INIT else "–" for w in widths])
        for w in widths:
            metrics[f"random_{w}_units_{key}"] = {
                "measured": random_init[str(w)][key],
                "paper": paper.XOR_RANDOM_INIT[w][key == "zl"] if w in paper.XOR_RANDOM_INIT else None}
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
            paper_row = paper.XOR_PRUNING.get((mode, heuristic))
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


def data_section(results: Path) -> Section | None:
    """What each data stage prepared (split sizes and the validation split's fingerprint)."""
    folder = results / "data"
    infos = [read_json(p) for p in sorted(folder.glob("*.json"))] if folder.exists() else []
    if not infos:
        return None
    rows = [[i["dataset"], str(i["train"]), str(i["validation"]), str(i["test"]),
             "×".join(map(str, i["image_shape"])), f"{i['split_seed']} / `{i['validation_index_sha256']}`"]
            for i in infos]
    table = markdown_table(["dataset", "train", "validation", "test", "image", "split seed / hash"], rows)
    overridden = [i["dataset"] for i in infos if i.get("md5_overridden")]
    note = (f"\n\n**Checksums overridden for {', '.join(overridden)} (test data, not the real sets).**"
            if overridden else "")
    return Section(f"## Data\n\ntorchvision datasets, md5-checked against torchvision's checksums; the validation"
                   f" images are held out of the training set by a fixed seed.\n\n{table}{note}\n")


def _sections() -> list[Callable[[Path, Path], Section | None]]:
    from lth.report_cifar import cifar_section
    from lth.report_mnist import mnist_section
    return [xor_section, mnist_section, cifar_section]


NOT_YET = ["MNIST anatomy of tickets (surviving init distributions, connectivity) and the parameter sweeps "
           "(init scale, network size, pruning rate)",
           "follow-ups: supermasks and mask criteria, early-bird tickets, layerwise importance metrics"]


def build_report(results: Path, reports: Path, commit: str) -> dict[str, Any]:
    """Write reports/report.md, reports/figures/*.png and reports/metrics.json from ``results``."""
    figures = reports / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, Any] = {}
    parts, missing = [], []
    for builder in _sections():
        name = builder.__name__.removesuffix("_section")
        section = builder(results, figures)
        if section is None:
            missing.append(f"{name}: no results in `{results}/{name}/` (run `dvc repro {name}`)")
            continue
        parts.append(section.markdown)
        metrics[name] = section.metrics
    data = data_section(results)
    if data is not None:
        parts.append(data.markdown)
    pending = "\n".join(f"- {item}" for item in missing + NOT_YET)
    header = f"""# The Lottery Ticket Hypothesis, reproduced

Regenerated by `dvc repro` from `results/` (code commit `{commit}`); every number and figure below comes from
a run of this repository's code at the committed `params.yaml`. Paper numbers are quoted beside ours.

"""
    footer = f"""## Not reproduced yet

These experiments of the source papers are not part of the pipeline yet, so nothing is shown for them:

{pending}
"""
    (reports / "report.md").write_text(header + "\n".join(parts) + "\n" + footer)
    return metrics
