"""The database: customers, conversations, tickets, messages, events, ratings and the outbox.

One SQLite file by default, or a PostgreSQL server when several replicas share the data
(``BOT_DATABASE=postgresql://…``). On PostgreSQL a pool of connections runs several customers'
transactions at once (READ COMMITTED; what must not interleave takes ``Tx.lock``, see docs/queue.md).

Why SQLite is used this way:

* WAL lets readers (``python -m bot queue list``) run while the bot writes; ``busy_timeout`` makes writers
  queue for the lock instead of failing with "database is locked".
* Every read-then-write runs in ``BEGIN IMMEDIATE``: the write lock is taken up front, so a claim cannot
  read "open" and then lose a race it already decided it had won (a deferred transaction would get an
  unretryable ``SQLITE_BUSY_SNAPSHOT`` instead).
* ``synchronous=FULL``: a committed customer message survives a power cut, not just a killed process.
  Support traffic is a few messages a second at most, far below what an fsync per commit allows.
* One aiosqlite connection per :class:`Database`; an :class:`asyncio.Lock` serialises the transactions of
  tasks sharing it, because SQLite has one transaction per connection.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from bot.core.model import Priority
from bot.storage.customers import CustomerQueries
from bot.storage.dialect import ERASED_TABLES, POSTGRESQL, SQLITE, Engine, is_postgresql
from bot.storage.messages import MessageQueries
from bot.storage.migrate import migrate, migrate_postgresql
from bot.storage.outbox import OutboxQueries
from bot.storage.records import (
    DEFAULT_SLA,
    SlaPolicy,
)
from bot.storage.threads import ThreadQueries
from bot.storage.tickets import TicketQueries
from bot.storage.transaction import StorageError, StorageUnavailable, TxBase, is_retryable
from bot.storage.updates import UpdateQueries

RETRIES = 5
"""How often a write rolled back by a serialization failure or deadlock is run again (PostgreSQL)."""

DEFAULT_POOL_SIZE = 10
"""Connections per Database on PostgreSQL: how many customers' transactions one replica runs in parallel."""

if (
    TYPE_CHECKING
):  # psycopg is imported when a PostgreSQL database is opened: SQLite-only commands start faster
    import psycopg
    from psycopg_pool import AsyncConnectionPool

BUSY_TIMEOUT_MS = 15_000
"""How long a writer waits for the lock. Transactions here last milliseconds; 15 s only matters when a
disk stalls, and then waiting beats dropping a customer's message."""


P = ParamSpec("P")
R = TypeVar("R")


class Tx(CustomerQueries, MessageQueries, TicketQueries, OutboxQueries, UpdateQueries, ThreadQueries, TxBase):
    """One open transaction. Obtain it from :meth:`Database.transaction`; do not keep it afterwards.

    Its queries are grouped by what they store, one module each (customers, messages, tickets, outbox,
    updates, threads); this class only puts them together.
    """


def _expose(
    method: Callable[Concatenate[Tx, P], Awaitable[R]], *, read_only: bool = False
) -> Callable[Concatenate[Database, P], Awaitable[R]]:
    """Expose a :class:`Tx` method on :class:`Database`, running in a transaction of its own.

    ``read_only`` methods run in a snapshot, so they never wait for the write lock. A transaction that
    PostgreSQL rolled back for a serialization failure or a deadlock is run again (it changed nothing).
    """

    async def wrapper(self: Database, /, *args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(RETRIES + 1):
            try:
                async with self.snapshot() if read_only else self.transaction() as tx:
                    return await method(tx, *args, **kwargs)
            except Exception as error:
                if attempt == RETRIES or not is_retryable(error):
                    raise
            await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    wrapper.__name__ = method.__name__
    wrapper.__qualname__ = f"Database.{method.__name__}"
    wrapper.__doc__ = method.__doc__
    return wrapper


class Database:
    """The bot's storage. ``async with await Database.open(location) as db:`` or call :meth:`close`.

    ``location`` is a SQLite file path or a ``postgresql://`` URL; everything above this class is the same
    on both engines (see :mod:`bot.storage.dialect` for what is not).
    """

    def __init__(
        self,
        conn: aiosqlite.Connection | None,
        path: Path | str,
        sla: Mapping[Priority, SlaPolicy],
        *,
        pool: AsyncConnectionPool[Any] | None = None,
    ) -> None:
        self._conn = conn
        self._pool = pool
        self.location = path
        """The file path (SQLite) or the URL (PostgreSQL) this database was opened from."""
        self.dialect = SQLITE if pool is None else POSTGRESQL
        self.sla = sla
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._owners: set[asyncio.Task[object] | None] = set()
        self._closed = False
        self._undoing: asyncio.Task[None] | None = None
        self._releasing: set[asyncio.Future[None]] = set()

    @property
    def engine(self) -> Engine:
        return self.dialect.name

    @property
    def path(self) -> Path:
        """The SQLite file; a PostgreSQL database has none (use :attr:`location`)."""
        if not isinstance(self.location, Path):
            raise StorageError(f"{self.name} is not a file")
        return self.location

    @property
    def name(self) -> str:
        """What messages may show: the file path, or the server and database without the password."""
        from bot.storage import postgres

        return str(self.location) if isinstance(self.location, Path) else postgres.describe(self.location)

    @classmethod
    async def open(
        cls,
        location: str | Path,
        *,
        sla: Mapping[Priority, SlaPolicy] | None = None,
        migrate_schema: bool = True,
        synchronous: str = "FULL",
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> Database:
        """Open (creating the file and its folder), set the pragmas and bring the schema up to date.

        A ``postgresql://`` URL opens a pool of up to ``pool_size`` connections instead; a server that
        cannot be reached is :class:`StorageUnavailable` naming the host and database (never the password).

        ``synchronous="NORMAL"`` trades the last commits on power loss (never on a crash of the process)
        for speed; only the benchmark uses it, to show what the fsync costs.
        """
        if is_postgresql(location):
            return await cls._open_postgresql(
                str(location), sla=sla, migrate_schema=migrate_schema, pool_size=pool_size
            )
        path = Path(location)
        try:
            if str(path) != ":memory:":
                path.parent.mkdir(parents=True, exist_ok=True)
            conn = await connect(path, synchronous=synchronous)
        except (sqlite3.DatabaseError, OSError) as error:
            raise StorageError(f"cannot open the database {path}: {error}") from error
        try:
            if migrate_schema:
                await migrate(conn)
        except sqlite3.DatabaseError as error:
            await conn.close()
            raise StorageError(f"cannot open the database {path}: {error}") from error
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path, sla or DEFAULT_SLA)

    @classmethod
    async def _open_postgresql(
        cls, url: str, *, sla: Mapping[Priority, SlaPolicy] | None, migrate_schema: bool, pool_size: int
    ) -> Database:
        import psycopg

        from bot.storage import postgres

        # One direct connection first, migrating or not: an unreachable server is one clear error at once,
        # instead of the pool's retries for CONNECT_TIMEOUT_S with a warning for each.
        conn = await postgres.connect(url)
        try:
            if migrate_schema:
                await migrate_postgresql(conn)
        except psycopg.Error as error:
            raise StorageError(f"cannot migrate {postgres.describe(url)}: {error}") from error
        finally:
            await conn.close()
        pool = await postgres.open_pool(url, pool_size)
        return cls(None, url, sla or DEFAULT_SLA, pool=pool)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._undoing is not None:  # let a cancelled caller's BEGIN be rolled back first
                await asyncio.gather(self._undoing, return_exceptions=True)
            if self._releasing:
                await asyncio.gather(*self._releasing, return_exceptions=True)
            if self._conn is not None:
                await self._conn.close()
            if self._pool is not None:
                await self._pool.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` on SQLite, ``BEGIN`` (READ COMMITTED) … ``COMMIT`` on
        PostgreSQL; ``ROLLBACK`` when the block raises."""
        if self._pool is not None:
            async with self._pg_transaction("BEGIN", commit=True) as tx:
                yield tx
            return
        async with self._exclusive():
            await self._begin("BEGIN IMMEDIATE")
            tx = Tx(self._sqlite, self.sla, self.dialect)
            try:
                yield tx
            except BaseException:
                tx._open = False
                await self._sqlite.rollback()
                raise
            tx._open = False
            await self._sqlite.commit()

    @property
    def _sqlite(self) -> aiosqlite.Connection:
        assert self._conn is not None
        return self._conn

    @asynccontextmanager
    async def _pg_transaction(self, begin: str, *, commit: bool) -> AsyncIterator[Tx]:
        """One pooled connection for the block; it goes back to the pool rolled back or closed, whatever
        happens to the caller (a task cancelled mid-statement must not leave a transaction open on a
        connection the next task gets)."""
        from bot.storage import postgres

        assert self._pool is not None
        task = asyncio.current_task()
        if task in self._owners:
            raise StorageError("nested transaction: use the Tx you already hold, not the Database")
        if self._closed:
            raise StorageError("database is closed")
        self._owners.add(task)
        try:
            conn = await self._pg_begin(begin)
            tx = Tx(conn, self.sla, self.dialect)
            try:
                yield tx
                tx._open = False
                await postgres.run(conn, "COMMIT" if commit else "ROLLBACK", ())
            finally:
                tx._open = False
                await self._release(conn)
        finally:
            self._owners.discard(task)

    async def _pg_begin(self, begin: str) -> psycopg.AsyncConnection[Any]:
        """A pooled connection with ``begin`` done. A connection the server dropped while it sat in the
        pool (a restart) fails right here, before anything was sent: it is discarded and another one tried.
        """
        import psycopg
        from psycopg_pool import PoolTimeout

        from bot.storage import postgres

        assert self._pool is not None
        last: BaseException | None = None
        for _ in range(3):
            try:
                conn: psycopg.AsyncConnection[Any] = await self._pool.getconn()
            except PoolTimeout as error:
                raise StorageUnavailable(
                    f"{self.name}: no connection ({postgres.reason(error, '')})"
                ) from error
            try:
                await conn.execute(begin)
                return conn
            except psycopg.Error as error:
                await self._release(conn)
                if not postgres.is_disconnect(error, conn):
                    raise
                last = error
                # The server restarted (or dropped us): the other idle connections are dead as well.
                # Check them all now instead of failing on each in turn; the pool reconnects (with backoff).
                await self._pool.check()
            except BaseException:
                await self._release(conn)
                raise
        raise StorageUnavailable(
            f"{self.name}: the server went away ({postgres.reason(last or Exception(), '')})"
        )

    async def _release(self, conn: psycopg.AsyncConnection[Any]) -> None:
        from bot.storage import postgres

        assert self._pool is not None
        releasing = postgres.release(self._pool, conn)
        self._releasing.add(releasing)
        releasing.add_done_callback(self._releasing.discard)
        await asyncio.shield(releasing)

    async def _begin(self, statement: str) -> None:
        """``BEGIN``, safe against the caller being cancelled while SQLite works on it.

        aiosqlite runs the statement in its thread whether or not the awaiting task is still there. A
        transaction begun for a task cancelled meanwhile (a browser closing an event stream, a WebSocket
        dropping) would stay open on the shared connection, and every later ``BEGIN`` would fail with
        "cannot start a transaction within a transaction". So the cancelled BEGIN is rolled back in a task
        of its own, and the next transaction waits for that first.
        """
        if self._undoing is not None:
            await asyncio.shield(self._undoing)
            self._undoing = None
        started = asyncio.ensure_future(self._sqlite.execute(statement))
        try:
            await asyncio.shield(started)
        except asyncio.CancelledError:
            self._undoing = asyncio.ensure_future(self._undo(started))
            raise

    async def _undo(self, started: asyncio.Future[aiosqlite.Cursor]) -> None:
        try:
            await started
        except Exception:
            return  # the BEGIN itself failed: no transaction to end
        await self._sqlite.rollback()

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        """The connection for one task at a time; nesting in the same task fails instead of hanging."""
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            raise StorageError("nested transaction: use the Tx you already hold, not the Database")
        if self._closed:
            raise StorageError("database is closed")
        async with self._lock:
            self._owner = task
            try:
                yield
            finally:
                self._owner = None

    @asynccontextmanager
    async def erasing(self) -> AsyncIterator[Tx]:
        """A transaction for erasing personal data that leaves no copy of it in the database's files.

        SQLite: ``secure_delete`` makes SQLite overwrite the bytes it frees (old row versions, index
        entries, overflow pages) with zeros instead of leaving them in free space; after the commit a
        ``wal_checkpoint(TRUNCATE)`` copies the new pages into the database file and empties the WAL, which
        until then still held every erased value in its earlier frames. The checkpoint waits (busy timeout)
        for a running bot's readers; :attr:`last_checkpoint` says whether it completed.

        PostgreSQL: an update leaves the old row version in the table until VACUUM removes it, so the
        tables the erasure touched are VACUUMed right after the commit (the server's WAL and any backups
        keep their copies until they are recycled; docs/queue.md says so).
        """
        if self._pool is not None:
            async with self.transaction() as tx:
                yield tx
            async with self._pool.connection() as conn:
                for table in ERASED_TABLES:
                    await conn.execute(f"VACUUM {table}")
            return
        await self._sqlite.execute("PRAGMA secure_delete = ON")
        try:
            async with self.transaction() as tx:
                yield tx
            async with self._exclusive(), self._sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                row = await cursor.fetchone()
            self.last_checkpoint = None if row is None else (int(row[0]), int(row[1]), int(row[2]))
        finally:
            await self._sqlite.execute("PRAGMA secure_delete = OFF")

    last_checkpoint: tuple[int, int, int] | None = None
    """``(busy, wal frames, checkpointed frames)`` of the last :meth:`erasing`; busy 0 means the WAL is empty."""

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Tx]:
        """A read-only transaction: one consistent view that never blocks (or waits for) writers."""
        if self._pool is not None:
            async with self._pg_transaction(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", commit=False
            ) as tx:
                yield tx
            return
        async with self._exclusive():
            await self._begin("BEGIN")
            tx = Tx(self._sqlite, self.sla, self.dialect)
            try:
                yield tx
            finally:
                tx._open = False
                await self._sqlite.rollback()

    upsert_customer = _expose(Tx.upsert_customer)
    customer = _expose(Tx.customer, read_only=True)
    customer_by_external = _expose(Tx.customer_by_external, read_only=True)
    set_customer_language = _expose(Tx.set_customer_language)
    set_blocked = _expose(Tx.set_blocked)
    load_conversation = _expose(Tx.load_conversation, read_only=True)
    save_conversation = _expose(Tx.save_conversation)
    record_inbound = _expose(Tx.record_inbound)
    mark_handled = _expose(Tx.mark_handled)
    unhandled_inbound = _expose(Tx.unhandled_inbound, read_only=True)
    recent_customer_texts = _expose(Tx.recent_customer_texts, read_only=True)
    message = _expose(Tx.message, read_only=True)
    ticket_messages = _expose(Tx.ticket_messages, read_only=True)
    ticket = _expose(Tx.ticket, read_only=True)
    customer_tickets = _expose(Tx.customer_tickets, read_only=True)
    active_ticket = _expose(Tx.active_ticket, read_only=True)
    create_ticket = _expose(Tx.create_ticket)
    attach_message = _expose(Tx.attach_message)
    claim = _expose(Tx.claim)
    claim_next = _expose(Tx.claim_next)
    wake_snoozed = _expose(Tx.wake_snoozed)
    wait_estimate = _expose(Tx.wait_estimate, read_only=True)
    pending_rating = _expose(Tx.pending_rating, read_only=True)
    record_rating = _expose(Tx.record_rating)
    add_event = _expose(Tx.add_event)
    ticket_events = _expose(Tx.ticket_events, read_only=True)
    enqueue_outbound = _expose(Tx.enqueue_outbound)
    enqueue_staff = _expose(Tx.enqueue_staff)
    due_outbox = _expose(Tx.due_outbox, read_only=True)
    mark_sent = _expose(Tx.mark_sent)
    mark_failed = _expose(Tx.mark_failed)
    mark_sending = _expose(Tx.mark_sending)
    recover_sending = _expose(Tx.recover_sending)
    delivery_marks = _expose(Tx.delivery_marks, read_only=True)
    store_updates = _expose(Tx.store_updates)
    finish_update = _expose(Tx.finish_update)
    poison_update = _expose(Tx.poison_update)
    prune_updates = _expose(Tx.prune_updates)
    inbox_counts = _expose(Tx.inbox_counts, read_only=True)
    set_ticket_thread = _expose(Tx.set_ticket_thread)
    ticket_thread = _expose(Tx.ticket_thread, read_only=True)
    ticket_by_thread = _expose(Tx.ticket_by_thread, read_only=True)
    link_messages = _expose(Tx.link_messages)
    record_staff_post = _expose(Tx.record_staff_post)
    message_by_external = _expose(Tx.message_by_external, read_only=True)
    linked_copy_of_delivered = _expose(Tx.linked_copy_of_delivered, read_only=True)
    # Several replicas (bot/storage/coordination.py): claims, leases, budgets, generations.
    claim_outbox = _expose(Tx.claim_outbox)
    claim_updates = _expose(Tx.claim_updates)
    next_update = _expose(Tx.next_update)
    take_lease = _expose(Tx.take_lease)
    renew_lease = _expose(Tx.renew_lease)
    renew_leases = _expose(Tx.renew_leases)
    release_leases = _expose(Tx.release_leases)
    lease_holder = _expose(Tx.lease_holder, read_only=True)
    lease_owners = _expose(Tx.lease_owners, read_only=True)
    expire_dead_local = _expose(Tx.expire_dead_local)
    take_budget = _expose(Tx.take_budget)
    block_budget = _expose(Tx.block_budget)
    budget_use = _expose(Tx.budget_use, read_only=True)
    bump_generation = _expose(Tx.bump_generation)
    generation = _expose(Tx.generation, read_only=True)


async def _switch_to_wal(conn: aiosqlite.Connection) -> sqlite3.Row | None:
    """``PRAGMA journal_mode = WAL``, retried: on a brand-new file opened by several processes at once
    (the bot and a staff CLI starting together) SQLite can answer "database is locked" at once, without
    consulting the busy handler, while another connection converts the file."""
    for attempt in range(100):
        try:
            async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
                return await cursor.fetchone()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 99:
                raise
            await asyncio.sleep(0.05)
    return None


async def connect(path: Path, *, synchronous: str = "FULL") -> aiosqlite.Connection:
    """A connection in autocommit mode with the project's pragmas; the caller closes it."""
    conn = await aiosqlite.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        row = await _switch_to_wal(conn)
        if str(path) != ":memory:" and (row is None or str(row[0]).lower() != "wal"):
            raise StorageError(f"could not switch {path} to WAL journal mode (got {row and row[0]!r})")
        if synchronous.upper() not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        await conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        await conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        await conn.close()
        raise
    return conn
