"""The final paper's CIFAR-10 statements (§3-4, Figs. 5-8): the claim records the ``cifar`` page measures."""
from __future__ import annotations

from lth.report.ledger.records import DIRECTION, FINAL, Claim

# (net, paper speedup x, at Pm %, paper accuracy gain pp, at Pm %), final paper §3 / Fig. 5
_CONV = {"conv2": ("Conv-2", 3.5, 8.8, 3.4, 4.6), "conv4": ("Conv-4", 3.5, 9.2, 3.5, 11.1),
         "conv6": ("Conv-6", 2.5, 15.1, 3.3, 26.4)}
# the Pm (%) the paper names for each net's speedup and accuracy gain: where the directions are tested
PAPER_PM = {net: (speed_pm, gain_pm) for net, (_, _, speed_pm, _, gain_pm) in _CONV.items()}
# dropout raises the dense net's accuracy by (pp), pruning then adds up to (pp): §3, Fig. 6
_DROPOUT = {"conv2": (2.1, 2.3), "conv4": (3.0, 4.6), "conv6": (2.4, 4.7)}


def _cifar_claims() -> list[Claim]:
    """The final paper's CIFAR-10 statements (§3-4)."""
    out = []
    for net, (title, speed, speed_pm, gain, gain_pm) in _CONV.items():
        out.append(Claim(f"{net}_speedup", "cifar", f"{title} tickets reach minimum validation loss up to {speed:g}x "
                          f"faster than the original network (at Pm {speed_pm:g}%)", FINAL + " §3, Fig. 5", speed, "x",
                          "largest dense / ticket ratio of mean early-stop iterations over the IMP levels (plain)"))
        out.append(Claim(f"{net}_accuracy_gain", "cifar", f"{title} tickets are up to {gain:g} pp more accurate "
                          f"than the original network (at Pm {gain_pm:g}%)", FINAL + " §3, Fig. 5", gain, "pp",
                          "largest mean test accuracy of the tickets minus the dense net's over the IMP levels"))
        out.append(Claim(f"{net}_above_dense_pm", "cifar", f"{title} tickets stay above the original network's "
                          "accuracy while Pm > 2%", FINAL + " §3", 2.0, "% Pm",
                          "smallest IMP level down to which every level's mean ticket accuracy is not below the "
                          "dense net's by more than the tolerance"))
        raise_pp, adds = _DROPOUT[net]
        out.append(Claim(f"{net}_dropout_raises_dense", "cifar", f"dropout raises the dense {title}'s accuracy by "
                          f"{raise_pp:g} pp", FINAL + " §3, Fig. 6", raise_pp, "pp",
                          "dense test accuracy at early stop: dropout run minus plain run"))
        out.append(Claim(f"{net}_dropout_pruning_adds", "cifar", f"with dropout, pruning adds up to {adds:g} pp "
                          f"to {title}'s accuracy", FINAL + " §3, Fig. 6", adds, "pp",
                          "dropout run: largest mean ticket accuracy minus the dense net's over the IMP levels"))
    for net, title, warm in (("vgg19", "VGG-19", "rate 0.1 with warmup over 10K iterations"),
                             ("resnet20", "ResNet-20", "rate 0.03 with warmup over 20K iterations")):
        out.append(Claim(f"{net}_high_lr_no_tickets", "cifar", f"{title} at learning rate 0.1 (no warmup): IMP "
                          "finds no winning tickets; tickets do no better than random reinit", FINAL + " §4, Figs. 7-8",
                          0.0, "pp", "high_lr run, sparsest level: ticket minus reinit mean test accuracy "
                          "(holds when not significantly above 0)"))
        out.append(Claim(f"{net}_low_lr_tickets", "cifar", f"{title} at learning rate 0.01: winning tickets exist "
                          "(they beat random reinit)", FINAL + " §4, Figs. 7-8", 0.0, "pp",
                          "low_lr run, sparsest level: ticket minus reinit mean test accuracy (holds when "
                          "significantly above 0)"))
        out.append(Claim(f"{net}_warmup_tickets", "cifar", f"{title} at {warm}: winning tickets at the "
                          "higher rate's accuracy (they beat random reinit)", FINAL + " §4, Figs. 7-8", 0.0,
                          "pp", "warmup run, sparsest level: ticket minus reinit mean test accuracy (holds when "
                          "significantly above 0)"))
    out.append(Claim("resnet20_dense_accuracy", "cifar", "the dense ResNet-20 reaches 90.5% at rate 0.1",
                      FINAL + " §4, Fig. 8", 90.5, "%", "high_lr run: mean dense test accuracy at early stop"))
    return out



def _direction_claims() -> list[Claim]:
    """The direction of each Conv-2/4/6 effect of §3 (Figs. 5-6), tested in our reduced-scale runs: the paper's
    statements as effects (contrast: no effect), at the level of ours nearest the paper's Pm where it names one."""
    out = []
    for net, (title, _, speed_pm, _, gain_pm) in _CONV.items():
        def claim(key: str, quote: str, fig: str, unit: str, contrast: float, how: str) -> Claim:
            # the paper's column holds the contrast itself: the threshold the effect must clear
            return Claim(f"{net}_direction_{key}", "cifar", quote, f"{FINAL} §3, {fig}", contrast, unit, how,
                         kind=DIRECTION)
        out += [
            claim("earlier", f"{title} tickets reach minimum validation loss earlier than the original network",
                  "Fig. 5", "x", 1.0, f"plain run: dense / ticket mean early-stop iteration at our level nearest the "
                  f"paper's Pm {speed_pm:g}% (holds when significantly above 1)"),
            claim("more_accurate", f"{title} tickets are more accurate than the original network at moderate Pm",
                  "Fig. 5", "pp", 0.0, f"plain run: ticket minus dense mean test accuracy at our level nearest the "
                  f"paper's Pm {gain_pm:g}% (holds when significantly above 0)"),
            claim("beats_reinit", f"{title} tickets are more accurate than random reinitialisation of their "
                  "structure", "Fig. 5", "pp", 0.0, "plain run: ticket minus reinit mean test accuracy at the "
                  "sparsest level (holds when significantly above 0)"),
            claim("dropout_raises_dense", f"dropout raises the dense {title}'s accuracy", "Fig. 6", "pp", 0.0,
                  "dense test accuracy at early stop: dropout run minus plain run (holds when significantly above 0)"),
            claim("dropout_pruning_adds", f"with dropout, pruning still raises {title}'s accuracy", "Fig. 6", "pp",
                  0.0, f"dropout run: ticket minus dense mean test accuracy at our level nearest the paper's Pm "
                  f"{gain_pm:g}% (holds when significantly above 0)")]
    return out


CLAIMS = _cifar_claims() + _direction_claims()

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ()
