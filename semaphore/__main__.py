"""`python -m semaphore`: the same CLI as the `semaphore` console script."""

from semaphore.cli import main

main()
