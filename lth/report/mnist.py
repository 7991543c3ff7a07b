"""MNIST LeNet-300-100 section of the report: the papers' Figures 1, 3, 4 (and v1 §3, 4, 6) from results."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from lth.report import mnist_claims
from lth.report.common import Section, diverged_count, nearest_level, read_json, run_facts
from lth.report.figures import CurvesPanel, PmAxis, curves_figure, pm_figure, role_series
from lth.report.findings import ticket_finding
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.records import Verdict
from lth.report.ledger.rules import at_least, equals, on_ladder, untestable
from lth.report.ledger.statistics import TrialSpread, role_mean
from lth.report.lenet_levels import early_stopping_note, falls_verdict, levels_table
from lth.report.scale import RunConfig

PM_AXIS = PmAxis("percent of weights remaining (Pm)", xlim=(110, 1.2), xticks=(100, 51.3, 21.1, 7.0, 3.6, 1.9))


def _one_shot_rounds(result: dict[str, Any]) -> list[dict[str, Any]]:
    dense = result["rounds"][0]["ticket"]
    return [{"ticket": dense}] + [{"ticket": level} for level in result["one_shot"]]


def _one_shot_range(result: dict[str, Any], metric: str, better) -> float | None:
    """Smallest one-shot Pm down to which every level (from the densest) beats the dense net on ``metric``."""
    dense = role_mean(result["rounds"][0]["ticket"], metric)
    found = None
    for level in sorted(result["one_shot"], key=lambda lv: -lv["pm"][0]):
        if not better(role_mean(level, metric), dense):
            break
        found = 100 * level["pm"][0]
    return found


def mnist_verdicts(result: dict[str, Any]) -> list[Verdict]:
    """The final paper's LeNet statements (§2) measured on this run, with tolerances from its trial spread."""
    config, rounds = result["config"], result["rounds"]
    claims = {c.key: c for c in mnist_claims.CLAIMS}
    dense = rounds[0]["ticket"]
    tickets = TrialSpread(rounds, ("ticket",))
    pair = TrialSpread(rounds, ("ticket", "reinit"))
    out = []
    baseline = (f"measured against a dense baseline of {100 * role_mean(dense, 'early_stop_accuracy'):.2f}% (trials "
                + ", ".join(f"{100 * a:.2f}" for a in dense["early_stop_accuracy"]) + "%)")
    at21, at13, at3 = nearest_level(rounds, 21.1), nearest_level(rounds, 13.5), nearest_level(rounds, 3.6)
    ratio = role_mean(at21["ticket"], "early_stop_iteration") / role_mean(dense, "early_stop_iteration")
    tol, how = tickets.ratio(ratio, at21["ticket"], dense)
    out.append(equals(claims["mnist_ticket_faster_21"], 100 * (1 - ratio), 100 * tol, how,
                      "the tickets' speedup differs from the paper's beyond the trial spread"))
    for key, level in (("mnist_ticket_gain_13", at13), ("mnist_ticket_back_to_dense_3_6", at3)):
        gain = 100 * (role_mean(level["ticket"], "early_stop_accuracy") - role_mean(dense, "early_stop_accuracy"))
        tol, how = tickets.accuracy(level["ticket"], dense)
        compare = at_least if key == "mnist_ticket_gain_13" else equals
        out.append(compare(claims[key], gain, tol, how,
                           f"the gain over the dense net differs beyond the trial spread, {baseline}"))
    if "reinit" in at21:
        speed = role_mean(at21["reinit"], "early_stop_iteration") / role_mean(at21["ticket"], "early_stop_iteration")
        tol, how = pair.ratio(speed, at21["reinit"], at21["ticket"])
        out.append(equals(claims["mnist_ticket_vs_reinit_speed_21"], speed, tol, how,
                          "reinit controls are not as much slower as in the paper"))
        gap = 100 * (role_mean(at21["ticket"], "early_stop_accuracy") - role_mean(at21["reinit"], "early_stop_accuracy"))
        tol, how = pair.accuracy(at21["ticket"], at21["reinit"])
        out.append(equals(claims["mnist_ticket_vs_reinit_accuracy_21"], gap, tol, how,
                          "the ticket-reinit accuracy gap differs beyond the trial spread"))
        out.append(falls_verdict(claims["mnist_reinit_accuracy_falls_pm"], rounds, "reinit", dense,
                                  TrialSpread(rounds, ("reinit",)), baseline))
    out.append(falls_verdict(claims["mnist_ticket_accuracy_falls_pm"], rounds, "ticket", dense, tickets, baseline))
    if config["iterations"] >= 50000 and not config.get("patience"):
        gains = [100 * (role_mean(r["ticket"], "final_accuracy") - role_mean(dense, "final_accuracy")) for r in rounds[1:]]
        tol, how = tickets.accuracy(rounds[1]["ticket"], dense)
        out.append(equals(claims["mnist_ticket_gain_at_50k"], max(gains), tol, how,
                          "the tickets' final-accuracy gain differs beyond the trial spread"))
    else:
        out.append(untestable(claims["mnist_ticket_gain_at_50k"],
                              "needs every training run to 50,000 iterations (profile `paper`); this profile "
                              f"trains at most {config['iterations']}" +
                              (f" and stops a training {config['patience']} iterations after its minimum"
                               if config.get("patience") else "")))
    return out + (_one_shot_verdicts(result, claims) if result["one_shot"] else [])


def _one_shot_verdicts(result: dict[str, Any], claims: dict[str, Any]) -> list[Verdict]:
    """The one-shot ranges (§2): down to where one-shot tickets stay faster and more accurate than the dense net."""
    ladder = [100.0] + [100 * lv["pm"][0] for lv in result["one_shot"]]
    return [on_ladder(claims["mnist_one_shot_faster_pm"],
                      _one_shot_range(result, "early_stop_iteration", lambda a, b: a < b), ladder,
                      "one-shot tickets stop being faster at another level"),
            on_ladder(claims["mnist_one_shot_more_accurate_pm"],
                      _one_shot_range(result, "early_stop_accuracy", lambda a, b: a > b), ladder,
                      "one-shot tickets stop being more accurate at another level")]




def mnist_figures(result: dict[str, Any], figures: Path) -> None:
    """The page's four figures: curves (Fig. 3), tickets vs controls (Figs. 1, 4), iterative vs one-shot, Han."""
    rounds = result["rounds"]
    panels = [CurvesPanel(rounds, ylim=(90, 100)), CurvesPanel(rounds, title="zoom", ylim=(96, 99.2), legend=False)]
    curves_figure(figures / "mnist_curves.png", panels, (12, 4.3),
                  "LeNet-300-100 winning tickets: test accuracy during training (replicates paper Fig. 3)")
    pm_figure(figures / "mnist_controls.png",
              [role_series(role, rounds) for role in ("ticket", "reinit", "rewire", "random_mask")
               if any(role in r for r in rounds)],
              PM_AXIS, "Iterative pruning: winning tickets vs controls (replicates paper Figs. 1 and 4; v1 §4)")
    pm_figure(figures / "mnist_oneshot.png",
              [role_series("ticket", rounds, "iterative pruning"),
               role_series("one_shot", [{"one_shot": r["ticket"]} for r in _one_shot_rounds(result)], "one-shot pruning")],
              PM_AXIS, "Iterative vs one-shot pruning (replicates paper Fig. 4 a/b vs c; v1 §4)")
    han = [role_series("ticket", rounds, "rewind to init (lottery ticket)")]
    if "han" in rounds[-1]:
        han.append(role_series("han", [{"han": r.get("han", r["ticket"])} for r in rounds]))
    pm_figure(figures / "mnist_han.png", han, PM_AXIS, "Rewinding vs Han et al.'s continued training (v1 §6)")



def _scale_note(result: dict[str, Any]) -> str:
    """What the profile reduces against the paper's settings ('' at profile paper)."""
    config = result["config"]
    if result["profile"] == "paper":
        return ""
    return (f"\n\n> **Reduced scale** (profile `{result['profile']}`): at most {config['iterations']} "
            f"iterations per training instead of the paper's 50,000, {config['trials']} trials instead of 5, "
            f"{config['reinit_per_ticket']} reinit control(s) per ticket instead of 3. "
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
    mnist_figures(result, figures)
    verdicts = mnist_verdicts(result)
    table, levels = ledger_table(verdicts), levels_table(result["rounds"])
    text = _intro(result) + f"""![test accuracy curves](figures/mnist_curves.png)

*Test accuracy over training for winning tickets at several Pm (mean, min–max band); replicates paper Fig. 3.*

![tickets vs controls](figures/mnist_controls.png)

*Early-stop iteration and accuracy vs Pm for tickets and controls; replicates paper Figs. 1 and 4 (a, b).*

![iterative vs one-shot](figures/mnist_oneshot.png)

*Iterative vs one-shot pruning; replicates paper Fig. 4 (c) and v1 §4.*

![rewind vs Han](figures/mnist_han.png)

*Rewinding to the initialisation vs Han et al.'s continued training (v1 §6, "weight resetting").*

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
                               "tickets and of their random reinit, rewiring and random-mask controls (replicates "
                               "paper Figs. 1 and 4)"))
