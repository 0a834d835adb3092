"""Counts kept on the rows: accounts' statuses, followers, following and last status time;
statuses' replies, boosts and favourites. Database triggers keep them on every write to
statuses, follows and favourites, whichever code path (client API, inbox, cascades) makes it,
so showing an account or a status never counts rows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCOUNT_COUNTS = ("statuses_count", "followers_count", "following_count")
STATUS_COUNTS = ("replies_count", "reblogs_count", "favourites_count")

# the newest live status of an account (after a delete, when it may have been that one)
_LAST = ("(SELECT max(s.created_at) FROM statuses s "
         "WHERE s.account_id = accounts.id AND s.deleted_at IS NULL)")

BACKFILL = [
    f"""UPDATE accounts SET
        statuses_count = (SELECT count(*) FROM statuses s
                          WHERE s.account_id = accounts.id AND s.deleted_at IS NULL),
        followers_count = (SELECT count(*) FROM follows f
                           WHERE f.target_account_id = accounts.id AND f.state = 'accepted'),
        following_count = (SELECT count(*) FROM follows f
                           WHERE f.account_id = accounts.id AND f.state = 'accepted'),
        last_status_at = {_LAST}""",
    """UPDATE statuses SET
        replies_count = (SELECT count(*) FROM statuses r
                         WHERE r.in_reply_to_id = statuses.id AND r.deleted_at IS NULL),
        reblogs_count = (SELECT count(*) FROM statuses b
                         WHERE b.reblog_of_id = statuses.id AND b.deleted_at IS NULL),
        favourites_count = (SELECT count(*) FROM favourites f WHERE f.status_id = statuses.id)
      WHERE id IN (SELECT in_reply_to_id FROM statuses WHERE in_reply_to_id IS NOT NULL
                   UNION SELECT reblog_of_id FROM statuses WHERE reblog_of_id IS NOT NULL
                   UNION SELECT status_id FROM favourites)""",
]


def _status_sqlite(row: str, sign: str) -> list[str]:
    """SQLite statements counting status `row` (OLD or NEW) in (+) or out (-) when live."""
    live = f"{row}.deleted_at IS NULL"
    return [
        f"UPDATE accounts SET statuses_count = statuses_count {sign} 1 "
        f"WHERE id = {row}.account_id AND {live};",
        f"UPDATE statuses SET reblogs_count = reblogs_count {sign} 1 "
        f"WHERE id = {row}.reblog_of_id AND {live};",
        f"UPDATE statuses SET replies_count = replies_count {sign} 1 "
        f"WHERE id = {row}.in_reply_to_id AND {live};",
    ]


def _newest_sqlite(row: str) -> str:
    return (f"UPDATE accounts SET last_status_at = {row}.created_at WHERE id = {row}.account_id "
            f"AND {row}.deleted_at IS NULL "
            f"AND (last_status_at IS NULL OR last_status_at < {row}.created_at);")


def _recount_last_sqlite(row: str) -> str:
    return (f"UPDATE accounts SET last_status_at = {_LAST} WHERE id = {row}.account_id "
            f"AND {row}.deleted_at IS NULL AND last_status_at <= {row}.created_at;")


def _follow_sqlite(row: str, sign: str) -> list[str]:
    accepted = f"{row}.state = 'accepted'"
    return [
        f"UPDATE accounts SET following_count = following_count {sign} 1 "
        f"WHERE id = {row}.account_id AND {accepted};",
        f"UPDATE accounts SET followers_count = followers_count {sign} 1 "
        f"WHERE id = {row}.target_account_id AND {accepted};",
    ]


def _favourite_sqlite(row: str, sign: str) -> list[str]:
    return [f"UPDATE statuses SET favourites_count = favourites_count {sign} 1 "
            f"WHERE id = {row}.status_id;"]


def _trigger(name: str, event: str, table: str, body: list[str]) -> str:
    return f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN\n" + "\n".join(body) + "\nEND"


SQLITE_STATUS_COLUMNS = "deleted_at, account_id, reblog_of_id, in_reply_to_id, created_at"
SQLITE = [
    _trigger("statuses_counts_insert", "INSERT", "statuses",
             _status_sqlite("NEW", "+") + [_newest_sqlite("NEW")]),
    _trigger("statuses_counts_delete", "DELETE", "statuses",
             _status_sqlite("OLD", "-") + [_recount_last_sqlite("OLD")]),
    _trigger("statuses_counts_update", f"UPDATE OF {SQLITE_STATUS_COLUMNS}", "statuses",
             _status_sqlite("OLD", "-") + [_recount_last_sqlite("OLD")]
             + _status_sqlite("NEW", "+") + [_newest_sqlite("NEW")]),
    _trigger("follows_counts_insert", "INSERT", "follows", _follow_sqlite("NEW", "+")),
    _trigger("follows_counts_delete", "DELETE", "follows", _follow_sqlite("OLD", "-")),
    _trigger("follows_counts_update", "UPDATE OF state, account_id, target_account_id",
             "follows", _follow_sqlite("OLD", "-") + _follow_sqlite("NEW", "+")),
    _trigger("favourites_counts_insert", "INSERT", "favourites", _favourite_sqlite("NEW", "+")),
    _trigger("favourites_counts_delete", "DELETE", "favourites", _favourite_sqlite("OLD", "-")),
    _trigger("favourites_counts_update", "UPDATE OF status_id", "favourites",
             _favourite_sqlite("OLD", "-") + _favourite_sqlite("NEW", "+")),
]
SQLITE_TRIGGERS = [
    "statuses_counts_insert", "statuses_counts_delete", "statuses_counts_update",
    "follows_counts_insert", "follows_counts_delete", "follows_counts_update",
    "favourites_counts_insert", "favourites_counts_delete", "favourites_counts_update",
]

# PostgreSQL: one function per table; `UPDATE OF` keeps a counter's own update from firing
POSTGRES = [
    """CREATE FUNCTION fv_statuses_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.deleted_at IS NULL THEN
    UPDATE accounts SET statuses_count = statuses_count - 1 WHERE id = OLD.account_id;
    UPDATE statuses SET reblogs_count = reblogs_count - 1 WHERE id = OLD.reblog_of_id;
    UPDATE statuses SET replies_count = replies_count - 1 WHERE id = OLD.in_reply_to_id;
    UPDATE accounts SET last_status_at = (SELECT max(s.created_at) FROM statuses s
        WHERE s.account_id = accounts.id AND s.deleted_at IS NULL)
      WHERE id = OLD.account_id AND last_status_at <= OLD.created_at;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL THEN
    UPDATE accounts SET statuses_count = statuses_count + 1,
        last_status_at = GREATEST(last_status_at, NEW.created_at)
      WHERE id = NEW.account_id;
    UPDATE statuses SET reblogs_count = reblogs_count + 1 WHERE id = NEW.reblog_of_id;
    UPDATE statuses SET replies_count = replies_count + 1 WHERE id = NEW.in_reply_to_id;
  END IF;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER statuses_counts
  AFTER INSERT OR DELETE OR UPDATE OF deleted_at, account_id, reblog_of_id, in_reply_to_id,
    created_at ON statuses
  FOR EACH ROW EXECUTE FUNCTION fv_statuses_counts()""",
    """CREATE FUNCTION fv_follows_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.state = 'accepted' THEN
    UPDATE accounts SET following_count = following_count - 1 WHERE id = OLD.account_id;
    UPDATE accounts SET followers_count = followers_count - 1 WHERE id = OLD.target_account_id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.state = 'accepted' THEN
    UPDATE accounts SET following_count = following_count + 1 WHERE id = NEW.account_id;
    UPDATE accounts SET followers_count = followers_count + 1 WHERE id = NEW.target_account_id;
  END IF;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER follows_counts
  AFTER INSERT OR DELETE OR UPDATE OF state, account_id, target_account_id ON follows
  FOR EACH ROW EXECUTE FUNCTION fv_follows_counts()""",
    """CREATE FUNCTION fv_favourites_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE statuses SET favourites_count = favourites_count - 1 WHERE id = OLD.status_id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    UPDATE statuses SET favourites_count = favourites_count + 1 WHERE id = NEW.status_id;
  END IF;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER favourites_counts
  AFTER INSERT OR DELETE OR UPDATE OF status_id ON favourites
  FOR EACH ROW EXECUTE FUNCTION fv_favourites_counts()""",
]


def upgrade() -> None:
    for table, names in (("accounts", ACCOUNT_COUNTS), ("statuses", STATUS_COUNTS)):
        for name in names:
            op.add_column(table, sa.Column(name, sa.Integer(), nullable=False,
                                           server_default="0"))
    op.add_column("accounts", sa.Column("last_status_at", sa.DateTime(timezone=True),
                                        nullable=True))
    for statement in BACKFILL:
        op.execute(statement)
    for statement in POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("statuses", "follows", "favourites"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_counts ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS fv_{table}_counts()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table, names in (("accounts", (*ACCOUNT_COUNTS, "last_status_at")),
                         ("statuses", STATUS_COUNTS)):
        with op.batch_alter_table(table) as batch:
            for name in names:
                batch.drop_column(name)
