"""No secret value appears in any output format, whatever the project holds."""

from __future__ import annotations

import json
import secrets

import pytest
from conftest import invoke

FORMATS = ("text", "markdown", "json")


@pytest.fixture
def planted(demo, postgres_db, redis_server, tmp_path):
    """A production env file full of secrets; returns (env file, the secret values)."""
    values = {
        "SECRET_KEY": "PLANTEDkey" + secrets.token_urlsafe(48),
        "SECRET_KEY_FALLBACKS": "PLANTEDold" + secrets.token_urlsafe(48),
        "db_password": "PLANTEDdb" + secrets.token_hex(8),
        "redis_password": "PLANTEDredis" + secrets.token_hex(8),
        "TELEGRAM_BOT_TOKEN": "123456:PLANTEDtelegram" + secrets.token_hex(8),
        "OPENROUTER_API_KEY": "sk-or-PLANTED" + secrets.token_hex(8),
        "YOOKASSA_SECRET_KEY": "live_PLANTED" + secrets.token_hex(8),
        "EMAIL_HOST_PASSWORD": "PLANTEDsmtp" + secrets.token_hex(8),
    }
    env = tmp_path / "production.env"
    env.write_text(
        "DEBUG=False\nENVIRONMENT=production\nALLOWED_HOSTS=thebot.example.com\n"
        "CORS_ALLOWED_ORIGINS=https://thebot.example.com\nFRONTEND_URL=https://thebot.example.com\n"
        f"SECRET_KEY={values['SECRET_KEY']}\nSECRET_KEY_FALLBACKS={values['SECRET_KEY_FALLBACKS']}\n"
        f"DATABASE_URL=postgres://postgres:{values['db_password']}@127.0.0.1:5432/{postgres_db}\n"
        f"REDIS_URL=redis://:{values['redis_password']}@127.0.0.1:6379/0\n"
        "USE_REDIS_CACHE=True\nUSE_REDIS_CHANNELS=True\n"
        f"TELEGRAM_BOT_TOKEN={values['TELEGRAM_BOT_TOKEN']}\nOPENROUTER_API_KEY={values['OPENROUTER_API_KEY']}\n"
        f"YOOKASSA_SHOP_ID=506751\nYOOKASSA_SECRET_KEY={values['YOOKASSA_SECRET_KEY']}\n"
        f"EMAIL_HOST=smtp.example.com\nEMAIL_HOST_USER=bot@example.com\nEMAIL_HOST_PASSWORD={values['EMAIL_HOST_PASSWORD']}\n"
    )
    return env, values


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_planted_secret_in_any_format(demo, planted, fmt, tmp_path):
    env, values = planted
    run = invoke("audit", "--project", str(demo), "--env-file", str(env), "--format", fmt)
    out = tmp_path / f"report.{fmt}"
    to_file = invoke("audit", "--project", str(demo), "--env-file", str(env), "--format", fmt, "--output", str(out))
    assert run.returncode == 1 and to_file.returncode == 1, run.stderr  # the demo stays blocked (SQLite)
    everything = run.output + to_file.output + out.read_text()
    for name, value in values.items():
        assert value not in everything, f"{name} leaked in {fmt} output"


def test_secrets_are_masked_not_dropped(demo, planted):
    """The reader still sees which URL is used and that a secret is set, only not its value."""
    env, values = planted
    run = invoke("audit", "--project", str(demo), "--env-file", str(env), "--format", "json")
    host = json.loads(run.stdout)["hosts"][0]
    env_values = host["facts"]["env"]["values"]
    assert env_values["SECRET_KEY"] is True
    assert env_values["DATABASE_URL"].startswith("postgres://postgres:****@127.0.0.1:5432/")
    assert env_values["REDIS_URL"] == "redis://:****@127.0.0.1:6379/0"
    redis = {f["id"]: f for f in host["findings"]}["services.redis_unreachable"]
    assert redis["detail"].startswith("redis://:****@127.0.0.1:6379 (used by REDIS_URL, CELERY_BROKER_URL")
    assert "WRONGPASS" in redis["detail"] or "without any password configured" in redis["detail"]
    key = host["facts"]["probe"]["settings"]["SECRET_KEY"]
    assert key["length"] == len(values["SECRET_KEY"]) and key["insecure_prefix"] is False


def test_secret_inside_a_settings_exception_is_scrubbed(demo):
    secret = "PLANTEDexc" + secrets.token_hex(12)
    settings = demo / "backend" / "config" / "settings.py"
    settings.write_text(settings.read_text() + "\nraise ValueError('cannot use key ' + SECRET_KEY)\n")
    (demo / ".env").write_text((demo / ".env").read_text().replace("SECRET_KEY=", f"SECRET_KEY={secret}#", 1))
    run = invoke("audit", "--project", str(demo), "--format", "json")
    assert secret not in run.output
    finding = {f["id"]: f for f in json.loads(run.stdout)["hosts"][0]["findings"]}["django.settings_error"]
    assert "ValueError: cannot use key ****" in finding["detail"]
