"""`python -m bot staff`: the accounts that may log in to the browser inbox (and their API tokens).

Passwords are read from the terminal without echo (asked twice), or with ``--password-stdin`` as the first
line of standard input, so scripts never put a password on a command line where ``ps`` shows it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from bot.cli.queue import add_db_argument, db_path, fail, run_with_db
from bot.service.accounts import AccountError, AccountService, check_name, check_password
from bot.service.describe import when
from bot.storage import Database


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "staff",
        help="accounts for the browser inbox: add, list, remove, passwd, token",
        description="Staff accounts for the browser inbox (/inbox) and its JSON API. The account's name is "
        "the name customers read on replies. Database: --database FILE or $BOT_DATABASE.",
    )
    parser.set_defaults(handler=lambda args: _usage(parser))
    common = argparse.ArgumentParser(add_help=False)
    add_db_argument(common)
    actions = parser.add_subparsers(dest="staff_command", metavar="ACTION")

    def action(name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = actions.add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        p.set_defaults(handler=handler)
        return p

    def name_argument(p: argparse.ArgumentParser) -> None:
        p.add_argument("name", help="the staff member's name, as customers will read it (e.g. Alice)")

    def password_argument(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of stdin instead of asking",
        )

    add = action("add", "create an account (asks for its password)", cmd_add)
    name_argument(add)
    add.add_argument("--admin", action="store_true", help="an administrator (shown in lists)")
    password_argument(add)

    action("list", "the accounts, their tokens and open sessions", cmd_list)

    remove = action("remove", "delete an account with its tokens and sessions", cmd_remove)
    name_argument(remove)

    passwd = action("passwd", "set a new password (ends the account's sessions)", cmd_passwd)
    name_argument(passwd)
    password_argument(passwd)

    token = action("token", "print a new API token for scripts (Authorization: Bearer ...)", cmd_token)
    name_argument(token)
    token.add_argument("--revoke", action="store_true", help="revoke all the account's tokens instead")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _password(args: argparse.Namespace) -> str | None:
    """The new password, checked before the database is opened; None (after an error line) when unusable."""
    try:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            if not sys.stdin.isatty():
                fail("no terminal to ask for the password on; use --password-stdin")
                return None
            password = getpass.getpass("Password: ")
            check_password(password)
            if getpass.getpass("Repeat it: ") != password:
                fail("the passwords differ")
                return None
        return check_password(password)
    except AccountError as error:
        fail(str(error))
        return None


def _run(args: argparse.Namespace, work: Any) -> int:
    async def action(db: Database) -> int:
        try:
            return int(await work(AccountService(db)))
        except AccountError as error:
            return fail(str(error), 1)

    return run_with_db(args, action)


def cmd_add(args: argparse.Namespace) -> int:
    try:
        name = check_name(args.name)
    except AccountError as error:
        return fail(str(error))
    password = _password(args)
    if password is None:
        return 2

    async def work(service: AccountService) -> int:
        await service.add(name, password, admin=args.admin)
        print(f"Account {name!r} created{' (admin)' if args.admin else ''}; log in at /inbox.")
        return 0

    return _run_creating(args, work)


def _run_creating(args: argparse.Namespace, work: Any) -> int:
    """``add`` on a fresh install: the database file may not exist yet, and creating it is the point."""
    path = db_path(args)

    async def main() -> int:
        async with await Database.open(path) as db:
            try:
                return int(await work(AccountService(db)))
            except AccountError as error:
                return fail(str(error), 1)

    return asyncio.run(main())


def cmd_list(args: argparse.Namespace) -> int:
    async def work(service: AccountService) -> int:
        found = await service.list()
        if not found:
            print("No staff accounts yet: `python -m bot staff add NAME` creates one.")
            return 0
        print(f"{'NAME':<20} {'ADMIN':<5} {'TOKENS':>6} {'SESSIONS':>8}  {'CREATED':<16}  TOKEN LAST USED")
        for account in found:
            print(
                f"{account.name:<20} {'yes' if account.admin else '':<5} {account.tokens:>6} "
                f"{account.sessions:>8}  {when(account.created_at):<16}  {when(account.last_token_use)}"
            )
        return 0

    return _run(args, work)


def cmd_remove(args: argparse.Namespace) -> int:
    async def work(service: AccountService) -> int:
        await service.remove(args.name)
        print(f"Account {args.name.strip()!r} removed; its sessions and tokens no longer work.")
        return 0

    return _run(args, work)


def cmd_passwd(args: argparse.Namespace) -> int:
    password = _password(args)
    if password is None:
        return 2

    async def work(service: AccountService) -> int:
        await service.set_password(args.name, password)
        print(f"Password of {args.name.strip()!r} changed; its open sessions were logged out.")
        return 0

    return _run(args, work)


def cmd_token(args: argparse.Namespace) -> int:
    async def work(service: AccountService) -> int:
        if args.revoke:
            count = await service.revoke_tokens(args.name)
            print(f"Revoked {count} token{'' if count == 1 else 's'} of {args.name.strip()!r}.")
            return 0
        token = await service.new_token(args.name)
        print(token)
        print(
            "Keep it secret: it acts as this account on the API (Authorization: Bearer <token>). "
            "It is not shown again.",
            file=sys.stderr,
        )
        return 0

    return _run(args, work)
