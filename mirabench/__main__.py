"""`python -m mirabench` is the `mirabench` command."""

from mirabench.cli.root import main

main()
