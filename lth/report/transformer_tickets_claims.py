"""Lottery tickets in a small transformer (seed 004's open questions; the transformer follow-ups): the claim
records the ``transformer_tickets`` page measures. Differences of test accuracy at early stop, in percentage
points; the sources give no value at this scale, so 0 (no effect) is the threshold."""
from __future__ import annotations

from lth.report.ledger.records import Claim

SEED_004 = "seed 004 (slides, 'What about transformers/large language models?')"
LATE = "Frankle et al., ICML 2020 (Linear Mode Connectivity and the LTH); Yu et al., ICLR 2020 (Playing the Lottery " \
       "with Rewards and Multiple Languages)"
CHEN = "Chen et al., NeurIPS 2020 (The Lottery Ticket Hypothesis for Pre-trained BERT Networks)"

CLAIMS = [
    Claim("tf_tickets_beat_reinit", "transformer_tickets", "'do lottery tickets also work for NLP?' - read as Frankle "
          "& Carbin's test: IMP tickets rewound to their initial weights are more accurate than their structure "
          "randomly reinitialised", SEED_004, 0.0, "pp", "tickets rewound to init minus random reinits, test accuracy "
          "at early stop, pooled over every pruned level and trial"),
    Claim("tf_late_rewinding", "transformer_tickets", "(paraphrase) transformers need late rewinding: tickets "
          "rewound to an early iteration k beat tickets rewound to initialisation at high sparsity", LATE, 0.0, "pp",
          "tickets rewound to the latest k minus tickets rewound to init, test accuracy at early stop, pooled over "
          "the sparser half of the pruned levels"),
    Claim("tf_matching_at_40", "transformer_tickets", "(paraphrase) matching subnetworks exist at 40% to 90% "
          "sparsity", CHEN, 0.0, "pp", "the better-rewound tickets at the level nearest 40% sparsity (Pm 60%) minus "
          "the dense net, test accuracy at early stop; holds unless significantly below 0"),
    Claim("tf_as_sparse_as_lenet", "transformer_tickets", "'are transformers sparse like feed-forward and conv "
          "nets?' - read as: the transformer's IMP tickets match its dense net down to the Pm at which "
          "LeNet-300-100's tickets still match theirs", SEED_004, None, "% Pm", "the sparsest level of the unbroken "
          "run of levels whose tickets are not significantly below the dense net (table above), the transformer's "
          "best rewinding point against LeNet's (the mnist stage); holds when the transformer matches at or "
          "below LeNet's level, fails when it falls below its dense net above that level"),
]

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ()
