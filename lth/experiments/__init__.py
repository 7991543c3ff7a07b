"""One module per paper experiment: its params schema (a dataclass) and its procedure."""
