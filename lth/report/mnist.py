"""MNIST LeNet-300-100 section of the report: the papers' Figures 1, 3, 4 (and v1 §3, 4, 6) from results."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lth.report import mnist_claims
from lth.report.common import Section, censored, diverged_count, level_pm, nearest_level, read_json, run_facts
from lth.report.figures import CurvesPanel, PmAxis, curves_figure, pm_figure, role_series, run_scale
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.levels import DENSE, LevelSpreads
from lth.report.ledger.records import Claim, Verdict
from lth.report.ledger.rules import at_least, equals, exceeds, untestable
from lth.report.ledger.statistics import role_mean, spearman, spearman_critical
from lth.report.lenet_levels import (accuracy_gap, early_stopping_note, falls_verdict, han_verdict,
                                     levels_table, range_verdict)
from lth.report.findings import ticket_finding
from lth.report.scale import RunConfig

PM_AXIS = PmAxis("percent of weights remaining (Pm)", xticks=(100, 51.3, 21.1, 7.0, 3.6, 1.9))   # x range: the levels


def _one_shot_rounds(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The dense level followed by the one-shot levels, each a record like an IMP round's."""
    return [result["rounds"][0]] + [{"ticket": level} for level in result["one_shot"]]


def mnist_verdicts(result: dict[str, Any]) -> list[Verdict]:
    """The final paper's LeNet statements (§2) measured on this run: tolerances from both sides' trial spreads
    (the dense net's from its own trials) and the paper's five trials."""
    config, rounds = result["config"], result["rounds"]
    claims = {c.key: c for c in mnist_claims.CLAIMS}
    dense = rounds[0]["ticket"]
    spreads = LevelSpreads(rounds, dense)
    baseline = (f"measured against a dense baseline of {100 * role_mean(dense, 'early_stop_accuracy'):.2f}% (trials "
                + ", ".join(f"{100 * a:.2f}" for a in dense["early_stop_accuracy"]) + "%)")
    at21, at13, at3 = nearest_level(rounds, 21.1), nearest_level(rounds, 13.5), nearest_level(rounds, 3.6)
    out = [_speed_verdict(claims["mnist_ticket_faster_21"], at21, dense, spreads, percent_earlier=True),
           _speed_verdict(claims["mnist_ticket_back_to_dense_speed_3_6"], at3, dense, spreads)]
    for key, level in (("mnist_ticket_gain_13", at13), ("mnist_ticket_back_to_dense_3_6", at3)):
        tol = spreads.accuracy_difference(level["ticket"], "ticket", dense, DENSE, claims[key].paper_trials)
        compare = at_least if key == "mnist_ticket_gain_13" else equals
        out.append(compare(claims[key], accuracy_gap(level, "ticket", dense), tol,
                           f"the gain over the dense net differs beyond the tolerance, {baseline}"))
    if "reinit" in at21:
        out += _reinit_verdicts(claims, rounds, at21, dense, spreads, baseline)
    out.append(falls_verdict(claims["mnist_ticket_accuracy_falls_pm"], rounds, "ticket", dense, spreads, baseline))
    out.append(_final_gain_verdict(claims["mnist_ticket_gain_at_50k"], config, rounds, dense, spreads))
    out.append(han_verdict(claims["v1_rewind_beats_han"], rounds, spreads))
    return out + (_one_shot_verdicts(result, claims) if result["one_shot"] else [])


def _speed_verdict(claim: Claim, level: dict[str, Any], dense: dict[str, Any], spreads: LevelSpreads,
                   percent_earlier: bool = False) -> Verdict:
    """The tickets' mean early-stop iteration at ``level`` over the dense net's (or 100 x (1 - that))."""
    reason = censored(level["ticket"], dense)
    ratio = role_mean(level["ticket"], "early_stop_iteration") / role_mean(dense, "early_stop_iteration")
    value = 100 * (1 - ratio) if percent_earlier else ratio
    if reason:
        return untestable(claim, reason, value)
    tol = spreads.iteration_ratio(ratio, level["ticket"], "ticket", dense, DENSE, claim.paper_trials)
    return equals(claim, value, tol.scaled(100) if percent_earlier else tol,
                  f"the tickets' early stop relative to the dense net's differs beyond the tolerance "
                  f"(at Pm {level_pm(level):.1f}%)")


def _reinit_verdicts(claims: dict[str, Claim], rounds: list[dict[str, Any]], at21: dict[str, Any],
                     dense: dict[str, Any], spreads: LevelSpreads, baseline: str) -> list[Verdict]:
    """Tickets against their random reinitialisation: speed and accuracy at 21%, the reinits' slowing trend
    and where their accuracy falls."""
    claim = claims["mnist_ticket_vs_reinit_speed_21"]
    speed = role_mean(at21["reinit"], "early_stop_iteration") / role_mean(at21["ticket"], "early_stop_iteration")
    reason = censored(at21["reinit"], at21["ticket"])
    out = [untestable(claim, reason, speed) if reason else
           equals(claim, speed, spreads.iteration_ratio(speed, at21["reinit"], "reinit", at21["ticket"], "ticket",
                                                        claim.paper_trials),
                  "reinit controls are not as much slower as in the paper")]
    gap = 100 * (role_mean(at21["ticket"], "early_stop_accuracy") - role_mean(at21["reinit"], "early_stop_accuracy"))
    out.append(equals(claims["mnist_ticket_vs_reinit_accuracy_21"], gap,
                      spreads.accuracy_difference(at21["ticket"], "ticket", at21["reinit"], "reinit",
                                                  claims["mnist_ticket_vs_reinit_accuracy_21"].paper_trials),
                      "the ticket-reinit accuracy gap differs beyond the tolerance"))
    with_reinit = [r for r in rounds if "reinit" in r]
    rho = spearman([100 - level_pm(r) for r in with_reinit],
                   [role_mean(r["reinit"], "early_stop_iteration") for r in with_reinit])
    out.append(exceeds(claims["mnist_reinit_slower"], rho, spearman_critical(len(with_reinit), "IMP levels"),
                       "the reinits do not slow down significantly as Pm falls"))
    out.append(falls_verdict(claims["mnist_reinit_accuracy_falls_pm"], rounds, "reinit", dense, spreads, baseline))
    return out


def _final_gain_verdict(claim: Claim, config: dict[str, Any], rounds: list[dict[str, Any]],
                        dense: dict[str, Any], spreads: LevelSpreads) -> Verdict:
    """The tickets' final-accuracy gain after 50,000 iterations (only runs trained that long test it)."""
    if config["iterations"] >= 50000 and not config.get("patience"):
        gains = [100 * (role_mean(r["ticket"], "final_accuracy") - role_mean(dense, "final_accuracy"))
                 for r in rounds[1:]]
        tol = spreads.accuracy_difference(rounds[1]["ticket"], "ticket", dense, DENSE, claim.paper_trials)
        return equals(claim, max(gains), tol, "the tickets' final-accuracy gain differs beyond the tolerance")
    return untestable(claim, "needs every training run to 50,000 iterations (profile `paper`); this profile "
                      f"trains at most {config['iterations']}" +
                      (f" and stops a training {config['patience']} iterations after its minimum"
                       if config.get("patience") else ""))


def _one_shot_verdicts(result: dict[str, Any], claims: dict[str, Claim]) -> list[Verdict]:
    """The one-shot ranges (§2): down to where one-shot tickets stay faster and more accurate than the dense net,
    with the same noise allowance as the other level statements."""
    levels = _one_shot_rounds(result)
    dense = levels[0]["ticket"]
    spreads = LevelSpreads(levels, dense)
    return [range_verdict(claims["mnist_one_shot_faster_pm"], levels, "early_stop_iteration", dense, spreads,
                          lambda a, b: a < b, "one-shot tickets stop being faster at another level"),
            range_verdict(claims["mnist_one_shot_more_accurate_pm"], levels, "early_stop_accuracy", dense, spreads,
                          lambda a, b: a > b, "one-shot tickets stop being more accurate at another level")]


FIGURE_SOURCES = {"curves": "paper Fig. 3", "controls": "paper Figs. 1 and 4 (a, b) and v1 §4",
                  "oneshot": "paper Fig. 4 (c) and v1 §4", "han": "v1 §6"}


def mnist_figures(result: dict[str, Any], figures: Path) -> dict[str, str]:
    """The page's four figures: curves (Fig. 3), tickets vs controls (Figs. 1, 4), iterative vs one-shot, Han;
    return each one's 'replicates ...' or 'illustration (reduced: ...)' for its caption."""
    rounds = result["rounds"]
    drawn = {"curves": [], "controls": [len(rounds)], "oneshot": [len(rounds), len(_one_shot_rounds(result))],
             "han": [len(rounds)]}
    tags = {name: run_scale([result], drawn[name]).tag(source) for name, source in FIGURE_SOURCES.items()}
    panels = [CurvesPanel(rounds, ylim=(90, 100)), CurvesPanel(rounds, title="zoom", ylim=(96, 99.2), legend=False)]
    curves_figure(figures / "mnist_curves.png", panels, (12, 4.3),
                  f"LeNet-300-100 winning tickets: test accuracy during training\n{tags['curves']}")
    pm_figure(figures / "mnist_controls.png",
              [role_series(role, rounds) for role in ("ticket", "reinit", "rewire", "random_mask")
               if any(role in r for r in rounds)],
              PM_AXIS, f"Iterative pruning: winning tickets vs controls\n{tags['controls']}")
    pm_figure(figures / "mnist_oneshot.png",
              [role_series("ticket", rounds, "iterative pruning"),
               role_series("one_shot", [{"one_shot": r["ticket"]} for r in _one_shot_rounds(result)], "one-shot pruning")],
              PM_AXIS, f"Iterative vs one-shot pruning\n{tags['oneshot']}")
    han = [role_series("ticket", rounds, "rewind to init (lottery ticket)")]
    if "han" in rounds[-1]:
        han.append(role_series("han", [{"han": r.get("han", r["ticket"])} for r in rounds]))
    pm_figure(figures / "mnist_han.png", han, PM_AXIS, f"Rewinding vs Han et al.'s continued training\n{tags['han']}")
    return tags


def _scale_note(result: dict[str, Any]) -> str:
    """What the profile reduces against the paper's settings ('' at profile paper)."""
    config = result["config"]
    if result["profile"] == "paper":
        return ""
    reduced = [f"at most {config['iterations']:,} iterations per training instead of the paper's 50,000"]
    if config["trials"] != 5:
        reduced.append(f"{config['trials']} trials instead of 5")
    if config["reinit_per_ticket"] != 3:
        reduced.append(f"{config['reinit_per_ticket']} reinit control(s) per ticket instead of 3")
    return (f"\n\n> **Reduced scale** (profile `{result['profile']}`): " + ", ".join(reduced) + ". "
            "`profile: paper` runs the papers' settings.")


def _extra_levels(config: dict[str, Any]) -> str:
    """Where rewiring and random masks are trained."""
    every = config.get("extra_controls_every", 1)
    return ("at every level" if every == 1 else
            f"only at rounds 1, {1 + every}, {1 + 2 * every}, ... (`extra_controls_every: {every}`, to save "
            "training time)")


def _intro(result: dict[str, Any]) -> str:
    """The section's title, run facts, notes on scale and stopping, the setup and the controls."""
    config, rounds = result["config"], result["rounds"]
    scale_note, stopping = _scale_note(result), early_stopping_note(config, rounds)
    diverged, extra_levels = diverged_count(rounds), _extra_levels(config)
    return f"""## MNIST LeNet-300-100: winning tickets and their controls (final paper Figs. 1, 3, 4; v1 §3, 4, 6)

{run_facts(result, f"; {config['trials']} trials; {config['iterations']} iterations at batch {config['batch_size']}")}{scale_note}{stopping}

LeNet-300-100, {config['init']} init, {config['optimizer']} lr {config['lr']}; each round prunes
{100 * config['hidden_rate']:g}% of each hidden layer's and {100 * config['output_rate']:g}% of the output layer's
surviving weights by magnitude and rewinds the survivors to their initial values. Early stopping = the
iteration of minimum validation loss (5,000 held-out training images, evaluated every {config['eval_every']}
iterations); accuracy = test accuracy of the weights at that iteration. Points are means; bars span
min to max over trials (as in the papers). Diverged runs: {diverged}.

Controls, trained in the same population as the tickets: **random reinit** (ticket's mask,
fresh weights from the same init distribution), **random rewiring** (every surviving connection moved to a
random position within its layer, keeping its initial value: the mask and the initial values are permuted
together), **random sparse mask** (same per-layer count, positions random, original init), and **Han et al.**
(prune the trained weights and keep training them; no rewind). Random reinit and Han et al. train at every
level; rewiring and random masks {extra_levels}.

"""


def mnist_section(results: Path, figures: Path) -> Section | None:
    """LeNet-300-100: curves, Pm sweeps with controls, iterative vs one-shot, rewind vs Han, claims table."""
    path = results / "mnist" / "lenet.json"
    if not path.exists():
        return None
    result = read_json(path)
    tags = mnist_figures(result, figures)
    verdicts = mnist_verdicts(result)
    table, levels = ledger_table(verdicts), levels_table(result["rounds"])
    text = _intro(result) + f"""![test accuracy curves](figures/mnist_curves.png)

*Test accuracy over training for winning tickets at several Pm: the mean over the trials still running at
each iteration, drawn to the longest trial's end (thin once a trial has stopped: each training stops at its
own point), and the min–max band where two or more run; {tags['curves']}.*

![tickets vs controls](figures/mnist_controls.png)

*Early-stop iteration and accuracy vs Pm for tickets and controls; {tags['controls']}.*

![iterative vs one-shot](figures/mnist_oneshot.png)

*Iterative vs one-shot pruning; {tags['oneshot']}.*

![rewind vs Han](figures/mnist_han.png)

*Rewinding to the initialisation vs Han et al.'s continued training ("weight resetting"); {tags['han']}.*

**The papers' statements: the claims ledger for this experiment** (a claim holds when our measurement is
consistent with it within the stated tolerance; the tolerances come from the spread of this run's trials):

{table}

**Every level** (early-stop iteration / test accuracy %, means over trials):

{levels}
"""
    return Section(text, verdicts, result["profile"], mnist_claims.HEADLINE,
                   scale=[RunConfig("LeNet-300-100", "mnist", result["config"])],
                   finding=ticket_finding(result["rounds"]),
                   key_figure=("mnist_controls.png", "tickets vs controls",
                               "MNIST, LeNet-300-100: early-stop iteration and test accuracy vs Pm of the winning "
                               f"tickets and of their random reinit, rewiring and random-mask controls; {tags['controls']}"))
