"""The final paper's LeNet-300-100 statements (§2): the claim records the ``mnist`` page measures."""
from __future__ import annotations

from lth.report.ledger.records import FINAL, Claim

CLAIMS = [
    Claim("mnist_ticket_faster_21", "mnist",
           "tickets learn faster as Pm falls from 100% to 21%, where early stopping occurs 38% earlier than for "
           "the original network", FINAL + " §2", 38.0, "% earlier",
           "IMP tickets at the level nearest Pm 21.1%: 100 x (1 - mean early-stop iteration / the dense net's)"),
    Claim("mnist_ticket_gain_13", "mnist", "test accuracy improves by more than 0.3 percentage points at Pm 13.5%",
           FINAL + " §2", 0.3, "pp",
           "IMP tickets at the level nearest Pm 13.5%: mean test accuracy at early stop minus the dense net's"),
    Claim("mnist_ticket_back_to_dense_3_6", "mnist",
           "at Pm 3.6% test accuracy returns to the level of the original network", FINAL + " §2", 0.0, "pp",
           "IMP tickets at the level nearest Pm 3.6%: mean test accuracy at early stop minus the dense net's"),
    Claim("mnist_ticket_vs_reinit_speed_21", "mnist",
           "at Pm 21% the ticket reaches minimum validation loss 2.51x faster than when reinitialized",
           FINAL + " §2", 2.51, "x", "level nearest Pm 21.1%: mean early-stop iteration of the random reinits / "
           "of the tickets"),
    Claim("mnist_ticket_vs_reinit_accuracy_21", "mnist",
           "at Pm 21% the ticket is half a percentage point more accurate than when reinitialized",
           FINAL + " §2", 0.5, "pp", "level nearest Pm 21.1%: mean test accuracy at early stop of the tickets "
           "minus the random reinits'"),
    Claim("mnist_reinit_accuracy_falls_pm", "mnist",
           "random reinitialisation's accuracy starts to fall from Pm 21.1%", FINAL + " §2", 21.1, "% Pm",
           "largest IMP level from which every sparser level's mean reinit accuracy is below the dense net's by "
           "more than two standard errors"),
    Claim("mnist_ticket_accuracy_falls_pm", "mnist", "the ticket's accuracy falls only from Pm 2.9%",
           FINAL + " §2", 2.9, "% Pm", "as above, for the IMP tickets"),
    Claim("mnist_ticket_gain_at_50k", "mnist",
           "at iteration 50,000 tickets still improve test accuracy by up to 0.35 pp although training accuracy "
           "reaches 100%", FINAL + " §2", 0.35, "pp",
           "largest (over IMP levels) mean final test accuracy of the tickets minus the dense net's, after "
           "50,000 iterations"),
    Claim("mnist_one_shot_faster_pm", "mnist",
           "one-shot: tickets reach minimum validation loss earlier than the original network for "
           "67.5% >= Pm >= 17.6%", FINAL + " §2", 17.6, "% Pm",
           "smallest one-shot level down to which every level's mean early-stop iteration is below the dense "
           "net's"),
    Claim("mnist_one_shot_more_accurate_pm", "mnist",
           "one-shot: tickets are more accurate than the original network for 95.0% >= Pm >= 5.17%",
           FINAL + " §2", 5.17, "% Pm",
           "smallest one-shot level down to which every level's mean test accuracy at early stop is above "
           "the dense net's"),
]

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ("mnist_ticket_faster_21",)
