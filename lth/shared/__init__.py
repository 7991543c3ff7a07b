"""What experiments share, below them: the lottery algorithm, the LeNet and conv-net lotteries, the settings
groups, data subsets, the stage plumbing. No module here imports an experiment."""
