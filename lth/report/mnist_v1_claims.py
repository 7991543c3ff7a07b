"""The first version's LeNet statements (v1 §3, 4, 6): the claim records the ``mnist_v1`` page measures."""
from __future__ import annotations

from lth.report.ledger.records import V1, Claim

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
           "25% <= Pm <= 75%"),
    Claim("v1_one_shot_accuracy_75_25", "mnist_v1", "one-shot tickets pruned to between 75% and 25% keep their "
           "accuracy within 0.15 pp of the original network's", V1 + " §3", 0.15, "pp",
           "largest |ticket - dense| mean test accuracy at early stop over the one-shot levels with "
           "25% <= Pm <= 75%"),
    Claim("v1_ticket_vs_reinit_speed_35", "mnist_v1", "35% one-shot tickets converge 1.91x as fast as their "
           "reinitialised controls", V1 + " §3", 1.91, "x",
           "reinit / ticket mean early-stop iteration at the one-shot level nearest Pm 35%"),
    Claim("v1_ticket_vs_reinit_speed_25", "mnist_v1", "25% one-shot tickets converge 2.28x as fast as their "
           "reinitialised controls", V1 + " §3", 2.28, "x",
           "reinit / ticket mean early-stop iteration at the one-shot level nearest Pm 25%"),
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
           "largest one-shot level from which on every sparser level is below the dense net by more than 2 SE"),
    Claim("v1_reinit_accuracy_drops_pm", "mnist_v1", "reinitialised controls' accuracy begins to drop off once "
           "pruned to 37%", V1 + " §4", 37.0, "% Pm",
           "largest IMP level from which on every sparser level's reinit is below the dense net by more than 2 SE"),
    Claim("v1_ticket_accuracy_drops_pm", "mnist_v1", "iterative tickets' accuracy drops off when pruned to 1.5%",
           V1 + " §4", 1.5, "% Pm",
           "largest IMP level from which on every sparser level's tickets are below the dense net by more than 2 SE"),
    Claim("v1_rewire_accuracy_drops_pm", "mnist_v1", "randomly rewired controls' accuracy begins to drop off "
           "around 52%", V1 + " §4", 52.0, "% Pm",
           "largest IMP level from which on every sparser level's rewiring is below the dense net by more than 2 SE"),
    Claim("v1_rewind_beats_han", "mnist_v1", "resetting to the original init holds accuracy longer than Han et "
           "al.'s continued training (the differences appear only at very small sizes)", V1 + " §6", 0.0, "pp",
           "ticket minus Han mean test accuracy at early stop at the sparsest IMP level (holds when "
           "significantly above 0)"),
]

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ("v1_ticket_vs_reinit_speed_25",)
