"""`python -m cenas_cli` is the `cenas` command."""

from cenas_cli import main

main()
