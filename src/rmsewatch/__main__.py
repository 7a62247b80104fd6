"""Allow ``python -m rmsewatch``."""

from rmsewatch.cli import main

main()
