"""The remote runner (`semaphore runner ...`): runs tasks on another machine, talking to the
server only over HTTP, through /api/internal/runners (REFERENCE.md §11, the README's "Remote
runner").

It imports the engine and the config and nothing of the server's: no Flask, database, Redis
or queue (an import-linter contract in pyproject.toml keeps it so).

    client       the protocol's four calls, and what a failed call means
    token        the runner's token file
    outbox       one job's unsent output lines and statuses
    job          one job: the engine in its own thread, its stop and confirmation
    loop         report, poll, start and stop jobs, every second, until told to end
    commands     register, start, unregister, setup (the CLI calls these)
"""
