"""The papers' own numbers that the report puts beside ours (with where each comes from)."""

# Frankle & Carbin, "The Lottery Ticket Hypothesis: Training Pruned Neural Networks" (arXiv v1, 2018),
# Section 2, as given in ../shared/seeds/001_*.txt.
XOR_SOURCE = "Frankle & Carbin 2018 (arXiv v1), Section 2, XOR tables"

# Random initialisation: success rates (%) of finding the decision boundary (DB) / reaching zero loss (ZL).
XOR_RANDOM_INIT = {10: (98.5, 92.9), 8: (96.8, 87.5), 6: (92.5, 76.8), 4: (78.3, 55.3), 2: (49.1, 17.6)}

# Pruning from 10 hidden units, survivors reset to their original init: (mode, heuristic) ->
# {units: (DB, ZL)}; units 10 is the unpruned network of that row's trials.
XOR_PRUNING = {
    ("one_shot", "product"): {10: (99.2, 93.3), 4: (98.0, 90.3), 2: (82.4, 65.3)},
    ("iterative", "input_magnitude"): {10: (98.9, 93.5), 4: (97.9, 92.2), 2: (83.8, 76.5)},
    ("iterative", "output_magnitude"): {10: (99.0, 93.3), 4: (96.9, 85.9), 2: (78.6, 56.1)},
    ("iterative", "product"): {10: (98.5, 92.9), 4: (97.6, 90.3), 2: (91.5, 79.4)},
}

# LeNet-300-100 on MNIST. v1 numbers as given in ../shared/seeds/001_*.txt (Sections 3, 4, 6); final-paper
# (ICLR 2019) statements from ../shared/seeds/004_*.txt and the paper's Section 2.
MNIST_V1 = "Frankle & Carbin 2018 (arXiv v1)"
MNIST_FINAL = "Frankle & Carbin, ICLR 2019"
MNIST_CLAIMS = {
    # key: (paper value, unit, source, what the paper says)
    "ticket_returns_to_dense_speed_pm": (1.8, "% remaining", MNIST_V1 + " §4",
                                         "iterative tickets return to the dense net's convergence time at Pm 1.8%"),
    "ticket_accuracy_drops_pm": (1.5, "% remaining", MNIST_V1 + " §4",
                                 "iterative tickets' accuracy drops off at Pm 1.5%"),
    "reinit_accuracy_drops_pm": (37.0, "% remaining", MNIST_V1 + " §4",
                                 "reinitialised controls' accuracy drops off at Pm 37%"),
    "rewire_accuracy_drops_pm": (52.0, "% remaining", MNIST_V1 + " §4",
                                 "rewired controls' accuracy drops off around Pm 52%"),
    "ticket_vs_reinit_speed_25": (2.28, "x", MNIST_V1 + " §3",
                                  "25% tickets converge 2.28x as fast as their reinitialised controls (paper: one-shot; ours: iterative level nearest 25%)"),
    "one_shot_returns_to_dense_speed_pm": (7.5, "% remaining", MNIST_V1 + " §4",
                                           "one-shot tickets return to dense convergence time between Pm 5% and 10%"),
    "one_shot_accuracy_drops_pm": (15.0, "% remaining", MNIST_V1 + " §4",
                                   "one-shot accuracy begins to drop off at Pm 15%"),
    "ticket_speedup_21": (None, "x dense", MNIST_FINAL + " Fig. 3/4",
                          "tickets at Pm 21.1% learn fastest; no single number in the text"),
    "ticket_accuracy_gain_13": (None, "pp", MNIST_FINAL + " Fig. 4",
                                "tickets at moderate Pm reach higher test accuracy than dense; read from the figure"),
}

# CIFAR-10, final paper (Frankle & Carbin, ICLR 2019) Sections 3-4. The seeds (../shared/seeds/004_*.txt)
# show Figs. 5, 7, 8 without numbers; these are the statements of the paper's text.
CIFAR_SOURCE = "Frankle & Carbin, ICLR 2019"
# net -> (largest early-stop speedup over dense (x), at Pm %, largest accuracy gain over dense (pp), at Pm %)
CONV_CLAIMS = {"conv2": (3.5, 8.8, 3.4, 4.6), "conv4": (3.5, 9.2, 3.5, 11.1), "conv6": (2.5, 15.1, 3.3, 26.4)}
CONV_ABOVE_DENSE_PM = 2.0      # all three stay above the dense net's accuracy while Pm > 2%
# Dropout (Sec. 3, Fig. 6): dropout raises the dense net's accuracy by (pp), pruning then adds up to (pp).
DROPOUT_CLAIMS = {"conv2": (2.1, 2.3), "conv4": (3.0, 4.6), "conv6": (2.4, 4.7)}
RESNET_DENSE_ACCURACY = 90.5   # ResNet-20 ("Resnet-18"), rate 0.1, no warmup (Sec. 4, Fig. 8)
DEEP_FINDINGS = {
    "high_lr": "rate 0.1 (no warmup): IMP finds no winning tickets; tickets do no better than random reinit",
    "low_lr": "rate 0.01: winning tickets exist (beat reinit) but the dense net is less accurate than at 0.1",
    "warmup": "rate 0.1 with linear warmup (VGG-19 10K iterations; ResNet-20 20K iterations to 0.03): "
              "winning tickets at the higher accuracy",
}
