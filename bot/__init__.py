"""carebot: an honest customer-care bot for social channels.

Layers, each a sub-package: ``core`` (pure logic, no I/O), ``content`` (the editors' YAML folder),
``storage`` (SQLite through aiosqlite), ``channels`` (Telegram, terminal), ``service`` (glue that runs a
conversation turn or a staff action across the layers) and ``cli`` (a thin command line).
"""

__version__ = "0.1.0"
