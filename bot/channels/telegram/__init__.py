"""Telegram: customers write to the bot privately; staff work tickets as topics in one forum supergroup.

``config`` reads the environment, ``app`` builds the PTB ``Application`` (the only place one is built),
``channel`` delivers to customers, ``text`` keeps messages within Telegram's rules.
"""
