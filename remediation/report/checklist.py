"""The seed report's deployment checklist.

A box is ticked only when the facts prove the item done: none of its findings remain *and* the
fact it rests on was gathered (a folder that is not a git repository has not pushed its commits;
settings that did not import have not been configured). Otherwise the item says why it is open.
"""

from __future__ import annotations

from .rows.base import View

NOT_IMPORTED = "unknown: the settings did not import"


def settings_read(view: View) -> str | None:
    return None if view.django_ready else NOT_IMPORTED


def pushed(view: View) -> str | None:
    git = view.facts.get("git") or {}
    if git.get("error"):
        return "unknown: git could not be read"
    if not git.get("is_repo"):
        return "not a git repository"
    if not git.get("upstream") or git.get("ahead") is None:
        return "the branch tracks no upstream"
    return None


def postgres(view: View) -> str | None:
    db = view.probe.get("database") or {}
    if not view.django_ready:
        return NOT_IMPORTED
    if db.get("vendor") != "postgresql":
        return f"the database is {db.get('vendor') or 'not configured'}"
    return None if db.get("reachable") else "the database does not answer"


def redis(view: View) -> str | None:
    if not view.django_ready:
        return NOT_IMPORTED
    servers = view.probe.get("redis")
    if servers is None:
        return "unknown: Redis was not probed"
    return None


def migrated(view: View) -> str | None:
    migrations = view.probe.get("migrations") or {}
    if not view.django_ready:
        return NOT_IMPORTED
    if not migrations.get("applied_known"):
        return "unknown: the applied migrations could not be read"
    return None


def collected(view: View) -> str | None:
    static = view.probe.get("static") or {}
    if not view.django_ready:
        return NOT_IMPORTED
    if static.get("enabled") is False:
        return None  # no staticfiles app: nothing to collect
    if static.get("error") or "missing" not in static:
        return "unknown: the static files could not be listed"
    return None


def deploy_checks(view: View) -> str | None:
    if not view.django_ready:
        return NOT_IMPORTED
    if (view.probe.get("checks") or {}).get("error"):
        return "Django's checks crashed"
    return None


CHECKLIST = (
    ("Push all commits to remote", ("git.unpushed", "git.no_upstream", "git.no_remote", "git.not_repo"), pushed),
    ("Generate secure SECRET_KEY (50+ characters)", ("env.secret_key",), settings_read),
    ("Set DEBUG=False", ("env.debug",), settings_read),
    ("Configure PostgreSQL database", ("database.sqlite", "env.database_url", "database.unreachable"), postgres),
    ("Set up Redis for caching, Channels and Celery",
     ("cache.local", "channels.in_memory", "celery.no_broker", "services.redis_unreachable"), redis),
    ("Set SECURE_SSL_REDIRECT=True", ("security.ssl_redirect",), settings_read),
    ("Configure HSTS", ("security.hsts",), settings_read),
    ("Set SESSION_COOKIE_SECURE=True", ("security.session_cookie_secure",), settings_read),
    ("Set CSRF_COOKIE_SECURE=True", ("security.csrf_cookie_secure",), settings_read),
    ("Configure ALLOWED_HOSTS for the domain", ("env.allowed_hosts",), settings_read),
    ("Configure CORS_ALLOWED_ORIGINS for the domain", ("django.cors_local", "django.cors_allow_all"), settings_read),
    ("Configure the external services the settings read", ("external.",), settings_read),
    ("Apply pending migrations", ("database.migrations_unapplied", "database.migrations_broken"), migrated),
    ("Collect static files", ("django.static_not_collected", "django.static_root"), collected),
    ("Set ENVIRONMENT=production", ("env.environment",), settings_read),
)


def checklist(findings, facts: dict) -> list[tuple[bool, str, list[str]]]:
    """(done, item, why open: finding ids or the missing proof) per item, then `check --deploy` clean."""
    view = View(facts or {}, {}, {})
    ids = {f.id for f in findings}
    rows = []
    for item, needed, proof in CHECKLIST:
        open_ids = sorted(i for i in ids if any(i == n or (n.endswith(".") and i.startswith(n)) for n in needed))
        unproven = proof(view)
        rows.append((not open_ids and unproven is None, item, open_ids + ([unproven] if unproven else [])))
    deploy = sorted({d for f in findings for d in f.django_ids if d.startswith("security.")})
    unproven = deploy_checks(view)
    rows.append((not deploy and unproven is None, "`manage.py check --deploy` reports no security warning",
                 deploy + ([unproven] if unproven else [])))
    return rows
