"""`UTCDateTime` reads SQLite's stored text back as aware UTC datetimes, whatever form the
text takes (SQLAlchemy's, SQLite's own `CURRENT_TIMESTAMP`, one with an offset)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa

from models.types import UTCDateTime


def test_sqlite_text_reads_as_aware_utc() -> None:
    engine = sa.create_engine("sqlite://")
    meta = sa.MetaData()
    table = sa.Table("t", meta, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("at", UTCDateTime))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [
            {"id": 1, "at": datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)},
            {"id": 2, "at": datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))},
            {"id": 3, "at": None}])
        conn.execute(sa.text("INSERT INTO t (id, at) VALUES (4, '2024-05-06 07:08:09'), "
                             "(5, '2024-05-06'), (6, '2024-05-06 09:08:09+02:00')"))
        read = dict(conn.execute(sa.select(table.c.id, table.c.at)).all())
    assert read == {1: datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
                    2: datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), 3: None,
                    4: datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
                    5: datetime(2024, 5, 6, tzinfo=UTC),
                    6: datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)}
    assert all(value.tzinfo is UTC for value in read.values() if value is not None)
