"""Where the process's logging is configured: the level (``BOT_LOG_LEVEL``) and the format (``BOT_LOG_FORMAT``).

``plain`` (the default) is one readable line per record, as before. ``json`` is one JSON object per line
for log collectors (Loki, Elasticsearch, journald's JSON export, ``docker compose logs``): ``time`` (UTC,
ISO-8601), ``level``, ``logger``, ``message``, then the fields a call site passed with ``extra=`` (ticket,
customer, message and outbox ids) and ``exc`` with the traceback. It carries exactly what the plain line
carries, never more customer text. The operator lines of ``python -m bot run`` ("carebot: ...") become
records of the ``carebot`` logger in JSON mode, so that every line of the stream parses.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("plain", "json")
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
"""A record's own attributes; everything else on it came from ``extra=`` and is worth a field."""


class SettingError(ValueError):
    """A malformed logging variable; ``str()`` is the line shown before exiting with code 2."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped by JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:  # pre-rendered (and maybe redacted: bot.channels.telegram.app.RedactToken)
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


_json_mode = False


def settings(level: str | None, log_format: str | None) -> tuple[str, str]:
    """``BOT_LOG_LEVEL`` and ``BOT_LOG_FORMAT`` checked: ``(LEVEL, format)``; :class:`SettingError` names
    the variable of a bad value."""
    level_name = (level or "").strip().upper() or "WARNING"
    if level_name not in LEVELS:
        raise SettingError(f"BOT_LOG_LEVEL: {level_name!r} is not one of {', '.join(LEVELS)}")
    format_name = (log_format or "").strip().lower() or "plain"
    if format_name not in FORMATS:
        raise SettingError(f"BOT_LOG_FORMAT: {format_name!r} is not one of {', '.join(FORMATS)}")
    return level_name, format_name


def configure(level: str | int, log_format: str) -> None:
    """Install the one stderr handler on the root logger (once per process, from ``bot.cli.main``)."""
    global _json_mode
    _json_mode = log_format == "json"
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if _json_mode else logging.Formatter(PLAIN))
    logging.basicConfig(level=level, handlers=[handler])


def say(line: str) -> None:
    """An operator line of ``python -m bot run`` (where the page is, stopping): always shown, whatever the
    level; ``carebot: …`` in plain mode, an INFO record of the ``carebot`` logger in JSON mode."""
    if not _json_mode:
        print(f"carebot: {line}", file=sys.stderr, flush=True)
        return
    logger = logging.getLogger("carebot")
    # handle() skips the level check: these lines are the operator's, not debug output.
    logger.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0, line, (), None))
