"""The `mirabench` command line: one thin module per command group."""

from mirabench.cli.root import app, main

__all__ = ["app", "main"]
