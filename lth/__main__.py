"""``python -m lth run <experiment> [item ...]``: the ``lth`` command (lth.cli)."""
from lth.cli import main

main()
