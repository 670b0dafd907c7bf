"""Reports: the leaderboard page, tables, gallery, plots, reference numbers, compare (the CI gate), statistics."""
