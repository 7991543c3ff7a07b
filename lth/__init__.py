"""Lottery Ticket Hypothesis reproduction library.

Knows PyTorch, knows nothing of DVC or where files live: the scripts in ``stages/`` read params,
call into this package and write results.
"""
