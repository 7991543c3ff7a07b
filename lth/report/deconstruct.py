"""Zhou et al. (2019), "Deconstructing Lottery Tickets", on LeNet-300-100: mask criteria, mask-1 and mask-0
actions vs Pm, the untrained and the learned supermasks, and the statements of the follow-ups post tested
on these runs."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lth.report import deconstruct_claims
from lth.report.common import Section, markdown_table, plt, pm_axis, read_json, run_facts, save_figure
from lth.report.figures import PmAxis, PmSeries, figure_title, legend_below, pm_figure
from lth.report.findings import mean_accuracy
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.records import Claim, Verdict
from lth.report.ledger.rules import equals, exceeds, unless_reduced, untestable
from lth.report.ledger.statistics import Spread, versus_paper
from lth.report.net_studies import (COLORS, CONV_NETS, NET_TITLES, claims_for, compare, conv_reduced,
                                    figure_name, not_run_note, study_scale, variants_spread)
from lth.report.scale import RunConfig

BASE = "criterion/large_final"
SIGN_KEPT = "mask1/any_init_sign"
PM_AXIS = PmAxis("percent of weights remaining (Pm)", minor_ticks=False)
CRITERIA_DEFINED = {
    "large_final": "|w_f| (the LTH's)", "small_final": "-|w_f|", "large_init": "|w_i|", "small_init": "-|w_i|",
    "large_init_large_final": "min(|w_i|, |w_f|)", "small_init_small_final": "-max(|w_i|, |w_f|)",
    "magnitude_increase": "|w_f| - |w_i|", "movement": "|w_f - w_i|", "random": "uniform noise",
}


def level_rounds(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The levels as rounds of the Pm figures: every variant a role, the LTH's ticket also as ``ticket``."""
    return [{"round": lv["round"], "ticket": lv["variants"][BASE], **lv["variants"]} for lv in result["levels"]]


def with_sign_kept(rounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The levels with the three re-initialisations that keep the initial signs (reinit, reshuffle, constant)
    pooled as one role, ``SIGN_KEPT``, where all three were trained."""
    variants = [f"mask1/{a}_init_sign" for a in ("reinit", "reshuffle", "constant")]
    if not all(v in r for r in rounds for v in variants):
        return rounds
    return [{**r, SIGN_KEPT: {"early_stop_accuracy": [a for v in variants for a in r[v]["early_stop_accuracy"]]}}
            for r in rounds]


def deconstruct_verdicts(result: dict[str, Any], net: str = "lenet") -> list[Verdict]:
    """The follow-ups post's statements on Zhou et al., measured on one net's run (the supermask statements,
    about MNIST, on LeNet's only)."""
    claims = claims_for(deconstruct_claims.CLAIMS, net)
    levels = level_rounds(result)
    spread = variants_spread(levels, list(result["levels"][0]["variants"]))
    rounds = with_sign_kept(levels)
    out = []
    suffix = "" if net == "lenet" else f"_{net}"

    def compared(key: str, a: str, b: str, test: Any, why: str) -> None:
        value, tol = compare(rounds, a, b, spread)
        claim = claims[key + suffix]
        out.append(untestable(claim, f"{a} or {b} not trained at this profile") if tol is None
                   else test(claim, value, tol, why))

    compared("zhou_magnitude_increase_competitive", "criterion/magnitude_increase", BASE, equals,
             "magnitude_increase differs from large_final by more than the tolerance")
    for c in ("large_init", "small_init", "small_final"):
        compared(f"zhou_{c}_worse", BASE, f"criterion/{c}", exceeds, f"{c} is not significantly less accurate")
    for a in ("reinit", "reshuffle", "constant"):
        compared(f"zhou_sign_matters_{a}", f"mask1/{a}_init_sign", f"mask1/{a}", exceeds,
                 "the initial signs do not help significantly")
    compared("zhou_sign_kept_mildly_worse", BASE, SIGN_KEPT, exceeds,
             "the re-initialisations with the initial signs are not significantly worse than rewinding")
    compared("zhou_zero_beats_freeze", BASE, "mask0/freeze_init", exceeds,
             "zeroing is not significantly better than freezing at init here")
    compared("zhou_freeze_moved_away_beats_zero", "mask0/freeze_moved_away", BASE, exceeds,
             "not significantly better than zeroing here")
    if net != "lenet":
        return unless_reduced(out, conv_reduced(result["config"]))
    return out + _supermask_verdicts(result, claims)


def _supermask_verdicts(result: dict[str, Any], claims: dict[str, Claim]) -> list[Verdict]:
    """'Up to 86%' (the supermask's best level equals it) and 'far above chance', with the trial spread of that
    level alone: the supermasks' accuracy ranges from chance to its peak over the levels, and so does its trial
    spread, and a trial's masks at every level come from one trained net, so the levels' spreads are neither
    alike nor independent (pooled, the tolerance moved between two draws enough to flip "up to 86%";
    docs/claims-ledger.md, session 32)."""
    keys = ("zhou_supermask_86", "zhou_supermask_above_chance")
    signed = result["supermasks"].get("large_final_same_sign, signed constant")
    if signed is None:
        return [untestable(claims[k], "supermask not evaluated") for k in keys]
    accuracy = 100 * np.array(signed["accuracy"])                      # [levels, trials]
    best = int(np.argmax(accuracy.mean(1)))
    spread = Spread.of([list(accuracy[best])], "its trials at its best level")
    tol = versus_paper(spread, accuracy.shape[1], claims[keys[0]].paper_trials)
    mean = float(accuracy[best].mean())
    where = f" (best level Pm {100 * signed['pm'][best]:.1f}% of {accuracy.shape[0]}, no correction for the choice)"
    return [equals(claims[keys[0]], mean, tol, "our best supermask level differs from Zhou et al.'s maximum" + where),
            exceeds(claims[keys[1]], mean, tol, "not above chance" + where)]


def _series(rounds: list[dict[str, Any]], roles: list[tuple[str, str]]) -> list[PmSeries]:
    return [PmSeries(rounds, role, label, COLORS[i % len(COLORS)], "-" if i == 0 else "--")
            for i, (role, label) in enumerate(roles) if any(role in r for r in rounds)]


SOURCES = {"criteria": "Zhou et al.'s mask-criteria figure", "mask1": "Zhou et al.'s mask-1 figure",
           "mask0": "Zhou et al.'s mask-0 figure", "supermask": "Zhou et al.'s supermask figure"}


def _tags(r: dict[str, Any], net: str) -> dict[str, str]:
    """Whether each family's figure of one net's run replicates Zhou et al.'s or illustrates it (reduced)."""
    scale = study_scale(r, net, len(r["levels"]))
    return {kind: scale.tag(source) for kind, source in SOURCES.items() if kind != "supermask"}


def _supermask_tag(r: dict[str, Any]) -> str:
    """Whether the supermask figure replicates Zhou et al.'s or illustrates it (reduced), over its levels."""
    levels = max((len(record["pm"]) for record in r["supermasks"].values()), default=0)
    return study_scale(r, "lenet", levels).tag(SOURCES["supermask"])


def supermask_figure(path: Path, result: dict[str, Any]) -> None:
    """Test accuracy of the untrained supermasks vs Pm (mean, min-max over trials), with the learned one."""
    fig, ax = plt.subplots(figsize=(7, 4.3))
    pms: list[float] = []
    for i, (name, record) in enumerate(result["supermasks"].items()):
        pm = 100 * np.array(record["pm"])
        acc = 100 * np.array(record["accuracy"])
        pms += list(pm)
        ax.errorbar(pm, acc.mean(1), yerr=[acc.mean(1) - acc.min(1), acc.max(1) - acc.mean(1)], color=COLORS[i],
                    marker="o", markersize=3, capsize=2, label=name)
    learned = result.get("learned_supermask") or {}
    if learned:
        pm, acc = 100 * np.array(learned["pm"]), 100 * np.array(learned["early_stop_accuracy"])
        ax.scatter(pm, acc, marker="*", s=90, color="k", zorder=5, label="learned supermask (init values), trials")
        pms += list(pm)
    ax.axhline(10, color="k", linewidth=0.7, linestyle=":", label="chance (10%)")
    pm_axis(ax, (max(pms) * 1.15, min(pms) / 1.15), [100, 50, 20, 10, 5, 2, 1], "percent of weights remaining (Pm)",
            "test accuracy, untrained (%)", True)
    legend_below(fig, [ax])
    figure_title(fig, f"Zhou et al.: supermasks on the untrained LeNet-300-100 (MNIST)\n{_supermask_tag(result)}",
                 fontsize=10)
    save_figure(fig, path)


def _level_table(rounds: list[dict[str, Any]], roles: list[str]) -> str:
    rows = []
    for role in roles:
        if not all(role in r for r in rounds):
            continue
        cells = [f"{100 * np.mean(r[role]['early_stop_accuracy']):.2f}" for r in rounds]
        rows.append([role.split("/", 1)[1]] + cells)
    return markdown_table(["variant"] + [f"Pm {100 * r['ticket']['pm'][0]:.1f}%" for r in rounds], rows)


def _learned_line(r: dict[str, Any]) -> str:
    """The learned supermask's accuracy and density ('' when it was not trained)."""
    c, learned = r["config"], r.get("learned_supermask") or {}
    if not learned:
        return ""
    return (f"The **learned supermask** (scores trained by Adam at {c['learned_lr']:g} for at most "
            f"{c['learned_iterations']} iterations on the fixed initial weights, a hard threshold "
            "forward and the sigmoid's gradient backward, biases fixed at 0) reaches "
            f"{100 * np.mean(learned['early_stop_accuracy']):.2f}% "
            f"(trials {', '.join(f'{100 * a:.2f}' for a in learned['early_stop_accuracy'])}) keeping "
            f"{100 * np.mean(learned['pm']):.1f}% of the weights (the seeds quote no number for it: "
            "not in the ledger).")


def _lenet_setup(r: dict[str, Any]) -> str:
    """The section's title, run facts, LeNet's setup and the table of mask criteria."""
    c, dense = r["config"], r["dense"]
    stop = f", stopped {c['patience']} after the best" if c.get("patience") else ""
    facts = (f"; {c['trials']} trials; dense net and every variant at most {c['iterations']} iterations at batch "
             f"{c['batch_size']}, evaluated every {c['eval_every']}{stop}")
    criteria_rows = [[k, CRITERIA_DEFINED.get(k, "").replace("|", "\\|")] for k in c["criteria"]]
    return f"""## Deconstructing lottery tickets (Zhou et al. 2019): mask criteria, signs, zeros and supermasks

{run_facts(r, facts)}

LeNet-300-100 on MNIST in the final paper's setup (Glorot init, Adam 1.2e-3, batch 60). Each trial trains one
dense net (test accuracy at early stop {', '.join(f'{100 * a:.2f}%' for a in dense['early_stop_accuracy'])}); a
variant's mask comes from that net's initial weights w_i and trained weights w_f, **one-shot** at the LTH's
per-layer rates ({100 * c['hidden_rate']:g}% of each hidden layer, {100 * c['output_rate']:g}% of the output
layer, per level's worth of rounds). Every variant of a trial and level trains on the same batches, all in
one population (the mask-0 variants in a second one whose model adds the frozen values). Mask criteria (keep
the highest score):

{markdown_table(["criterion", "score"], criteria_rows)}

"""


def _lenet_families(r: dict[str, Any], roles: list[str]) -> str:
    """LeNet's three families' figures with their captions, and the accuracy table of every variant."""
    rounds, tags = level_rounds(r), _tags(r, "lenet")
    return f"""![mask criteria](figures/deconstruct_criteria.png)

*Mask criteria, each rewound to its initial values with the pruned weights at 0 (early-stop iteration and test
accuracy at early stop vs Pm per criterion); {tags['criteria']}.*

![mask-1 actions](figures/deconstruct_mask1.png)

*Mask-1 actions on the large_final mask: rewind (the LTH's), a fresh draw (reinit), the layer's kept initial
values permuted among the kept positions (reshuffle), a constant alpha = the layer's initial standard
deviation (constant); `_init_sign`: with the initial values' signs, otherwise random signs; {tags['mask1']}.*

![mask-0 actions](figures/deconstruct_mask0.png)

*Mask-0 actions: pruned weights at 0 (the LTH's), frozen at their initial values (freeze_init), or 0 where
training moved them toward zero (|w_f| < |w_i|) and frozen at init elsewhere (freeze_moved_away); {tags['mask0']}
(the conv nets' below, where run).*

**Test accuracy at early stop (%), mean over trials:**

{_level_table(rounds, roles)}

"""


def _lenet_supermasks(r: dict[str, Any]) -> str:
    """The supermask figure's caption and the learned supermask's line."""
    return f"""![supermasks](figures/deconstruct_supermask.png)

*Supermasks, untrained: the initial weights under the large_final mask, under large_final_same_sign (the
largest final weights among those whose sign training kept), the same mask with signed constants (+-alpha
with the initial sign), and a random mask; biases at their initial 0; {_supermask_tag(r)}. The post
quotes up to 86% on MNIST.* {_learned_line(r)}

"""


def deconstruct_finding(r: dict[str, Any]) -> str:
    """At the sparsest level: the most accurate mask criterion against random masks; and the learned
    supermask's accuracy (no weight trained)."""
    level = r["levels"][-1]
    criteria = {key.split("/", 1)[1]: mean_accuracy(members) for key, members in level["variants"].items()
                if key.startswith("criterion/")}
    best = max(criteria, key=criteria.get)
    text = f"at Pm {100 * level['pm']:.1f}% the best mask criterion is {best} ({criteria[best]:.2f}%)"
    text += f", random masks {criteria['random']:.2f}%" if "random" in criteria else ""
    learned = r.get("learned_supermask")
    if learned:
        text += (f"; a learned supermask on the untrained init reaches {mean_accuracy(learned):.2f}% "
                 f"(Pm {100 * np.mean(learned['pm']):.1f}%)")
    return text


def deconstruct_section(results: Path, figures: Path) -> Section | None:
    """The Zhou et al. section: LeNet's run with the supermasks and the ledger, then each conv net's run
    (None when the deconstruct stage has not run for LeNet)."""
    path = results / "deconstruct" / "lenet.json"
    if not path.exists():
        return None
    r = read_json(path)
    criteria, mask1, mask0 = family_figures(r, "lenet", figures)
    supermask_figure(figures / "deconstruct_supermask.png", r)
    verdicts = deconstruct_verdicts(r)
    not_run = not_run_note(results, "deconstruct", r["config"]["nets"])
    text = (_lenet_setup(r) + _lenet_families(r, criteria + mask1[1:] + mask0[1:])
            + _lenet_supermasks(r) + f"""{not_run}Not run: Zhou et al.'s iterative-pruning runs and the Bernoulli-sampled learned supermask.

**Zhou et al.'s statements (as the follow-ups post words them), on this run.** A difference of two variants is \
judged with one trial spread, every variant's trials pooled within levels: the variants train the same net alike, \
and one variant's own spread rests on a few trials and moved several-fold between two draws of this study \
(docs/claims-ledger.md). The supermask statements take their best level's own trials.

{ledger_table(verdicts)}
""")
    for net in CONV_NETS:
        if (results / "deconstruct" / f"{net}.json").exists():
            part, net_verdicts = conv_part(read_json(results / "deconstruct" / f"{net}.json"), net, figures)
            text += part
            verdicts += net_verdicts
    return Section(text, verdicts, r["profile"], deconstruct_claims.HEADLINE,
                   scale=[RunConfig("LeNet-300-100 and the conv nets", "deconstruct", r["config"])],
                   finding=deconstruct_finding(r))


def family_figures(r: dict[str, Any], net: str, figures: Path) -> tuple[list[str], list[str], list[str]]:
    """Draw one net's criteria, mask-1 and mask-0 figures; return the three families' roles."""
    c, rounds, title, tags = r["config"], level_rounds(r), NET_TITLES[net], _tags(r, net)
    criteria = [f"criterion/{k}" for k in c["criteria"]]
    mask1 = [BASE] + [f"mask1/{a}" for a in c["mask1_actions"]]
    mask0 = [BASE] + [f"mask0/{a}" for a in c["mask0_actions"]]
    pm_figure(figures / figure_name("deconstruct", net, "criteria"),
              _series(rounds, [(k, k.split("/")[1]) for k in criteria]),
              PM_AXIS, f"Zhou et al.: mask criteria (rewind, zero), {title}, one-shot\n{tags['criteria']}")
    pm_figure(figures / figure_name("deconstruct", net, "mask1"),
              _series(rounds, [(BASE, "rewind (LTH)")] + [(k, k.split("/")[1]) for k in mask1[1:]]),
              PM_AXIS, f"Zhou et al.: mask-1 actions (large_final mask, zero), {title}\n{tags['mask1']}")
    pm_figure(figures / figure_name("deconstruct", net, "mask0"),
              _series(rounds, [(BASE, "zero (LTH)")] + [(k, k.split("/")[1]) for k in mask0[1:]]),
              PM_AXIS, f"Zhou et al.: mask-0 actions (large_final mask, rewind), {title}\n{tags['mask0']}")
    return criteria, mask1, mask0


def conv_part(r: dict[str, Any], net: str, figures: Path) -> tuple[str, list[Verdict]]:
    """One conv net's subsection: its three families' figures, the accuracy table and its statements."""
    c = r["config"]
    criteria, mask1, mask0 = family_figures(r, net, figures)
    verdicts = deconstruct_verdicts(r, net)
    facts = (f"; {c['trials']} trials; width {c['conv_width']:g}, "
             + (f"the first {c['conv_train_examples']:,} training images" if c["conv_train_examples"] else
                "all training images") + f"; batch {c['batch_size']}")
    tag = study_scale(r, net, len(r["levels"])).tag("Zhou et al.'s figures for this net")
    images = "\n\n".join(f"![{kind}](figures/{figure_name('deconstruct', net, kind)})"
                          for kind in ("criteria", "mask1", "mask0"))
    text = (f"\n### {NET_TITLES[net]}\n\n{run_facts(r, facts)}\n\nThe same variants on {NET_TITLES[net]} "
            "(the final paper's rate, length and per-layer rates for this net); dense test accuracy "
            f"{', '.join(f'{100 * a:.2f}%' for a in r['dense']['early_stop_accuracy'])}.\n\n{images}\n\n"
            f"*Mask criteria, mask-1 and mask-0 actions on {NET_TITLES[net]}; {tag}.*\n\n"
            f"{_level_table(level_rounds(r), criteria + mask1[1:] + mask0[1:])}\n\n"
            f"**The statements on {NET_TITLES[net]}:**\n\n{ledger_table(verdicts)}\n")
    return text, verdicts
