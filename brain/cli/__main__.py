"""`python -m brain.cli` runs the `brain` command."""

from brain.cli import main

main()
