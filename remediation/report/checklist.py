"""The seed report's deployment checklist, each box ticked when none of its findings remain."""

CHECKLIST = (
    ("Push all commits to remote", ("git.unpushed", "git.no_upstream", "git.no_remote")),
    ("Generate secure SECRET_KEY (50+ characters)", ("env.secret_key",)),
    ("Set DEBUG=False", ("env.debug",)),
    ("Configure PostgreSQL database", ("database.sqlite", "env.database_url", "database.unreachable")),
    ("Set up Redis for caching, Channels and Celery",
     ("cache.local", "channels.in_memory", "celery.no_broker", "services.redis_unreachable")),
    ("Set SECURE_SSL_REDIRECT=True", ("security.ssl_redirect",)),
    ("Configure HSTS", ("security.hsts",)),
    ("Set SESSION_COOKIE_SECURE=True", ("security.session_cookie_secure",)),
    ("Set CSRF_COOKIE_SECURE=True", ("security.csrf_cookie_secure",)),
    ("Configure ALLOWED_HOSTS for the domain", ("env.allowed_hosts",)),
    ("Configure CORS_ALLOWED_ORIGINS for the domain", ("django.cors_local", "django.cors_allow_all")),
    ("Set up Telegram bot token", ("external.telegram",)),
    ("Configure YooKassa payment credentials", ("external.yookassa",)),
    ("Configure email (SMTP) settings", ("external.email",)),
    ("Set OpenRouter API key", ("external.openrouter",)),
    ("Apply pending migrations", ("database.migrations_unapplied", "database.migrations_broken")),
    ("Collect static files", ("django.static_not_collected", "django.static_root")),
    ("Set ENVIRONMENT=production", ("env.environment",)),
)


def checklist(findings) -> list[tuple[bool, str, list[str]]]:
    """(done, item, open finding ids) for each item, plus `check --deploy` clean at the end."""
    ids = {f.id for f in findings}
    rows = [(not (ids & set(needed)), item, sorted(ids & set(needed))) for item, needed in CHECKLIST]
    deploy = sorted({d for f in findings for d in f.django_ids if d.startswith("security.")})
    rows.append((not deploy, "`manage.py check --deploy` reports no security warning", deploy))
    return rows
