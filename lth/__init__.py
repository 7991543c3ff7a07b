"""Lottery Ticket Hypothesis reproduction library and its ``lth`` command.

Knows PyTorch, knows nothing of DVC: ``lth run <experiment>`` (lth.cli) hands a stage body a ``StageRun`` naming
the params file and the folders it reads and writes; dvc.yaml runs one such command per stage.
"""
