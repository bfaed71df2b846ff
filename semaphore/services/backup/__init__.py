"""Project backup and restore, in the original's JSON format.

A backup names columns as the database does and links objects by name, never by id, so that it
can be restored into any installation. It carries no secrets: keys come back empty and must be
filled in again. Restore checks the whole document by the API's rules before it writes
anything, then writes every row in one transaction, so a bad backup leaves nothing behind.

export.py writes a backup; document.py reads and checks one; restore.py writes it back.
"""

from semaphore.services.backup.document import parse_backup
from semaphore.services.backup.export import export_project
from semaphore.services.backup.restore import restore_project, restore_project_file

__all__ = ["export_project", "parse_backup", "restore_project", "restore_project_file"]
