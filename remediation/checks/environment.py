"""Seed section 3: the env file and the values production needs, including external services."""

from ..probe.settings_facts import INSECURE_PREFIX
from .base import CRITICAL, HIGH, MANUAL, MEDIUM, django_ready, finding_for, reported

finding = finding_for("env")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", "backend", "web", "app"}
EXTERNAL_SERVICES = (
    ("external.telegram", "Telegram bot token", ("TELEGRAM_BOT_TOKEN",)),
    ("external.openrouter", "OpenRouter API key", ("OPENROUTER_API_KEY",)),
    ("external.yookassa", "YooKassa payment credentials", ("YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY")),
    ("external.email", "SMTP email settings", ("EMAIL_HOST", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD")),
)


def env_file_missing(facts):
    if facts.env.exists:
        return []
    return [finding(id="env.missing", severity=MEDIUM, title="No env file",
                    detail=f"no .env at {facts.root} or {facts.manage_dir}; configuration comes from the process environment only",
                    fix="env_file", applies_from="staging")]


def env_file_malformed(facts):
    if not facts.env.errors:
        return []
    return [finding(id="env.malformed", severity=HIGH, title="Env file has lines that cannot be parsed",
                    detail="; ".join(facts.env.errors), fix=MANUAL, applies_from="development")]


def debug_on(facts):
    if not django_ready(facts) or not facts.settings.get("DEBUG"):
        return []
    return [finding(id="env.debug", severity=CRITICAL, title="DEBUG is True",
                    detail="DEBUG=True shows tracebacks and settings to anyone; must be False in production",
                    fix="env_file", django_ids=reported(facts, "security.W018"))]


def secret_key(facts):
    if not django_ready(facts):
        return []
    key = facts.settings.get("SECRET_KEY") or {}
    problems = []
    if not key.get("set"):
        problems.append("not set")
    else:
        if key.get("insecure_prefix"):
            problems.append(f"starts with {INSECURE_PREFIX!r}")
        if key.get("length", 0) < 50:
            problems.append(f"{key.get('length')} characters (50 or more needed)")
        if key.get("unique", 0) < 5:
            problems.append(f"{key.get('unique')} unique characters (5 or more needed)")
    if not problems:
        return []
    return [finding(id="env.secret_key", severity=CRITICAL, title="SECRET_KEY is insecure",
                    detail="SECRET_KEY " + ", ".join(problems), fix="secret_key",
                    django_ids=reported(facts, "security.W009"))]


def allowed_hosts(facts):
    if not django_ready(facts):
        return []
    hosts = facts.settings.get("ALLOWED_HOSTS") or []
    if "*" in hosts:
        return [finding(id="env.allowed_hosts", severity=HIGH, title="ALLOWED_HOSTS accepts any host",
                        detail="ALLOWED_HOSTS contains '*'; host header attacks are possible",
                        fix="env_file", needs=("--domain",))]
    public = [h for h in hosts if h.lstrip(".") not in LOCAL_HOSTS]
    if public:
        return []
    detail = f"only local hosts: {', '.join(hosts)}" if hosts else "ALLOWED_HOSTS is empty"
    return [finding(id="env.allowed_hosts", severity=HIGH, title="ALLOWED_HOSTS has no public domain",
                    detail=detail, fix="env_file", needs=("--domain",),
                    django_ids=reported(facts, "security.W020"))]


def environment_name(facts):
    if not django_ready(facts):
        return []
    value = facts.settings.get("ENVIRONMENT") or facts.env.get("ENVIRONMENT") or None
    if value is None or str(value).lower() in ("production", "prod"):
        return []
    return [finding(id="env.environment", severity=MEDIUM, title="ENVIRONMENT is not production",
                    detail=f"ENVIRONMENT={value}", fix="env_file")]


def database_url(facts):
    if not django_ready(facts) or facts.database.get("vendor") != "sqlite" or facts.env.get("DATABASE_URL"):
        return []
    return [finding(id="env.database_url", severity=MEDIUM, title="DATABASE_URL is not set",
                    detail="DATABASE_URL unset, so the settings fall back to SQLite",
                    fix="database", needs=("--database-url",), applies_from="staging")]


def external_services(facts):
    if not django_ready(facts):
        return []
    present = facts.settings.get("EXTERNAL") or {}
    found = []
    for finding_id, title, keys in EXTERNAL_SERVICES:
        missing = tuple(k for k in keys if not present.get(k) and not facts.env.get(k))
        if missing:
            found.append(finding(id=finding_id, severity=HIGH, title=f"{title} not configured",
                                 detail="missing: " + ", ".join(missing), fix="external", needs=missing))
    return found


CHECKS = (env_file_missing, env_file_malformed, debug_on, secret_key, allowed_hosts, environment_name, database_url, external_services)
