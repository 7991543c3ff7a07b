"""Zhou et al.'s statements as the follow-ups post words them: the claim records the ``deconstruct``
page measures (on LeNet, and per conv net under a net-named key)."""
from __future__ import annotations

from lth.report.ledger.records import Claim

ZHOU = "Zhou et al. 2019 (Deconstructing Lottery Tickets), follow-ups post"
ZHOU_SEED = "Zhou et al. 2019, as the follow-ups post (seed 002) words it"
_OVER_LEVELS = ("test accuracy at early stop, mean over every level and trial: {a} minus {b} (tolerance from the "
                "trial spread of every variant of the study, pooled within levels)")
CLAIMS = [
    Claim("zhou_magnitude_increase_competitive", "deconstruct", "the mask criterion of weight magnitude increase "
          "from training is equally competitive [with large_final]", ZHOU, 0.0, "pp",
          _OVER_LEVELS.format(a="magnitude_increase", b="large_final") + "; holds when within the tolerance of 0"),
    *[Claim(f"zhou_{c}_worse", "deconstruct", f"other variants ({c.replace('_', ' ')} ...) are less so [competitive]",
            ZHOU, 0.0, "pp", _OVER_LEVELS.format(a="large_final", b=c) + "; holds when significantly above 0")
      for c in ("large_init", "small_init", "small_final")],
    *[Claim(f"zhou_sign_matters_{a}", "deconstruct", f"keeping the sign is what matters: {a} with the initial "
            "signs beats it with random signs", ZHOU, 0.0, "pp",
            _OVER_LEVELS.format(a=f"{a}_init_sign", b=a) + "; holds when significantly above 0")
      for a in ("reinit", "reshuffle", "constant")],
    Claim("zhou_sign_kept_mildly_worse", "deconstruct", "re-initialisation schemes show mild degradation when "
          "the sign is maintained: with the initial signs, reinit, reshuffle and constant are worse than rewinding",
          ZHOU_SEED, 0.0, "pp", _OVER_LEVELS.format(a="large_final (rewinding)", b="the three schemes with the "
          "initial signs, pooled") + "; holds when significantly above 0 ('mild': compare with the random-sign "
          "gaps above)"),
    Claim("zhou_zero_beats_freeze", "deconstruct", "the standard mask-0 action of converting pruned weights to 0 is "
          "essential: freezing them at their initial values degrades performance", ZHOU, 0.0, "pp",
          _OVER_LEVELS.format(a="zero", b="freeze_init") + "; holds when significantly above 0"),
    Claim("zhou_freeze_moved_away_beats_zero", "deconstruct", "freezing the pruned weights that moved away from zero "
          "and zeroing the others is more powerful than the vanilla zeroing", ZHOU, 0.0, "pp",
          _OVER_LEVELS.format(a="freeze_moved_away", b="zero") + "; holds when significantly above 0"),
    Claim("zhou_supermask_86", "deconstruct", "a randomly initialised network with sign masks applied obtains up to "
          "86% accuracy on MNIST", ZHOU, 86.0, "%",
          "untrained large_final_same_sign mask with signed constants: the largest mean test accuracy over the "
          "supermask levels; 'up to' is a maximum: holds when it equals 86% within the tolerance (from that level's "
          "trials)"),
    Claim("zhou_supermask_above_chance", "deconstruct", "... far out-performing random chance of 10%", ZHOU, 10.0,
          "%", "the same supermask's largest mean test accuracy (holds when above 10% beyond the tolerance)"),
]

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ()
