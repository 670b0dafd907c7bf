"""`python -m mirabench` is the `mirabench` command."""

from mirabench.cli import main

main()
