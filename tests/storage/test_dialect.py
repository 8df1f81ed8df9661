"""The one SQL text both engines run: what the PostgreSQL driver is handed instead."""

from __future__ import annotations

from bot.storage.dialect import POSTGRESQL, SQLITE, is_postgresql, to_pyformat


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
