"""`python -m cenas` is the `cenas` command."""

from cenas.cli import main

main()
