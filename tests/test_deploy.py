"""deploy/: the three-replica compose file, its Caddyfile and .env.example agree with each other and the code.

No Docker here: the files are read as YAML and text. What can go wrong unnoticed is a renamed setting (the
compose file keeps setting a variable nobody reads), a port or path changed on one side only (Caddy health
checks or the webhook going nowhere), or a replica count that Caddy's upstream list does not match.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE_ONLY = {"CAREBOT_DOMAIN", "POSTGRES_PASSWORD"}
"""Variables only the compose file itself reads (interpolation), not the bot."""


def _read_by_code() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        names.update(re.findall(r"\"((?:BOT|TELEGRAM|CAREBOT)_[A-Z_]+)\"", path.read_text(encoding="utf-8")))
    return names


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.replicas.yml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def caddyfile() -> str:
    return (DEPLOY / "Caddyfile").read_text(encoding="utf-8")


def _interpolated(value: str, domain: str = "bot.example.com") -> str:
    return re.sub(r"\$\{CAREBOT_DOMAIN[^}]*\}", domain, value)


def test_every_setting_the_compose_file_gives_the_bot_is_read_by_the_code(compose: dict[str, Any]) -> None:
    environment = compose["services"]["bot"]["environment"]
    assert sorted(set(environment) - _read_by_code()) == []


def test_every_variable_in_env_example_is_read_by_the_code_or_the_compose_file() -> None:
    text = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    mentioned = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert sorted(mentioned - _read_by_code() - COMPOSE_ONLY) == []
    required = set(re.findall(r"\$\{([A-Z_]+):\?", (DEPLOY / "compose.replicas.yml").read_text()))
    assert sorted(required - mentioned) == []


def test_replicas_share_postgresql_and_take_telegram_by_webhook(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres, bot = services["postgres"], services["bot"]
    assert postgres["image"].startswith("postgres:15")
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    environment = bot["environment"]
    assert (
        environment["BOT_DATABASE"].startswith("postgresql://")
        and "@postgres:5432/" in environment["BOT_DATABASE"]
    )
    assert urlsplit(_interpolated(environment["TELEGRAM_WEBHOOK_URL"])).scheme == "https"  # never polling
    assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "ports" not in bot, "published ports clash under --scale; Caddy reaches the replicas inside"
    assert f"127.0.0.1:{environment['BOT_WEB_PORT']}/readyz" in " ".join(bot["healthcheck"]["test"])
    assert bot["deploy"]["replicas"] == 3


def test_caddy_balances_every_replica_on_the_ports_and_path_the_bot_uses(
    compose: dict[str, Any], caddyfile: str
) -> None:
    environment = compose["services"]["bot"]["environment"]
    web, webhook = environment["BOT_WEB_PORT"], environment["TELEGRAM_WEBHOOK_PORT"]
    replicas = compose["services"]["bot"]["deploy"]["replicas"]
    prefix = f"{compose['name']}-bot-"  # Docker's name for the Nth container of the service
    upstreams = re.findall(r"\b([a-z0-9-]+-bot-\d+):(\d+)\b", caddyfile)
    assert {name for name, _ in upstreams} == {f"{prefix}{n}" for n in range(1, replicas + 1)}
    assert {port for _, port in upstreams} == {web, webhook}
    path = urlsplit(_interpolated(environment["TELEGRAM_WEBHOOK_URL"])).path
    block = caddyfile.split(f"handle {path} {{", 1)[1].split("}", 1)[0]
    assert f":{webhook}" in block and f":{web}" not in block
    assert re.search(r"^\s*health_uri /readyz$", caddyfile, re.MULTILINE)
    assert re.search(rf"^\s*health_port {web}$", caddyfile, re.MULTILINE)
    assert re.search(r"handle /metrics \{\s*respond 404\s*\}", caddyfile)
    assert caddyfile.count("{") == caddyfile.count("}")
    caddy = compose["services"]["caddy"]
    assert caddy["image"].startswith("caddy:2")
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
