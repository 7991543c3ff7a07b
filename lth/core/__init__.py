"""Training machinery that knows no experiment: the population engine, optimizer, models, masks, process
split and the CPU-only fast paths."""
