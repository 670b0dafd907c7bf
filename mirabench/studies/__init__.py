"""Studies: several runs planned together and summarised as the paper's tables (main grid, A, B, C)."""
