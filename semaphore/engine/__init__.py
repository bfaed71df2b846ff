"""The task engine: runs one task's commands, with no Flask, no database and no queue.

engine.runner.TaskRunner takes a plain engine.spec.TaskSpec (secrets already decrypted) and
reports output lines, status changes and the commit through callbacks; the RQ job builds the
spec from the database and stores what the callbacks report.
"""
