"""The ``msplex`` command line (typer); ``main`` is the console-script entry point."""

from msplex.cli.app import app, main

__all__ = ["app", "main"]
