"""Early-bird tickets (You et al. 2019) on a VGG with batch norm: the mask-distance matrices over the search's
epochs, the epoch each ratio's ticket is drawn, the retrained tickets' accuracy and training FLOPs, and the
statements tested on this run."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lth.report import early_bird_claims
from lth.report.common import Section, markdown_table, plt, read_json, run_facts, save_figure
from lth.report.figures import figure_title, run_scale
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.records import FAILS, Verdict
from lth.report.ledger.rules import at_least, at_most, reduced_scale, unless_reduced, untestable
from lth.report.ledger.statistics import Tolerance, mean_tolerance
from lth.report.scale import RunConfig


def _paired(retrained: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(early-bird, after-training) pairs of the same ratio and trial."""
    by = {(m["ratio"], m["trial"], m["kind"]): m for m in retrained}
    return [(by[(r, t, "early_bird")], by[(r, t, "after_training")]) for r, t, kind in by
            if kind == "early_bird" and (r, t, "after_training") in by]


def early_bird_verdicts(result: dict[str, Any]) -> list[Verdict]:
    """You et al.'s statements, measured on this run."""
    claims = {c.key: c for c in early_bird_claims.CLAIMS}
    epochs = result["epochs"]
    drawn = [e for r in result["ratios"].values() for e in r["early_bird_epoch"]]
    out = []
    resolution = 100 / epochs
    how = f"one epoch of {epochs} ({resolution:.1f}% of the search): masks are drawn once per epoch"
    if any(e is None for e in drawn):
        out.append(Verdict(claims["eb_early"], FAILS, None, resolution, how,
                           "some ratio's ticket is never drawn within the search"))
    else:
        out.append(at_most(claims["eb_early"], 100 * max(drawn) / epochs, Tolerance(resolution, how),
                           "the tickets are drawn later than 20% of the search"))
    pairs = _paired(result["retrained"])
    out += (_retrained_verdicts(claims, pairs) if pairs else
            [untestable(claims[k], "no ticket retrained") for k in ("eb_accuracy", "eb_savings")])
    return unless_reduced(out, reduced_scale(result["config"], [f"{epochs} epochs"] if epochs < 160 else []))


def _retrained_verdicts(claims: dict[str, Any], pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[Verdict]:
    """The retrained tickets' statements: accuracy and training cost of early-bird vs after-training tickets."""
    gap, tol = mean_tolerance([100 * (a["accuracy"] - b["accuracy"]) for a, b in pairs], "pair (ratio x trial)")
    saving, tol_saving = mean_tolerance([b["total_flops"] / a["total_flops"] for a, b in pairs],
                                        "pair (ratio x trial)")
    return [at_least(claims["eb_accuracy"], gap, tol, "the early-bird ticket retrains worse here"),
            at_least(claims["eb_savings"], saving, tol_saving, "the early-bird scheme saves less training here")]


SOURCE = "You et al.'s Fig. 1"


def distance_figure(path: Path, result: dict[str, Any]) -> None:
    """You et al. Fig. 1 style: the distance between the channel masks of every pair of epochs, per ratio
    (trial 0), the early-bird epoch marked."""
    ratios = list(result["ratios"])
    fig, axes = plt.subplots(1, len(ratios), figsize=(4.2 * len(ratios), 3.8), squeeze=False)
    for ax, ratio in zip(axes[0], ratios):
        record = result["ratios"][ratio]
        matrix = np.array(record["distances"][0])
        image = ax.imshow(matrix, cmap="viridis", vmin=0, vmax=max(0.3, float(matrix.max())), origin="upper",
                          extent=(0.5, len(matrix) + 0.5, len(matrix) + 0.5, 0.5))
        bird = record["early_bird_epoch"][0]
        if bird is not None:
            ax.axhline(bird, color="w", linewidth=0.8, linestyle="--")
            ax.axvline(bird, color="w", linewidth=0.8, linestyle="--")
        ax.set_title(f"pruning ratio {float(ratio):g}: drawn at epoch {bird}", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("epoch")
        fig.colorbar(image, ax=ax, fraction=0.046)
    figure_title(fig, "Normalised Hamming distance between the channel masks of two epochs (VGG with batch norm, "
                      f"CIFAR-10, trial 0)\n{run_scale([result]).tag(SOURCE)}", fontsize=10)
    save_figure(fig, path)


def _birds_table(r: dict[str, Any]) -> str:
    """Per pruning ratio: the epoch its early-bird ticket is drawn in each trial, and its share of the search."""
    rows = [[f"{float(ratio):g}", ", ".join("never" if e is None else str(e) for e in v["early_bird_epoch"]),
             ", ".join("–" if e is None else f"{100 * e / r['epochs']:.0f}%" for e in v["early_bird_epoch"])]
            for ratio, v in r["ratios"].items()]
    return markdown_table(["pruning ratio", "early-bird epoch (per trial)", "of the search"], rows)


def _retrained_table(r: dict[str, Any]) -> str:
    """Every retrained ticket: when drawn, channels kept, retrained accuracy and training FLOPs."""
    return markdown_table(
        ["ratio", "trial", "ticket", "drawn at epoch", "channels kept", "retrained test acc. %", "search TFLOPs",
         "retraining TFLOPs", "total TFLOPs"],
        [[f"{m['ratio']:g}", str(m["trial"]), m["kind"].replace("_", " "), str(m["drawn_at_epoch"]),
          f"{m['kept_channels']} of {r['channels']}", f"{100 * m['accuracy']:.2f}", f"{m['search_flops'] / 1e12:.2f}",
          f"{m['retrain_flops'] / 1e12:.2f}", f"{m['total_flops'] / 1e12:.2f}"] for m in r["retrained"]])


def _facts(r: dict[str, Any]) -> str:
    """The run's facts: net, data, search schedule, L1 penalty and retraining length."""
    c = r["config"]
    return (f"; {c['trials']} trials; {c['arch'].upper().replace('VGG', 'VGG-')} with batch norm at width {c['width']:g}, "
             + (f"the first {c['train_examples']:,} training images" if c["train_examples"] else "all training images")
             + f"; {c['epochs']} search epochs of {r['iterations_per_epoch']} iterations (batch {c['batch_size']}, "
             f"SGD {c['lr']:g}, rate / 10 after epochs {', '.join(map(str, c['lr_drop_epochs']))}), L1 {c['l1']:g} "
             f"on the batch-norm scales; retraining {c['retrain_epochs']} epochs")


def early_bird_finding(r: dict[str, Any]) -> str:
    """When the early-bird tickets are drawn, and how the retrained ones compare with tickets from the
    fully trained net in accuracy and training cost."""
    drawn = [e for ratio in r["ratios"].values() for e in ratio["early_bird_epoch"] if e is not None]
    text = (f"channel masks settle: early-bird tickets drawn at epochs {min(drawn)}–{max(drawn)} of {r['epochs']}"
            if drawn else f"no early-bird ticket drawn within {r['epochs']} epochs")
    pairs = _paired(r["retrained"])
    if pairs:
        gap = np.mean([100 * (a["accuracy"] - b["accuracy"]) for a, b in pairs])
        saving = np.mean([b["total_flops"] / a["total_flops"] for a, b in pairs])
        text += (f"; retrained, {gap:+.2f} pp vs tickets of the trained net for {saving:.2f}x less "
                 "training compute")
    return text


def early_bird_section(results: Path, figures: Path) -> Section | None:
    """The early-bird section (None when the early_bird stage has not run)."""
    path = results / "early_bird" / "vgg.json"
    if not path.exists():
        return None
    r = read_json(path)
    c = r["config"]
    distance_figure(figures / "early_bird_distances.png", r)
    birds, retrained = _birds_table(r), _retrained_table(r)
    verdicts = early_bird_verdicts(r)
    reason = reduced_scale(c, [f"{c['epochs']} epochs"] if c["epochs"] < 160 else [])
    scale_note = ("" if reason is None else f"This run is at a {reason.split(');')[0]}); {c['trials']} trial(s); "
                  f"ratio(s) {', '.join(f'{x:g}' for x in c['retrain_ratios'])} retrained. ")
    facts = _facts(r)
    text = f"""## Early-bird tickets (You et al. 2019): channel masks that settle early

{run_facts(r, facts)}

Network slimming as You et al. draw it: the dense VGG trains with an L1 penalty on its batch-norm scales
(gamma); at the end of every epoch a global threshold on |gamma| prunes a fraction (the ratio) of all
{r['channels']} channels; the normalised Hamming distance between two masks is the fraction of channels kept
by one and not the other; the early-bird ticket is drawn at the first epoch whose mask is within
{c['epsilon']:g} of the masks of each of the {c['window'] - 1} epochs before it. It is retrained from its
weights at that epoch with its pruned channels removed, next to the ticket pruned from the fully trained net
(train, prune, retrain); both retrain {c['retrain_epochs']} epochs on the same batches. Training cost is
counted in FLOPs (3 passes of 2 FLOPs per multiply-add of every convolution and the fc layer, from the
channels each step had; batch norm and pooling left out). Dense test accuracy after the search:
{', '.join(f'{100 * a:.2f}%' for a in r['search_accuracy'])}.

![mask distances](figures/early_bird_distances.png)

*Distance between the channel masks of every pair of epochs for each pruning ratio, the early-bird epoch
dashed (You et al. draw their VGG-16 at 160 epochs); {run_scale([r]).tag(SOURCE)}.*

{birds}

{retrained}

{scale_note}Not run: PreResNet-101, and the low-precision search.

**You et al.'s statements, on this run:**

{ledger_table(verdicts)}
"""
    return Section(text, verdicts, r["profile"], early_bird_claims.HEADLINE,
                   scale=[RunConfig(c["arch"], "early_bird", c)], finding=early_bird_finding(r))
