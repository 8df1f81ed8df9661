"""What differs for PostgreSQL: the SQL text its driver is handed, and what its error messages may show."""

from __future__ import annotations

from bot.storage.dialect import POSTGRESQL, SQLITE, is_postgresql, to_pyformat
from bot.storage.postgres import describe, reason


def test_placeholders_become_pyformat_outside_literals_and_percent_signs_are_escaped() -> None:
    sql = "SELECT ? AS a, '?' AS b, \"odd?name\" AS c, 'it''s 100%' AS d WHERE x LIKE '%a%' AND y = ? % 2"
    assert to_pyformat(sql) == (
        "SELECT %s AS a, '?' AS b, \"odd?name\" AS c, 'it''s 100%%' AS d WHERE x LIKE '%%a%%' AND y = %s %% 2"
    )
    assert POSTGRESQL.sql(sql) == to_pyformat(sql) and SQLITE.sql(sql) == sql
    assert to_pyformat(sql) is to_pyformat(sql)  # translated once per statement, then cached


def test_urls_name_postgresql_and_everything_else_is_a_file() -> None:
    assert is_postgresql("postgresql://u@h/db") and is_postgresql("postgres://h/db")
    assert not is_postgresql("data/bot.db") and not is_postgresql("postgresql.db")


def test_driver_messages_lose_the_password_but_nothing_else() -> None:
    url = "postgresql://carebot:p@db:5432/carebot"
    assert reason(Exception("pool initialization incomplete"), url) == "pool initialization incomplete"
    assert (
        reason(Exception("bad URL postgresql://carebot:p@db/x"), url)
        == "bad URL postgresql://carebot:***@db/x"
    )
    assert (
        reason(Exception("in 'host=db password=hunter2 user=x'\nmore"), url)
        == "in 'host=db password=*** user=x'"
    )
    assert describe(url) == "postgresql://db:5432/carebot"
