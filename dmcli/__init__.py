"""The `dm` command: a client of the manager's public REST API (docs/cli.md)."""
