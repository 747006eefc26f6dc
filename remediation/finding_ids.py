"""Every finding id a check can report: what a waiver may name (remediation/waivers.py).

Ids are stable and never reused; the README's findings tables document each one, and
tests/test_config_waivers.py checks that this list and those tables agree. Ids made at run time
have a pattern instead: ``external.<service>`` and the ids of Django's own check framework.
"""

from __future__ import annotations

import re

KNOWN_IDS = frozenset((
    # live
    "live.unreachable",
    "live.redirect_loop",
    "live.https_redirect",
    "live.hsts",
    "live.hsts_subdomains",
    "live.hsts_preload",
    "live.cookie_secure",
    "live.cookie_httponly",
    "live.cookie_samesite",
    "live.nosniff",
    "live.referrer_policy",
    "live.frame_options",
    "live.csp",
    "live.server_version",
    "live.tls_protocol",
    "live.certificate",
    "live.certificate_expiry",
    "live.static_missing",
    "live.static_cache",
    "live.websocket",
    "live.websocket_refused",
    "live.health",
    "live.debug",
    "live.large_response",
    # agreement
    "agreement.hsts",
    "agreement.ssl_redirect",
    "agreement.session_cookie_secure",
    "agreement.csrf_cookie_secure",
    "agreement.nosniff",
    "agreement.frame_options",
    "agreement.debug",
    "agreement.static",
    # git
    "git.not_repo",
    "git.error",
    "git.dirty",
    "git.detached",
    "git.no_remote",
    "git.no_upstream",
    "git.unpushed",
    "git.behind",
    "git.live_secret_in_history",
    "git.secret_file_tracked",
    "git.secret_in_tree",
    "git.secret_in_history",
    "git.secret_in_commit_message",
    "git.secret_scan_partial",
    "git.secret_scan_error",
    # services
    "services.docker_unavailable",
    "services.no_compose",
    "services.redis_unreachable",
    # env
    "env.missing",
    "env.malformed",
    "env.debug",
    "env.secret_key",
    "env.allowed_hosts",
    "env.environment",
    "env.database_url",
    "env.local_url",
    # python
    "python.no_requirements",
    "python.missing",
    "python.version_mismatch",
    # node
    "node.modules_missing",
    "node.no_build_script",
    "node.build_missing",
    # database
    "database.sqlite",
    "database.unreachable",
    "database.migrations_broken",
    "database.migration_conflict",
    "database.migrations_unapplied",
    "database.model_changes",
    # django
    "django.settings_error",
    "django.settings_timeout",
    "django.probe_killed",
    "django.checks_failed",
    "django.static_root",
    "django.static_not_collected",
    "django.media_local",
    "django.cors_allow_all",
    "django.cors_local",
    "django.debug_toolbar",
    # rest_framework
    "rest_framework.allow_any",
    "rest_framework.no_throttling",
    "rest_framework.no_pagination",
    # cache
    "cache.local",
    # celery
    "celery.no_broker",
    "celery.pickle",
    "celery.eager",
    # channels
    "channels.in_memory",
    "channels.no_asgi_application",
    "channels.no_asgi_server",
    "channels.daphne_disabled",
    # api
    "api.urls_error",
    "api.schema_errors",
    "api.schema_warnings",
    "api.no_docs",
    # security
    "security.ssl_redirect",
    "security.hsts",
    "security.hsts_subdomains",
    "security.hsts_preload",
    "security.session_cookie_secure",
    "security.csrf_cookie_secure",
    "security.content_type_nosniff",
    # drift
    "drift.settings",
    "drift.migrations",
    "drift.commit",
    "drift.secret_key",
))

PATTERNS = (
    re.compile(r"external\.[a-z0-9_]+"),  # a service's credentials (remediation/checks/integrations.py)
    re.compile(r"[a-z_]+\.[CEWI]\d{3}"),  # Django's check framework: security.W019, models.E001, ...
)


def known(finding_id: str) -> bool:
    return finding_id in KNOWN_IDS or any(p.fullmatch(finding_id) for p in PATTERNS)
