"""What only PostgreSQL has to prove: several processes' worth of pools on one database, a server that goes
away, a server that is not there, and a schema migrated by replicas starting together.

Every test runs against the real test server (tests/pg.py). "Several processes" are several
:class:`Database` objects, each with its own pool: to the server they are exactly that.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import psycopg
import pytest

from bot.core.model import Priority, Reason, TicketStatus
from bot.storage import Database
from bot.storage.database import Tx, _expose
from bot.storage.migrate import FIRST_POSTGRESQL, LATEST, SchemaError, migrate_postgresql, pg_version
from bot.storage.postgres import connect
from bot.storage.reports import forget_customer
from bot.storage.transaction import StorageUnavailable
from tests import pg

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _new_ticket(
    db: Database, customer_id: int, summary: str, *, hold: asyncio.Event | None = None
) -> int:
    async with db.transaction() as tx:
        ticket = await tx.create_ticket(
            customer_id,
            reason=Reason.UNMATCHED,
            priority=Priority.NORMAL,
            anger=0,
            anger_reasons=(),
            summary=summary,
            first_message_id=None,
            now=NOW,
        )
        if hold is not None:
            await hold.wait()  # keep the transaction open while the other process inserts
    return ticket.id


async def test_two_processes_creating_a_ticket_for_one_customer_get_one(postgres_url: str) -> None:
    """The partial unique index decides: the second insert waits for the first to commit, conflicts, and
    returns the first one's ticket instead of a second active ticket or an error."""
    pg.empty_tables(postgres_url)
    async with await Database.open(postgres_url) as one, await Database.open(postgres_url) as two:
        customer = await one.upsert_customer("telegram", "42", "Kim", "de")
        hold = asyncio.Event()
        first = asyncio.create_task(_new_ticket(one, customer.id, "first", hold=hold))
        await asyncio.sleep(0.2)  # the first insert is done, its transaction still open
        second = asyncio.create_task(_new_ticket(two, customer.id, "second"))
        await asyncio.sleep(0.2)  # the second insert now waits on the unique index
        assert not second.done()
        hold.set()
        assert await first == await second
        tickets = await two.customer_tickets(customer.id)
        assert [(t.summary, t.status) for t in tickets] == [("first", TicketStatus.OPEN)]
        assert [e.kind for e in await two.ticket_events(tickets[0].id)] == ["created"]
        # Many at once, from ten pools: still one.
        others = [await Database.open(postgres_url) for _ in range(8)]
        try:
            other = await one.upsert_customer("telegram", "43", "Jo", "de")
            ids = await asyncio.gather(*(_new_ticket(db, other.id, f"#{n}") for n, db in enumerate(others)))
            assert len(set(ids)) == 1 and len(await one.customer_tickets(other.id)) == 1
        finally:
            for db in others:
                await db.close()


async def _terminate_others(url: str) -> int:
    """What a server restart does to our connections: every backend of the database is ended."""
    async with await psycopg.AsyncConnection.connect(pg.admin_url(), autocommit=True) as admin:
        cursor = await admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (psycopg.conninfo.conninfo_to_dict(url)["dbname"],),
        )
        row = await cursor.fetchone()
    await asyncio.sleep(0.1)
    return int(row[0]) if row else 0


async def test_a_database_that_goes_away_is_survived_and_loses_nothing_committed(postgres_url: str) -> None:
    pg.empty_tables(postgres_url)
    async with await Database.open(postgres_url) as db:
        customer = await db.upsert_customer("telegram", "7", "Kim", "de")
        stored = await db.record_inbound(
            customer.id, text="Hallo", attachment=None, payload=None, channel_message_id="1", received_at=NOW
        )
        # Idle pooled connections die: the next call notices at BEGIN, discards them and reconnects.
        await asyncio.gather(*(db.customer(customer.id) for _ in range(4)))  # several connections in the pool
        assert await _terminate_others(postgres_url) >= 1
        assert await db.customer(customer.id) == customer
        # A transaction in flight when the server goes: StorageUnavailable, nothing of it committed.
        with pytest.raises(StorageUnavailable):
            async with db.transaction() as tx:
                await tx.record_inbound(
                    customer.id,
                    text="lost?",
                    attachment=None,
                    payload=None,
                    channel_message_id="2",
                    received_at=NOW,
                )
                await _terminate_others(postgres_url)
                await tx.save_conversation(customer.id, "{}")
        # The caller's retry (the channel redelivers) stores it once; the first message is still there.
        again = await db.record_inbound(
            customer.id, text="lost?", attachment=None, payload=None, channel_message_id="2", received_at=NOW
        )
        assert not again.duplicate
        assert [row.id for row in await db.unhandled_inbound()] == [stored.id, again.id]


async def test_a_server_that_is_not_there_is_one_clear_error_without_the_password() -> None:
    with pytest.raises(StorageUnavailable) as caught:
        await Database.open("postgresql://carebot:sekret@127.0.0.1:1/nowhere")
    message = str(caught.value)
    assert message.startswith("cannot connect to postgresql://127.0.0.1:1/nowhere: ")
    assert "sekret" not in message and "\n" not in message


async def test_fresh_equals_migrated_and_replicas_starting_together_migrate_once() -> None:
    with pg.scratch_database() as fresh_url, pg.scratch_database() as migrated_url:
        # Six replicas open a brand-new database at the same moment: the advisory lock lets one migrate.
        opened = await asyncio.gather(*(Database.open(fresh_url) for _ in range(6)))
        for db in opened:
            await db.close()
        conn = await connect(migrated_url)
        try:
            for version in range(FIRST_POSTGRESQL, LATEST + 1):  # the baseline, then every step in turn
                await migrate_postgresql(conn, target=version, fresh=False)
            assert await pg_version(conn) == LATEST
            assert await migrate_postgresql(conn) == (LATEST, LATEST)
            assert await _catalog(fresh_url) == await _catalog(migrated_url)
            assert len(await _catalog(fresh_url)) > 100
            await conn.execute("UPDATE schema_version SET version = %s", (LATEST + 1,))
        finally:
            await conn.close()
        with pytest.raises(SchemaError, match="newer than this bot"):
            await Database.open(migrated_url)


async def _catalog(url: str) -> set[tuple[str, ...]]:
    """Columns, constraints, indexes and triggers of the schema, as comparable text."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        found: set[tuple[str, ...]] = set()
        for sql in (
            "SELECT table_name, column_name, data_type, coalesce(column_default, ''), is_nullable,"
            " is_identity, is_generated, coalesce(collation_name, '') FROM information_schema.columns"
            " WHERE table_schema = current_schema()",
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE connamespace = current_schema()::regnamespace",
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()",
            "SELECT event_object_table, trigger_name, action_statement, action_condition"
            " FROM information_schema.triggers WHERE trigger_schema = current_schema()",
        ):
            cursor = await conn.execute(sql)
            found |= {tuple(str(value) for value in row) for row in await cursor.fetchall()}
        cursor = await conn.execute("SELECT max(version) FROM schema_version")
        found.add(("version", str((await cursor.fetchone() or [None])[0])))
    return found


async def test_forgetting_vacuums_the_erased_row_versions_away(postgres_url: str) -> None:
    pg.empty_tables(postgres_url)
    async with await Database.open(postgres_url) as db:
        customer = await db.upsert_customer("telegram", "9", "Kim Berger", "de")
        await db.record_inbound(
            customer.id,
            text="Meine IBAN ist DE89",
            attachment=None,
            payload=None,
            channel_message_id="1",
            received_at=NOW,
        )
        async with db.erasing() as tx:
            assert await forget_customer(tx, customer.id, "dpo", NOW)
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            cursor = await conn.execute(
                "SELECT relname, last_vacuum IS NOT NULL FROM pg_stat_user_tables"
                " WHERE relname IN ('messages', 'customers', 'conversations')"
            )
            vacuumed = dict(await cursor.fetchall())
            cursor = await conn.execute("SELECT count(*) FROM messages WHERE text LIKE '%IBAN%'")
            assert (await cursor.fetchone()) == (0,)
    assert vacuumed == {"messages": True, "customers": True, "conversations": True}


async def test_a_deadlock_victim_is_run_again_by_the_single_call_methods(postgres_url: str) -> None:
    """Two transactions lock two customers in opposite order: PostgreSQL aborts one with a deadlock error,
    and the ``_expose`` wrapper runs it again (it changed nothing), so both calls succeed."""
    pg.empty_tables(postgres_url)
    both_hold_one = asyncio.Barrier(2)
    attempts: list[str] = []

    async def lock_both(tx: Tx, first: int, second: int) -> int:
        attempts.append(f"{first}->{second}")
        await tx.lock("customer", first)
        if len(attempts) <= 2:
            await both_hold_one.wait()  # the first attempts really do cross
        await tx.lock("customer", second)
        return first

    crossing = _expose(lock_both)
    async with await Database.open(postgres_url) as one, await Database.open(postgres_url) as two:
        results = await asyncio.gather(crossing(one, 1, 2), crossing(two, 2, 1))
    assert sorted(results) == [1, 2]
    assert len(attempts) == 3, attempts  # one of the two ran a second time


async def test_a_task_cancelled_mid_statement_leaves_no_transaction_on_the_pooled_connection(
    postgres_url: str,
) -> None:
    """A browser closing an event stream cancels its task, perhaps while a statement runs on the server.
    With one pooled connection, whatever it inherited would show: an open transaction would let the next
    caller read the cancelled task's uncommitted write (and its BEGIN would only warn)."""
    pg.empty_tables(postgres_url)
    async with await Database.open(postgres_url, pool_size=1) as db:
        customer = await db.upsert_customer("web", "v1", "", None)
        started = asyncio.Event()

        async def slow() -> None:
            async with db.transaction() as tx:
                await tx.save_conversation(customer.id, '{"cancelled": true}')
                started.set()
                await tx.fetch_one("SELECT pg_sleep(30)")

        for _ in range(3):
            task = asyncio.create_task(slow())
            await started.wait()
            await asyncio.sleep(0.05)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            started.clear()
            assert await db.load_conversation(customer.id) is None
        await db.save_conversation(customer.id, "{}")
        assert await db.load_conversation(customer.id) == "{}"
