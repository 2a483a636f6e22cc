"""`python -m arrears_dev.new_migration <package> "<what changes>"`: draft a service's next
migration. Starts a throw-away embedded PostgreSQL, upgrades an empty database to the
current head, and lets alembic's autogenerate write what differs from the models into
`<package>/migrations/versions/<NNNN>_....py`, to read and edit before committing (add
`if_not_exists`, data moves, a downgrade that makes sense).
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
from pathlib import Path

from alembic import command
from arrears.migrations import Migrations

from arrears_dev.embedded.postgres import EmbeddedPostgres, create_database, with_database


def draft(migrations: Migrations, message: str) -> None:
    revisions = migrations.revisions()
    folder = Path(tempfile.mkdtemp(prefix="arrears-new-migration-"))
    folder.chmod(0o755)  # the server runs as another user
    with EmbeddedPostgres(folder / "data", durable=False) as server:
        create_database(server.url("postgres"), "draft")
        url = with_database(server.url("postgres"), "draft")
        if revisions:
            migrations.upgrade(url)
        command.revision(
            migrations.config(url),
            message=message,
            autogenerate=True,
            rev_id=f"{len(revisions) + 1:04d}",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arrears_dev.new_migration")
    parser.add_argument("package", help="e.g. contact_service (its .migrations is used)")
    parser.add_argument("message", help="what the migration changes, in a few words")
    args = parser.parse_args(argv)
    module = importlib.import_module(f"{args.package}.migrations")
    draft(module.MIGRATIONS, args.message)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
