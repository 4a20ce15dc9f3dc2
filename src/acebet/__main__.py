"""`python -m acebet`, the same as the `acebet` console script."""

from acebet.cli import main

main()
