"""The rules. Every API route and page calls one function here; jobs and the CLI do too.

Services take the acting user as an argument (None means the system itself: the CLI, the
scheduler, a worker), check permission, validate, write, and commit once.
"""
