"""Types of the CLI fixtures (``tests/cli/conftest.py``), importable from any test module: ``conftest``
itself is not (several directories have one, and which ``conftest`` module Python finds depends on
collection order)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from click.testing import Result

Cli = Callable[..., Result]
"""``cli("tenant", "list")``: runs the command in this process."""
Proc = Callable[..., subprocess.CompletedProcess[str]]
"""Runs ``msplex`` as a real process."""
