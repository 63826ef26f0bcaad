"""`dm`: the command-line client of the manager API."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Deploy, update, roll back and delete applications with Deployment Manager."""
