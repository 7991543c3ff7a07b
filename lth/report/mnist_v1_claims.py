"""The first version's LeNet statements (v1 §3, 4, 6): the claim records the ``mnist_v1`` page measures."""
from __future__ import annotations

from lth.report.ledger.records import V1, Claim

TRIALS = 5          # v1 averages five winning tickets per level (its controls: three per ticket)

CLAIMS = [
    Claim("v1_one_shot_fastest_pm", "mnist_v1", "one-shot: convergence gets faster as more of the network is "
           "pruned, until a pruning level of around 55%", V1 + " §3", 55.0, "% Pm",
           "the one-shot level (or the dense net) with the smallest mean early-stop iteration"),
    Claim("v1_one_shot_most_accurate_pm", "mnist_v1", "one-shot: accuracy increases as more of the network is "
           "pruned, until around 55%", V1 + " §3", 55.0, "% Pm",
           "the one-shot level (or the dense net) with the largest mean test accuracy at early stop"),
    Claim("v1_one_shot_faster_75_25", "mnist_v1", "one-shot tickets pruned to between 75% and 25% converge at "
           "least 25% faster than the original network", V1 + " §3", 25.0, "% faster",
           "smallest speedup (1 - ticket / dense mean early-stop iteration) over the one-shot levels with "
           "25% <= Pm <= 75%", contrast=0.0, paper_trials=TRIALS),
    Claim("v1_one_shot_accuracy_75_25", "mnist_v1", "one-shot tickets pruned to between 75% and 25% keep their "
           "accuracy within 0.15 pp of the original network's", V1 + " §3", 0.15, "pp",
           "largest |ticket - dense| mean test accuracy at early stop over the one-shot levels with "
           "25% <= Pm <= 75%", paper_trials=TRIALS),
    Claim("v1_ticket_vs_reinit_speed_35", "mnist_v1", "35% one-shot tickets converge 1.91x as fast as their "
           "reinitialised controls", V1 + " §3", 1.91, "x",
           "reinit / ticket mean early-stop iteration at the one-shot level nearest Pm 35%", contrast=1.0,
          paper_trials=TRIALS),
    Claim("v1_ticket_vs_reinit_speed_25", "mnist_v1", "25% one-shot tickets converge 2.28x as fast as their "
           "reinitialised controls", V1 + " §3", 2.28, "x",
           "reinit / ticket mean early-stop iteration at the one-shot level nearest Pm 25%", contrast=1.0,
          paper_trials=TRIALS),
    Claim("v1_controls_more_variable", "mnist_v1", "the control networks exhibited a much higher level of "
           "variance (in convergence time) than the winning tickets", V1 + " §3", 1.0, "x",
           "pooled trial SD of log early-stop iteration, reinit controls / tickets, over the one-shot levels "
           "(holds when significantly above 1)"),
    Claim("v1_ticket_back_to_dense_speed_pm", "mnist_v1", "iterative tickets return to the original network's "
           "convergence time when pruned to 1.8%", V1 + " §4", 1.8, "% Pm",
           "largest IMP level from which on every sparser level's mean early-stop iteration is at or above "
           "the dense net's"),
    Claim("v1_one_shot_back_to_dense_speed_pm", "mnist_v1", "one-shot tickets return to the original "
           "convergence time between 5% and 10% (7.1%: the range's geometric middle)", V1 + " §4", 7.1, "% Pm",
           "largest one-shot level from which on every sparser level's mean early-stop iteration is at or "
           "above the dense net's"),
    Claim("v1_one_shot_accuracy_drops_pm", "mnist_v1", "one-shot accuracy begins to drop off at 15%",
           V1 + " §4", 15.0, "% Pm",
           "largest one-shot level from which on every sparser level is below the dense net by more than the tolerance"),
    Claim("v1_reinit_accuracy_drops_pm", "mnist_v1", "reinitialised controls' accuracy begins to drop off once "
           "pruned to 37%", V1 + " §4", 37.0, "% Pm",
           "largest IMP level from which on every sparser level's reinit is below the dense net by more than the tolerance"),
    Claim("v1_ticket_accuracy_drops_pm", "mnist_v1", "iterative tickets' accuracy drops off when pruned to 1.5%",
           V1 + " §4", 1.5, "% Pm",
           "largest IMP level from which on every sparser level's tickets are below the dense net by more than the tolerance"),
    Claim("v1_rewire_accuracy_drops_pm", "mnist_v1", "randomly rewired controls' accuracy begins to drop off "
           "around 52%", V1 + " §4", 52.0, "% Pm",
           "largest IMP level from which on every sparser level's rewiring is below the dense net by more than the tolerance"),
    Claim("v1_ticket_matches_dense_1_8", "mnist_v1", "iterative pruning: accuracy slightly increases before "
          "matching the original network's accuracy once the network has been pruned to 1.8%", V1 + " §4", 0.0,
          "pp", "IMP tickets at the level nearest Pm 1.8%: mean test accuracy at early stop minus the dense net's",
          paper_trials=TRIALS),
    Claim("v1_reinit_slows", "mnist_v1", "control experiment 1: the controls' convergence times begin to slow "
          "down as the network is pruned and continue to follow this trend", V1 + " §4", 0.0, "rho",
          "Spearman's rho of (100 - Pm) against the reinits' mean early-stop iteration over the IMP levels with "
          "reinits (holds above the one-sided 5% critical value)"),
    Claim("v1_rewire_slows", "mnist_v1", "control experiment 2: convergence slows as patterned by control "
          "experiment 1", V1 + " §4", 0.0, "rho", "as above, for the random rewirings"),
    Claim("v1_rewire_below_reinit", "mnist_v1", "control experiment 2: accuracy begins to drop off earlier than "
          "in control experiment 1 (around 52% against 37%)", V1 + " §4", 0.0, "pp",
          "mean over the IMP levels with both controls of reinit minus rewiring mean test accuracy at early stop "
          "(holds when significantly above 0)"),
]

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ()
