"""The final paper's LeNet-300-100 statements (§2), and v1's comparison with Han et al. (§6) on the same run (it
trains Han's baseline): the claim records the ``mnist`` page measures. The paper averages five trials."""
from __future__ import annotations

from lth.report.ledger.records import FINAL, V1, Claim

TRIALS = 5          # the final paper's Figs. 1, 3, 4: "the average of five trials"

CLAIMS = [
    Claim("mnist_ticket_faster_21", "mnist",
          "tickets learn faster as Pm falls from 100% to 21%, where early stopping occurs 38% earlier than for "
          "the original network", FINAL + " §2", 38.0, "% earlier",
          "IMP tickets at the level nearest Pm 21.1%: 100 x (1 - mean early-stop iteration / the dense net's)",
          contrast=0.0, paper_trials=TRIALS),
    Claim("mnist_ticket_gain_13", "mnist", "test accuracy improves by more than 0.3 percentage points at Pm 13.5%",
          FINAL + " §2", 0.3, "pp",
          "IMP tickets at the level nearest Pm 13.5%: mean test accuracy at early stop minus the dense net's",
          contrast=0.0, paper_trials=TRIALS),
    Claim("mnist_ticket_back_to_dense_3_6", "mnist",
          "when Pm = 3.6%, a winning ticket regresses to the performance (test accuracy) of the original network",
          FINAL + " §2", 0.0, "pp",
          "IMP tickets at the level nearest Pm 3.6%: mean test accuracy at early stop minus the dense net's "
          "(told apart from the +0.3 pp the tickets hold at 13.5%)", contrast=0.3, paper_trials=TRIALS),
    Claim("mnist_ticket_back_to_dense_speed_3_6", "mnist",
          "when Pm = 3.6%, a winning ticket regresses to the performance (early-stop iteration) of the original "
          "network", FINAL + " §2", 1.0, "x",
          "IMP tickets at the level nearest Pm 3.6%: mean early-stop iteration / the dense net's (told apart from "
          "the 0.62 of Pm 21%)", contrast=0.62, paper_trials=TRIALS),
    Claim("mnist_ticket_vs_reinit_speed_21", "mnist",
          "at Pm 21% the ticket reaches minimum validation loss 2.51x faster than when reinitialized",
          FINAL + " §2", 2.51, "x", "level nearest Pm 21.1%: mean early-stop iteration of the random reinits / "
          "of the tickets", contrast=1.0, paper_trials=TRIALS),
    Claim("mnist_ticket_vs_reinit_accuracy_21", "mnist",
          "at Pm 21% the ticket is half a percentage point more accurate than when reinitialized",
          FINAL + " §2", 0.5, "pp", "level nearest Pm 21.1%: mean test accuracy at early stop of the tickets "
          "minus the random reinits'", contrast=0.0, paper_trials=TRIALS),
    Claim("mnist_reinit_slower", "mnist", "unlike winning tickets, the reinitialized networks learn increasingly "
          "slower than the original network", FINAL + " §2", 0.0, "rho",
          "Spearman's rho of Pm against the reinits' mean early-stop iteration over the IMP levels (holds when "
          "below minus the one-sided 5% critical value: slower as Pm falls)"),
    Claim("mnist_reinit_accuracy_falls_pm", "mnist",
          "random reinitialisation's accuracy starts to fall from Pm 21.1%", FINAL + " §2", 21.1, "% Pm",
          "largest IMP level from which every sparser level's mean reinit accuracy is below the dense net's by "
          "more than the tolerance of the difference"),
    Claim("mnist_ticket_accuracy_falls_pm", "mnist", "the ticket's accuracy falls only from Pm 2.9%",
          FINAL + " §2", 2.9, "% Pm", "as above, for the IMP tickets"),
    Claim("mnist_ticket_gain_at_50k", "mnist",
          "at iteration 50,000 tickets still improve test accuracy by up to 0.35 pp although training accuracy "
          "reaches 100%", FINAL + " §2", 0.35, "pp",
          "largest (over IMP levels) mean final test accuracy of the tickets minus the dense net's, after "
          "50,000 iterations", contrast=0.0, paper_trials=TRIALS),
    Claim("mnist_one_shot_faster_pm", "mnist",
          "one-shot: tickets reach minimum validation loss earlier than the original network for "
          "67.5% >= Pm >= 17.6%", FINAL + " §2", 17.6, "% Pm",
          "smallest one-shot level down to which every level's mean early-stop iteration is below the dense "
          "net's; the level ending the range must be slower beyond the tolerance"),
    Claim("mnist_one_shot_more_accurate_pm", "mnist",
          "one-shot: tickets are more accurate than the original network for 95.0% >= Pm >= 5.17%",
          FINAL + " §2", 5.17, "% Pm",
          "smallest one-shot level down to which every level's mean test accuracy at early stop is above "
          "the dense net's; the level ending the range must be less accurate beyond the tolerance"),
    Claim("v1_rewind_beats_han", "mnist", "resetting to the original init holds accuracy longer than Han et "
          "al.'s continued training (the differences appear only at very small sizes)", V1 + " §6", 0.0, "pp",
          "ticket minus Han mean test accuracy at early stop at the sparsest IMP level (holds when "
          "significantly above 0)"),
]

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ("mnist_ticket_faster_21",)
