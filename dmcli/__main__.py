"""`python -m dmcli` runs the `dm` command."""

from dmcli.commands import main

main(prog_name="dm")
