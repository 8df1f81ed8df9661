"""Configuration: every missing or malformed variable is named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels.telegram.config import ConfigError, load

from .fake_bot_api import STAFF_CHAT_ID, TOKEN

BASE = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_STAFF_CHAT_ID": str(STAFF_CHAT_ID)}


def test_no_token_means_no_telegram() -> None:
    assert load({}) is None


def test_minimal_configuration_uses_telegram_and_polling() -> None:
    config = load({**BASE, "BOT_DATABASE": "/tmp/x.db", "BOT_INTENTS": "/srv/intents"})
    assert config is not None
    assert config.staff_chat_id == STAFF_CHAT_ID
    assert config.base_url == "https://api.telegram.org/bot"
    assert config.base_file_url == "https://api.telegram.org/file/bot"
    assert config.database == Path("/tmp/x.db")
    assert config.intents == Path("/srv/intents")
    assert config.webhook is None
    assert TOKEN not in repr(config)


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("http://localhost:8081", "http://localhost:8081/bot"),
        ("http://localhost:8081/", "http://localhost:8081/bot"),
        ("http://localhost:8081/bot", "http://localhost:8081/bot"),
    ],
)
def test_self_hosted_api_server(root: str, expected: str) -> None:
    config = load({**BASE, "TELEGRAM_API_BASE_URL": root})
    assert config is not None
    assert config.base_url == expected
    assert config.base_file_url == expected.replace("/bot", "/file/bot")


def test_webhook_mode() -> None:
    config = load(
        {
            **BASE,
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/telegram/hook",
            "TELEGRAM_WEBHOOK_SECRET": "s3cret_value",
            "TELEGRAM_WEBHOOK_PORT": "8080",
            "TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
        }
    )
    assert config is not None and config.webhook is not None
    assert config.webhook.url_path == "telegram/hook"
    assert (config.webhook.listen, config.webhook.port, config.webhook.secret) == (
        "127.0.0.1",
        8080,
        "s3cret_value",
    )


@pytest.mark.parametrize(
    ("env", "variable", "fragment"),
    [
        ({"TELEGRAM_BOT_TOKEN": "not a token"}, "TELEGRAM_BOT_TOKEN", "BotFather"),
        ({"TELEGRAM_STAFF_CHAT_ID": ""}, "TELEGRAM_STAFF_CHAT_ID", "is not set"),
        ({"TELEGRAM_STAFF_CHAT_ID": "support"}, "TELEGRAM_STAFF_CHAT_ID", "whole number"),
        ({"TELEGRAM_STAFF_CHAT_ID": "12345"}, "TELEGRAM_STAFF_CHAT_ID", "negative"),
        ({"TELEGRAM_API_BASE_URL": "localhost:8081"}, "TELEGRAM_API_BASE_URL", "http://"),
        ({"TELEGRAM_WEBHOOK_URL": "http://bot.example.com/hook"}, "TELEGRAM_WEBHOOK_URL", "https://"),
        ({"TELEGRAM_WEBHOOK_URL": "https://bot.example.com/hook"}, "TELEGRAM_WEBHOOK_SECRET", "is not set"),
        (
            {"TELEGRAM_WEBHOOK_URL": "https://b.example/h", "TELEGRAM_WEBHOOK_SECRET": "has spaces"},
            "TELEGRAM_WEBHOOK_SECRET",
            "A-Z",
        ),
        (
            {
                "TELEGRAM_WEBHOOK_URL": "https://b.example/h",
                "TELEGRAM_WEBHOOK_SECRET": "x",
                "TELEGRAM_WEBHOOK_PORT": "0",
            },
            "TELEGRAM_WEBHOOK_PORT",
            "1-65535",
        ),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], variable: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load({**BASE, **env})
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert fragment in message
    assert "\n" not in message
    assert TOKEN not in message


def test_an_empty_token_is_a_configuration_error_not_a_silent_terminal_fallback() -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        load({"TELEGRAM_BOT_TOKEN": "  "})
    assert load({}) is None
