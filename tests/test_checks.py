"""Pure unit tests of every check: facts built in memory (tests/factories.py), no Django, no subprocess.

Every check in ``remediation.checks.MODULES`` has a ``Case`` below with three kinds of facts:

- ``fails``: facts that fail it, with the exact findings expected (id, severity, area, fix,
  needs, applies_from, django_ids and the evidence the detail must name);
- ``passes``: facts that pass it (the healthy default is always one of them);
- where it does not apply: explicit ``not_applies`` facts, and for every check guarded by
  "Django started" each failing variant again with the probe's error set (settings kept), which
  must then give nothing. Checks that never look at the probe (git, env file, requirements, ...)
  are marked ``independent``: their failing variants must give the same findings when Django
  cannot start at all.

``test_every_check_has_a_case`` keeps the table complete as checks are added.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from factories import HEALTHY_SETTINGS, make_facts

from remediation.checks import MODULES, run_checks
from remediation.checks.base import AREA_TITLES
from remediation.checks.mapping import MAPPED_DJANGO_IDS
from remediation.facts import EnvFile, GitFacts, NodeFacts, ServiceFacts
from remediation.findings import (
    ENVIRONMENTS,
    MANUAL,
    NOT_READY,
    PARTIAL,
    READY,
    Finding,
    Severity,
    Verdict,
    blocked,
    verdict_for,
)

CRITICAL, HIGH, MEDIUM, LOW, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO
ID_PATTERN = re.compile(r"^[a-z_]+(\.[a-z_0-9A-Z]+)+$")

# --- facts builders ---------------------------------------------------------------------------

SETTINGS_ERROR = {"stage": "settings", "type": "ValueError", "message": "boom", "where": "config/settings.py:3"}
# The probe failing after it read the settings (probe.main's catch-all): settings are still there.
PROBE_CRASH = {"stage": "probe", "type": "RuntimeError", "message": "crash", "where": "shop/apps.py:9"}
# What the brief calls a settings failure: the error, and no settings.
SETTINGS_FAILED = {"error": SETTINGS_ERROR, "settings": None}
# What probe.Probe.run really returns when the settings do not import: none of the Django sections.
PROBE_SECTIONS = ("settings", "database", "checks", "migrations", "static", "redis", "urls")
REAL_SETTINGS_FAILED = {"error": SETTINGS_ERROR, **{section: None for section in PROBE_SECTIONS}}

LEVELS = {"CRITICAL": 50, "ERROR": 40, "WARNING": 30, "INFO": 20, "DEBUG": 10}
GIT_ROOT = "/srv/app"
REQ_DJANGO = {"name": "Django", "specifier": ">=5.2", "installed": "5.2", "satisfied": True}
APPS = HEALTHY_SETTINGS["INSTALLED_APPS"]


def message(check_id, level="WARNING", msg="something is off", obj=None):
    """One message of Django's check framework, as probe.Probe.checks reports it."""
    return {"id": check_id, "level": LEVELS[level], "level_name": level, "msg": msg, "hint": None, "obj": obj}


def F(messages=None, probe=None, **kwargs):
    """make_facts, plus ``messages`` for Django's check framework."""
    probe = dict(probe or {})
    if messages is not None:
        probe["checks"] = {"messages": list(messages), "silenced": 0, "error": None}
    return make_facts(probe=probe, **kwargs)


def with_attrs(facts, **attrs):
    for name, value in attrs.items():
        setattr(facts, name, value)
    return facts


def apps_without(*names):
    return [app for app in APPS if app not in names]


def git_facts(**changes):
    base = dict(is_repo=True, root=GIT_ROOT, branch="main", head="a" * 40, upstream="origin/main", ahead=0, behind=0,
                remote="origin", remote_url="https://example.com/thebot.git")
    base.update(changes)
    return GitFacts(**base)


def scanned(**changes):
    """Healthy facts with a committed-secret scan (remediation/secretscan) that found ``hits``."""
    scan = {"state": "scanned", "error": None, "partial": [], "limit": 1000, "commits": 3, "files": 9, "hits": []}
    scan.update(changes)
    return with_attrs(F(), secret_scan=scan)


def hit(kind, path, line=None, rule="Secret Keyword", setting=None):
    return {"kind": kind, "path": path, "line": line, "commit": "0123456789ab", "rule": rule, "setting": setting}


def node_facts(**changes):
    base = dict(package_json="frontend/package.json", scripts=["build", "dev"], node_modules=True,
                build_output="frontend/dist")
    base.update(changes)
    return NodeFacts(**base)


def migrations(**changes):
    base = {"apps": {}, "plan": [], "error": None, "conflicts": {}, "model_changes": {}}
    base.update(changes)
    return base


def static(**changes):
    base = {"enabled": True, "static_root": "/srv/app/backend/staticfiles", "exists": True, "source_files": 3, "missing": 0}
    base.update(changes)
    return base


def database(**changes):
    base = {"configured": True, "engine": "django.db.backends.postgresql", "vendor": "postgresql", "name": "thebot",
            "host": "127.0.0.1", "port": "5432", "reachable": True, "error": None}
    base.update(changes)
    return base


SQLITE = database(engine="django.db.backends.sqlite3", vendor="sqlite", name="/srv/app/backend/db.sqlite3",
                  host="", port="", size_bytes=2_500_000)
THE_BOT_EXTERNAL = ("TELEGRAM_BOT_TOKEN", "OPENROUTER_API_KEY", "YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY", "EMAIL_HOST",
                    "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD")


def environ(*unset, set=(), defaults=None, where="config/settings.py:10"):
    """The probe's record of the env variables the settings read: ``unset`` names then ``set`` names."""
    defaults = defaults or {}
    read = {name: {"default": defaults.get(name), "where": where, "set": False} for name in unset}
    read.update({name: {"default": defaults.get(name), "where": where, "set": True} for name in set})
    return {"environ": {"recorded": True, "read": read}}


NO_EXTERNAL = environ(*THE_BOT_EXTERNAL)


def components(cache=True, celery=True, channels=True, rest_framework=True):
    """The probe's COMPONENTS fact: which of the optional components the project uses."""
    used = {"cache": cache, "celery": celery, "channels": channels, "rest_framework": rest_framework}
    return {name: {"used": flag, "evidence": [f"{name} evidence"] if flag else []} for name, flag in used.items()}
NO_CELERY_SETTINGS = {"CELERY_BROKER_URL": None, "CELERY_TASK_SERIALIZER": None, "CELERY_ACCEPT_CONTENT": None}


# --- expectations -----------------------------------------------------------------------------


@dataclass
class Expect:
    id: str
    severity: Severity
    fix: str = MANUAL
    applies_from: str = "production"
    needs: tuple = ()
    django_ids: tuple = ()
    detail: tuple = ()  # substrings the detail must contain: the evidence
    not_detail: tuple = ()  # substrings it must not contain


def E(id, severity, *detail, **kwargs):
    return Expect(id, severity, detail=detail, **kwargs)


def EX(id, severity, *detail, **kwargs):
    """An external.* finding: the `external` fix asks for its keys (the registry says so)."""
    return E(id, severity, *detail, fix="external", **kwargs)


@dataclass
class Case:
    check: Callable
    fails: list  # (label, facts builder, [Expect, ...])
    passes: list = field(default_factory=list)  # (label, facts builder)
    not_applies: list = field(default_factory=list)  # (label, facts builder)
    django_guard: bool = False  # needs Django started: a failing variant with a probe error gives nothing
    independent: bool = False  # never reads the probe: a failing variant gives the same with no Django


def assert_matches(findings, expected, area):
    assert [f.id for f in findings] == [e.id for e in expected]
    for found, want in zip(findings, expected):
        assert isinstance(found, Finding)
        assert found.severity is want.severity, found.id
        assert found.area == area
        assert found.fix == want.fix, found.id
        assert found.applies_from == want.applies_from, found.id
        assert found.needs == want.needs, found.id
        assert found.django_ids == want.django_ids, found.id
        assert found.title and isinstance(found.title, str)
        for text in want.detail:
            assert text in found.detail, f"{found.id}: {text!r} not in {found.detail!r}"
        for text in want.not_detail:
            assert text not in found.detail, f"{found.id}: {text!r} in {found.detail!r}"


# --- the table --------------------------------------------------------------------------------

CASES = [
    # 1. git ------------------------------------------------------------------------------------
    Case(
        "git.not_a_repository",
        fails=[("outside a work tree", lambda: F(git=GitFacts()),
                [E("git.not_repo", LOW, "/srv/app", applies_from="staging")])],
        passes=[("detached but a repository", lambda: F(git=git_facts(branch=None, upstream=None)))],
        independent=True,
    ),
    Case(
        "git.unreadable",
        fails=[("git error", lambda: F(git=git_facts(error="GitCommandError: bad object HEAD")),
                [E("git.error", LOW, "GitCommandError: bad object HEAD", applies_from="staging")])],
        passes=[("not a repository at all", lambda: F(git=GitFacts()))],
        independent=True,
    ),
    Case(
        "git.dirty_tree",
        fails=[("7 changed files", lambda: F(git=git_facts(dirty_files=7)),
                [E("git.dirty", MEDIUM, "7 file(s)", "app/", applies_from="staging")])],
        passes=[("clean", lambda: F(git=git_facts(dirty_files=0)))],
        not_applies=[("not a repository", lambda: F(git=GitFacts(dirty_files=7)))],
        independent=True,
    ),
    Case(
        "git.detached_head",
        fails=[("no branch", lambda: F(git=git_facts(branch=None, head="0123456789abcdef" * 2 + "01234567",
                                                     upstream=None, ahead=None, behind=None)),
                [E("git.detached", LOW, "0123456789ab", applies_from="staging", not_detail=("0123456789abc",))])],
        not_applies=[
            ("not a repository", lambda: F(git=GitFacts(head="a" * 40))),
            ("git error before the branch was read", lambda: F(git=git_facts(branch=None, error="GitCommandError: x"))),
            ("no commit yet", lambda: F(git=git_facts(branch=None, head=None))),
        ],
        independent=True,
    ),
    Case(
        "git.no_remote",
        fails=[("no remote", lambda: F(git=git_facts(remote=None, remote_url=None, upstream=None, ahead=None, behind=None)),
                [E("git.no_remote", MEDIUM, "no remote", applies_from="staging")])],
        not_applies=[
            ("not a repository", lambda: F(git=GitFacts())),
            ("git error: remote unknown", lambda: F(git=git_facts(remote=None, upstream=None, error="GitCommandError: x"))),
        ],
        independent=True,
    ),
    Case(
        "git.no_upstream",
        fails=[("branch tracks nothing", lambda: F(git=git_facts(branch="feature/pay", upstream=None, ahead=None, behind=None)),
                [E("git.no_upstream", MEDIUM, "feature/pay", "origin", fix="git_push", applies_from="staging")])],
        not_applies=[
            ("no remote (git.no_remote says so)", lambda: F(git=git_facts(remote=None, upstream=None))),
            ("detached head", lambda: F(git=git_facts(branch=None, upstream=None))),
            ("git error", lambda: F(git=git_facts(upstream=None, error="GitCommandError: x"))),
            ("not a repository", lambda: F(git=GitFacts())),
        ],
        independent=True,
    ),
    Case(
        "git.unpushed_commits",
        fails=[("3 commits ahead", lambda: F(git=git_facts(ahead=3)),
                [E("git.unpushed", HIGH, "3 commit(s)", "main", "origin/main", "https://example.com/thebot.git",
                   fix="git_push", applies_from="staging")])],
        passes=[("behind only", lambda: F(git=git_facts(behind=2)))],
        not_applies=[("no upstream to compare with", lambda: F(git=git_facts(upstream=None, ahead=3)))],
        independent=True,
    ),
    Case(
        "git.behind_upstream",
        fails=[("2 commits behind", lambda: F(git=git_facts(behind=2)),
                [E("git.behind", LOW, "2 commit(s)", "origin/main", "main", applies_from="staging")])],
        passes=[("ahead only", lambda: F(git=git_facts(ahead=1)))],
        not_applies=[("no upstream to compare with", lambda: F(git=git_facts(upstream=None, behind=2)))],
        independent=True,
    ),
    # 1b. committed secrets (remediation/secretscan; the scan itself: tests/test_secret_scan*.py) -----
    Case(
        "git_secrets.scan_error",
        fails=[("git failed", lambda: scanned(state="error", error="git: no such program"),
                [E("git.secret_scan_error", LOW, "git: no such program", applies_from="staging")])],
        passes=[("scanned", lambda: scanned())],
        not_applies=[("not a repository", lambda: scanned(state="not a repository"))],
        independent=True,
    ),
    Case(
        "git_secrets.scan_partial",
        fails=[("bounded", lambda: scanned(partial=["the history has more than 3 commits; the 3 newest were scanned"]),
                [E("git.secret_scan_partial", LOW, "more than 3 commits", "REMEDIATION_SECRET_SCAN_COMMITS",
                   applies_from="staging")])],
        passes=[("whole", lambda: scanned())],
        independent=True,
    ),
    Case(
        "git_secrets.live_secret",
        fails=[("SECRET_KEY in an old commit", lambda: scanned(hits=[hit("live", "conf/keys.py", setting="the live SECRET_KEY")]),
                [E("git.live_secret_in_history", CRITICAL, "the live SECRET_KEY is committed in conf/keys.py (commit "
                   "0123456789ab)", "rotate", applies_from="staging")])],
        passes=[("other findings only", lambda: scanned(hits=[hit("tree", "a.py", line=3)]))],
        independent=True,
    ),
    Case(
        "git_secrets.secret_files",
        fails=[("a tracked .env", lambda: scanned(hits=[hit("file", ".env", rule="env file")]),
                [E("git.secret_file_tracked", HIGH, ".env: env file", "git rm --cached", applies_from="staging")])],
        independent=True,
    ),
    Case(
        "git_secrets.secret_values",
        fails=[("a provider's token", lambda: scanned(hits=[hit("tree", "a.py", line=3, rule="GitHub Token")]),
                [E("git.secret_in_tree", HIGH, "a.py: GitHub Token (line 3)", applies_from="staging")]),
               ("a keyword guess", lambda: scanned(hits=[hit("tree", "a.py", line=2)]),
                [E("git.secret_in_tree", MEDIUM, "a.py: Secret Keyword (line 2)", applies_from="staging")])],
        independent=True,
    ),
    Case(
        "git_secrets.history_values",
        fails=[("a deleted file", lambda: scanned(hits=[hit("history", "old.py", line=1, rule="AWS Access Key")]),
                [E("git.secret_in_history", MEDIUM, "old.py: AWS Access Key (line 1, commit 0123456789ab)",
                   applies_from="staging")])],
        independent=True,
    ),
    Case(
        "git_secrets.message_values",
        fails=[("a password in a message", lambda: scanned(hits=[hit("message", None)]),
                [E("git.secret_in_commit_message", MEDIUM, "Secret Keyword (commit 0123456789ab)", applies_from="staging")])],
        independent=True,
    ),
    # 2. services -------------------------------------------------------------------------------
    Case(
        "services.docker_engine",
        fails=[("compose files, no engine",
                lambda: F(services=ServiceFacts(docker_engine=False, docker_error="Cannot connect to the Docker daemon",
                                                compose_files=["docker-compose.yml", "docker-compose.prod.yml"])),
                [E("services.docker_unavailable", INFO, "2 compose file(s)", "Cannot connect to the Docker daemon",
                   applies_from="development")])],
        not_applies=[("no compose files", lambda: F(services=ServiceFacts(docker_engine=False, docker_error="x")))],
        independent=True,
    ),
    Case(
        "services.compose_files",
        fails=[("no compose file", lambda: F(services=ServiceFacts(docker_engine=True)),
                [E("services.no_compose", LOW, "docker-compose")])],
        passes=[("compose without an engine", lambda: F(services=ServiceFacts(compose_files=["compose.yaml"])))],
        independent=True,
    ),
    Case(
        "services.redis_unreachable",
        fails=[
            ("one of two down", lambda: F(probe={"redis": [
                {"url": "redis://:****@cache.internal:6379", "used_by": ["CACHES[default]", "CELERY_BROKER_URL"],
                 "reachable": False, "error": "ConnectionRefusedError: [Errno 111] Connection refused"},
                {"url": "redis://127.0.0.1:6380", "used_by": ["REDIS_URL"], "reachable": True, "error": None}]}),
             [E("services.redis_unreachable", HIGH, "redis://:****@cache.internal:6379",
                "CACHES[default], CELERY_BROKER_URL", "Connection refused", applies_from="staging",
                not_detail=("6380", "REDIS_URL"))]),
            ("two down, one without error", lambda: F(probe={"redis": [
                {"url": "redis://a:6379", "used_by": ["REDIS_URL"], "reachable": False, "error": "timeout"},
                {"url": "redis://b:6379", "used_by": ["CHANNEL_LAYERS[default]"], "reachable": False, "error": None}]}),
             [E("services.redis_unreachable", HIGH, "redis://a:6379 (used by REDIS_URL): timeout",
                "redis://b:6379 (used by CHANNEL_LAYERS[default]): no PONG", applies_from="staging")]),
        ],
        not_applies=[
            ("no Redis configured", lambda: F(probe={"redis": []})),
            ("Django did not start: no Redis facts", lambda: F(probe=REAL_SETTINGS_FAILED)),
        ],
    ),
    # 3. environment ----------------------------------------------------------------------------
    Case(
        "environment.env_file_missing",
        fails=[
            ("no .env", lambda: with_attrs(F(), env=EnvFile(None)),
             [E("env.missing", MEDIUM, "/srv/app", "/srv/app/backend", fix="env_file", applies_from="staging")]),
            ("named file gone", lambda: with_attrs(F(), env=EnvFile(Path("/nonexistent/thebot/.env"))),
             [E("env.missing", MEDIUM, "no .env at /srv/app", fix="env_file", applies_from="staging")]),
        ],
        independent=True,
    ),
    Case(
        "environment.env_file_malformed",
        fails=[("two bad lines", lambda: F(env_errors=["/srv/app/.env:7: cannot parse this line",
                                                        "/srv/app/.env:12: cannot parse this line"]),
                [E("env.malformed", HIGH, "/srv/app/.env:7", "/srv/app/.env:12", applies_from="development")])],
        independent=True,
    ),
    Case(
        "environment.debug_on",
        fails=[
            ("DEBUG=True", lambda: F(settings={"DEBUG": True}),
             [E("env.debug", CRITICAL, "DEBUG=True", fix="env_file")]),
            ("DEBUG=True, Django reported W018",
             lambda: F(settings={"DEBUG": True}, messages=[message("security.W018"), message("security.W019")]),
             [E("env.debug", CRITICAL, "DEBUG=True", fix="env_file", django_ids=("security.W018",))]),
        ],
        passes=[("DEBUG unset", lambda: F(settings={"DEBUG": None}))],
        django_guard=True,
    ),
    Case(
        "environment.secret_key",
        fails=[
            ("unset", lambda: F(settings={"SECRET_KEY": {"set": False, "length": 0, "unique": 0,
                                                        "insecure_prefix": False, "fallbacks": 0}}),
             [E("env.secret_key", CRITICAL, "SECRET_KEY not set", fix="secret_key", not_detail=("characters",))]),
            ("django-insecure and short, Django reported W009",
             lambda: F(settings={"SECRET_KEY": {"set": True, "length": 37, "unique": 20, "insecure_prefix": True,
                                                "fallbacks": 0}}, messages=[message("security.W009")]),
             [E("env.secret_key", CRITICAL, "starts with 'django-insecure-'", "37 characters (50 or more needed)",
                fix="secret_key", django_ids=("security.W009",), not_detail=("unique",))]),
            ("long but repetitive", lambda: F(settings={"SECRET_KEY": {"set": True, "length": 60, "unique": 3,
                                                                     "insecure_prefix": False, "fallbacks": 0}}),
             [E("env.secret_key", CRITICAL, "3 unique characters (5 or more needed)", fix="secret_key",
                not_detail=("60",))]),
        ],
        passes=[("exactly 50 characters, 5 unique", lambda: F(settings={"SECRET_KEY": {
            "set": True, "length": 50, "unique": 5, "insecure_prefix": False, "fallbacks": 1}}))],
        django_guard=True,
    ),
    Case(
        "environment.allowed_hosts",
        fails=[
            ("wildcard", lambda: F(settings={"ALLOWED_HOSTS": ["thebot.example.com", "*"]}),
             [E("env.allowed_hosts", HIGH, "'*'", fix="env_file", needs=("--domain",))]),
            ("empty, Django reported W020", lambda: F(settings={"ALLOWED_HOSTS": []}, messages=[message("security.W020")]),
             [E("env.allowed_hosts", HIGH, "ALLOWED_HOSTS is empty", fix="env_file", needs=("--domain",),
                django_ids=("security.W020",))]),
            ("empty, not reported", lambda: F(settings={"ALLOWED_HOSTS": []}),
             [E("env.allowed_hosts", HIGH, "ALLOWED_HOSTS is empty", fix="env_file", needs=("--domain",))]),
            ("local only", lambda: F(settings={"ALLOWED_HOSTS": ["localhost", "127.0.0.1", ".backend"]}),
             [E("env.allowed_hosts", HIGH, "only local hosts: localhost, 127.0.0.1, .backend", fix="env_file",
                needs=("--domain",))]),
        ],
        passes=[
            ("local and public", lambda: F(settings={"ALLOWED_HOSTS": ["localhost", "api.example.com"]})),
            ("subdomain wildcard", lambda: F(settings={"ALLOWED_HOSTS": [".example.com"]})),
        ],
        django_guard=True,
    ),
    Case(
        "environment.environment_name",
        fails=[
            ("settings say development", lambda: F(settings={"ENVIRONMENT": "development"}),
             [E("env.environment", MEDIUM, "ENVIRONMENT=development", fix="env_file")]),
            ("only the env file says staging", lambda: F(settings={"ENVIRONMENT": None}, env={"ENVIRONMENT": "staging"}),
             [E("env.environment", MEDIUM, "ENVIRONMENT=staging", fix="env_file")]),
            # another project names its environment APP_ENV: its default, development, is what the settings got
            ("APP_ENV read, unset, default development", lambda: F(
                settings={"ENVIRONMENT": None}, probe=environ("APP_ENV", defaults={"APP_ENV": "development"})),
             [E("env.environment", MEDIUM, "APP_ENV=development", fix="env_file")]),
        ],
        passes=[
            ("PROD", lambda: F(settings={"ENVIRONMENT": "PROD"})),
            ("env file says production", lambda: F(settings={"ENVIRONMENT": None}, env={"ENVIRONMENT": "production"})),
            ("APP_ENV set to production", lambda: F(settings={"ENVIRONMENT": None}, probe=environ(set=["APP_ENV"]),
                                                    env={"APP_ENV": "production"})),
        ],
        django_guard=True,
    ),
    Case(
        "environment.database_url",
        fails=[("SQLite, no DATABASE_URL", lambda: F(probe={"database": SQLITE}),
                [E("env.database_url", MEDIUM, "DATABASE_URL", "SQLite", fix="database", needs=("--database-url",),
                   applies_from="staging")]),
               # a project of the DB_* shape: the variables it reads are named, not DATABASE_URL
               ("SQLite, DB_* unset", lambda: F(probe={"database": SQLITE, **environ("DB_ENGINE", "DB_HOST", "DB_NAME",
                                                                                       set=["DB_PORT"])}),
                [E("env.database_url", MEDIUM, "DB_ENGINE, DB_HOST, DB_NAME unset", fix="database",
                   needs=("--database-url",), applies_from="staging", not_detail=("DATABASE_URL", "DB_PORT"))])],
        passes=[("PostgreSQL without DATABASE_URL", lambda: F(env={})),
                ("SQLite chosen by DB_ENGINE, set", lambda: F(probe={"database": SQLITE, **environ(set=["DB_ENGINE"])}))],
        not_applies=[("SQLite but DATABASE_URL set", lambda: F(probe={"database": SQLITE},
                                                                env={"DATABASE_URL": "postgres://u:p@db/thebot"}))],
        django_guard=True,
    ),
    Case(
        "environment.external_services",
        fails=[
            ("nothing configured", lambda: F(probe=NO_EXTERNAL), [
                EX("external.telegram", HIGH, "missing: TELEGRAM_BOT_TOKEN", "config/settings.py:10",
                  needs=("TELEGRAM_BOT_TOKEN",)),
                EX("external.openrouter", HIGH, "missing: OPENROUTER_API_KEY", needs=("OPENROUTER_API_KEY",)),
                EX("external.yookassa", HIGH, "missing: YOOKASSA_SHOP_ID, YOOKASSA_SECRET_KEY",
                  needs=("YOOKASSA_SHOP_ID", "YOOKASSA_SECRET_KEY")),
                EX("external.email", HIGH, "missing: EMAIL_HOST, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD",
                  needs=("EMAIL_HOST", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD")),
            ]),
            ("one key missing, the rest set",
             lambda: F(probe=environ("EMAIL_HOST_PASSWORD", set=[k for k in THE_BOT_EXTERNAL if k != "EMAIL_HOST_PASSWORD"])),
             [EX("external.email", HIGH, "missing: EMAIL_HOST_PASSWORD", needs=("EMAIL_HOST_PASSWORD",),
                not_detail=("EMAIL_HOST_USER", "EMAIL_HOST,"))]),
            # Another project: the services are whatever its settings read, not THE_BOT's list.
            ("Stripe, Sentry, S3 and an unknown service read, unset; non-secret names not asked",
             lambda: F(probe=environ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "SENTRY_DSN", "AWS_SECRET_ACCESS_KEY",
                                     "AWS_STORAGE_BUCKET_NAME", "ACME_API_TOKEN", "DB_PASSWORD", "DJANGO_SECRET_KEY",
                                     "REDIS_PASSWORD", "LOG_LEVEL", set=["AWS_ACCESS_KEY_ID"])),
             [EX("external.stripe", HIGH, "missing: STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY",
                needs=("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY")),
              EX("external.sentry", HIGH, "missing: SENTRY_DSN", needs=("SENTRY_DSN",)),
              EX("external.aws", HIGH, "missing: AWS_SECRET_ACCESS_KEY", needs=("AWS_SECRET_ACCESS_KEY",),
                not_detail=("BUCKET", "AWS_ACCESS_KEY_ID")),
              EX("external.other", HIGH, "missing: ACME_API_TOKEN", needs=("ACME_API_TOKEN",),
                not_detail=("DB_PASSWORD", "SECRET_KEY", "REDIS", "LOG_LEVEL"))]),
            ("cookiecutter-django's DJANGO_AWS_ names",
             lambda: F(probe=environ("DJANGO_AWS_SECRET_ACCESS_KEY", "MAILGUN_API_KEY")),
             [EX("external.aws", HIGH, "DJANGO_AWS_SECRET_ACCESS_KEY", needs=("DJANGO_AWS_SECRET_ACCESS_KEY",)),
              EX("external.mailgun", HIGH, "MAILGUN_API_KEY", needs=("MAILGUN_API_KEY",))]),
        ],
        passes=[
            ("all set", lambda: F(probe=environ(set=THE_BOT_EXTERNAL))),
            # The settings read none of THE_BOT's variables: nothing to ask for, whatever the env file lacks.
            ("a project that reads no external variable", lambda: F(probe=environ("DEBUG", "LOG_LEVEL", set=["DB_HOST"]))),
        ],
        not_applies=[("reads unknown (nothing recorded)", lambda: F(probe={"environ": {"recorded": False, "read": {}}}))],
        django_guard=True,
    ),
    Case(
        "environment.local_public_url",
        fails=[
            ("FRONTEND_URL left at its localhost default",
             lambda: F(probe=environ("FRONTEND_URL", defaults={"FRONTEND_URL": "http://localhost:3000"})),
             [E("env.local_url", HIGH, "FRONTEND_URL=http://localhost:3000", "default at config/settings.py:10",
                fix="env_file", needs=("--domain",))]),
            ("SITE_URL set to 127.0.0.1 in the env file",
             lambda: F(probe=environ(set=["SITE_URL", "PUBLIC_BASE_URL"]),
                       env={"SITE_URL": "http://127.0.0.1:8000/", "PUBLIC_BASE_URL": "https://shop.example.com"}),
             [E("env.local_url", HIGH, "SITE_URL=http://127.0.0.1:8000/", fix="env_file", needs=("--domain",),
                not_detail=("PUBLIC_BASE_URL", "default"))]),
        ],
        passes=[
            ("public URL", lambda: F(probe=environ(set=["FRONTEND_URL"]), env={"FRONTEND_URL": "https://shop.example.com"})),
            # localhost is right for services on this machine: Redis, the database, a local API
            ("service URLs on localhost", lambda: F(probe=environ(
                "REDIS_URL", "DATABASE_URL", "SENTRY_URL", "OLLAMA_URL",
                defaults={"REDIS_URL": "redis://localhost:6379/0", "DATABASE_URL": "postgres://localhost/db",
                          "SENTRY_URL": "http://localhost:9000", "OLLAMA_URL": "http://localhost:11434"}))),
            ("set, value not in the env file (process environment)", lambda: F(probe=environ(set=["SITE_URL"]))),
        ],
        django_guard=True,
    ),
    # 4. Python dependencies --------------------------------------------------------------------
    Case(
        "python_deps.no_requirements",
        fails=[("no requirements file", lambda: F(requirement_files=()),
                [E("python.no_requirements", LOW, "requirements.txt", applies_from="staging")])],
        independent=True,
    ),
    Case(
        "python_deps.missing_packages",
        fails=[("two missing", lambda: F(requirements=[
            REQ_DJANGO,
            {"name": "celery", "specifier": ">=5.3", "installed": None, "satisfied": False},
            {"name": "redis", "specifier": "", "installed": None, "satisfied": False}]),
            [E("python.missing", HIGH, "/usr/bin/python3", "celery, redis", applies_from="development",
               not_detail=("Django",))])],
        passes=[("installed, wrong version", lambda: F(requirements=[
            {"name": "Django", "specifier": ">=5.2", "installed": "4.2", "satisfied": False}]))],
        not_applies=[("no requirements", lambda: with_attrs(F(requirement_files=()), requirements=[]))],
        independent=True,
    ),
    Case(
        "python_deps.version_mismatch",
        fails=[("Django too old", lambda: F(requirements=[
            {"name": "Django", "specifier": ">=5.2", "installed": "4.2", "satisfied": False},
            {"name": "celery", "specifier": ">=5.3", "installed": None, "satisfied": False},
            {"name": "redis", "specifier": ">=5", "installed": "5.0.1", "satisfied": True}]),
            [E("python.version_mismatch", MEDIUM, "Django 4.2 (wants >=5.2)", applies_from="development",
               not_detail=("celery", "redis"))])],
        not_applies=[("missing, not mismatched", lambda: F(requirements=[
            {"name": "celery", "specifier": ">=5.3", "installed": None, "satisfied": False}]))],
        independent=True,
    ),
    # 5. Node.js --------------------------------------------------------------------------------
    Case(
        "node.modules_missing",
        fails=[
            ("frontend/", lambda: F(node=node_facts(node_modules=False)),
             [E("node.modules_missing", LOW, "frontend/package.json", "frontend/node_modules", applies_from="development")]),
            ("at the root", lambda: F(node=node_facts(package_json="package.json", node_modules=False)),
             [E("node.modules_missing", LOW, "package.json present but no ./node_modules", applies_from="development")]),
        ],
        not_applies=[("no package.json", lambda: F(node=NodeFacts(node_modules=False)))],
        independent=True,
    ),
    Case(
        "node.no_build_script",
        fails=[
            ("dev and lint only", lambda: F(node=node_facts(scripts=["dev", "lint"], build_output=None)),
             [E("node.no_build_script", MEDIUM, "frontend/package.json", "has: dev, lint")]),
            ("no scripts", lambda: F(node=node_facts(scripts=[], build_output=None)),
             [E("node.no_build_script", MEDIUM, "has: none")]),
        ],
        not_applies=[("no package.json", lambda: F(node=NodeFacts()))],
        independent=True,
    ),
    Case(
        "node.build_missing",
        fails=[("never built", lambda: F(node=node_facts(build_output=None)),
                [E("node.build_missing", MEDIUM, "frontend/package.json", "npm run build")])],
        not_applies=[
            ("no build script (node.no_build_script says so)", lambda: F(node=node_facts(scripts=["dev"], build_output=None))),
            ("no package.json", lambda: F(node=NodeFacts())),
        ],
        independent=True,
    ),
    # 6. database -------------------------------------------------------------------------------
    Case(
        "database.sqlite_in_use",
        fails=[
            ("inside the project, with size", lambda: F(probe={"database": SQLITE}),
             [E("database.sqlite", CRITICAL, "SQLite at backend/db.sqlite3 (2.5 MB)", fix="database",
                needs=("--database-url",), applies_from="staging", not_detail=("/srv/app/",))]),
            ("outside the project, file missing",
             lambda: F(probe={"database": {**SQLITE, "name": "/var/lib/thebot.sqlite3", "size_bytes": None,
                                           "reachable": False}}),
             [E("database.sqlite", CRITICAL, "SQLite at /var/lib/thebot.sqlite3", fix="database",
                needs=("--database-url",), applies_from="staging", not_detail=("MB",))]),
        ],
        django_guard=True,
    ),
    Case(
        "database.unreachable",
        fails=[
            ("PostgreSQL refuses", lambda: F(probe={"database": database(host="db", port="5433", reachable=False,
                                                                          error="OperationalError: connection refused")}),
             [E("database.unreachable", CRITICAL, "django.db.backends.postgresql db:5433: OperationalError: connection refused",
                applies_from="development")]),
            ("no host or port", lambda: F(probe={"database": database(host="", port="", reachable=False, error="x: y")}),
             [E("database.unreachable", CRITICAL, "django.db.backends.postgresql: x: y", applies_from="development")]),
        ],
        not_applies=[("no default database", lambda: F(probe={"database": {"configured": False}}))],
        django_guard=True,
    ),
    Case(
        "database.migrations_broken",
        fails=[("missing parent", lambda: F(probe={"migrations": migrations(error={
            "type": "NodeNotFoundError", "message": "Migration shop.0002_price dependencies reference nonexistent parent node",
            "where": "shop/migrations/0002_price.py:7"})}),
            [E("database.migrations_broken", HIGH, "NodeNotFoundError", "shop.0002_price",
               "at shop/migrations/0002_price.py:7", applies_from="development")])],
        not_applies=[
            ("database down, files fine", lambda: F(probe={"migrations": migrations(
                db_error="OperationalError: connection refused", applied_known=False)})),
            ("Django did not start: no migration facts", lambda: F(probe=REAL_SETTINGS_FAILED)),
        ],
    ),
    Case(
        "database.migration_conflicts",
        fails=[("two apps with two leaves", lambda: F(probe={"migrations": migrations(conflicts={
            "shop": ["0003_discount", "0003_tax"], "bot": ["0002_a", "0002_b"]})}),
            [E("database.migration_conflict", HIGH, "bot: 0002_a, 0002_b; shop: 0003_discount, 0003_tax",
               "makemigrations --merge", applies_from="development")])],
        not_applies=[("Django did not start: no migration facts", lambda: F(probe=REAL_SETTINGS_FAILED))],
    ),
    Case(
        "database.unapplied_migrations",
        fails=[("three pending", lambda: F(probe={"migrations": migrations(
            plan=["shop.0001_initial", "shop.0002_price", "bot.0001_initial"])}),
            [E("database.migrations_unapplied", MEDIUM, "3 unapplied",
               "shop.0001_initial, shop.0002_price, bot.0001_initial", fix="migrate", applies_from="staging")])],
        not_applies=[
            ("database down: applied set unknown", lambda: F(probe={"migrations": migrations(
                applied_known=False, apps={"shop": {"applied": [], "unapplied": [], "on_disk": ["0001_initial"]}})})),
            ("Django did not start: no migration facts", lambda: F(probe=REAL_SETTINGS_FAILED)),
        ],
    ),
    Case(
        "database.model_changes",
        fails=[
            ("fields changed", lambda: F(probe={"migrations": migrations(model_changes={
                "shop": ["Add field price to item", "Remove field old from item"], "bot": ["Create model Chat"]})}),
             [E("database.model_changes", MEDIUM, "bot: Create model Chat; shop: Add field price to item, Remove field old from item",
                "makemigrations", applies_from="staging")]),
            ("autodetector failed", lambda: F(probe={"migrations": migrations(model_changes={
                "error": {"type": "ValueError", "message": "bad field", "where": "shop/models.py:4"}})}),
             [E("database.model_changes", MEDIUM, "cannot compare models with migrations: ValueError: bad field",
                applies_from="staging")]),
        ],
        not_applies=[("Django did not start: no migration facts", lambda: F(probe=REAL_SETTINGS_FAILED))],
    ),
    # 7. Django configuration -------------------------------------------------------------------
    Case(
        "django_config.settings_error",
        fails=[
            (stage, lambda stage=stage: F(probe={"error": {**SETTINGS_ERROR, "stage": stage}, "settings": None}),
             [E("django.settings_error", CRITICAL, "ValueError: boom", f"({stage}, at config/settings.py:3)",
                applies_from="development")])
            for stage in ("settings", "setup", "probe")
        ],
        not_applies=[("no Django in the interpreter (the runner's usage error)",
                      lambda: F(probe={"error": {**SETTINGS_ERROR, "stage": "django", "type": "ModuleNotFoundError"},
                                       **{section: None for section in PROBE_SECTIONS}}))],
    ),
    Case(
        "django_config.probe_interrupted",
        fails=[
            ("settings that never return", lambda: F(probe={"probe_timeout": 7, "settings": None, "error": {
                "stage": "settings", "kind": "timeout", "type": "ProbeTimeout", "where": "config/settings.py:40",
                "message": "no answer within 7s (stage: settings); the probe's processes were killed"}}),
             [E("django.settings_timeout", CRITICAL, "no answer within 7s", "while importing the settings",
                "last seen at config/settings.py:40", "--probe-timeout", applies_from="development")]),
            ("settings that SIGKILL themselves", lambda: F(probe={"settings": None, "error": {
                "stage": "settings", "kind": "killed", "type": "ProbeKilled", "signal": 9, "where": None,
                "message": "the probe was killed by SIGKILL during stage settings, before it could report"}}),
             [E("django.probe_killed", CRITICAL, "killed by SIGKILL", "while importing the settings",
                applies_from="development")]),
        ],
        passes=[("the probe reported", lambda: F())],
        not_applies=[("settings that raise (django.settings_error's)", lambda: F(probe=SETTINGS_FAILED))],
    ),
    Case(
        "django_config.check_framework_failed",
        fails=[("a project check raised", lambda: F(probe={"checks": {"messages": [], "silenced": 0, "error": {
            "type": "ImproperlyConfigured", "message": "no REDIS_URL", "where": "shop/checks.py:10"}}}),
            [E("django.checks_failed", HIGH, "ImproperlyConfigured: no REDIS_URL at shop/checks.py:10",
               applies_from="development")])],
        passes=[("messages but no crash", lambda: F(messages=[message("models.W042")]))],
        not_applies=[("Django did not start: no check facts", lambda: F(probe=REAL_SETTINGS_FAILED))],
    ),
    Case(
        "django_config.django_messages",
        fails=[
            ("unmapped deploy warning", lambda: F(messages=[message("security.W019", msg="X_FRAME_OPTIONS is not 'DENY'.")]),
             [E("security.W019", MEDIUM, "X_FRAME_OPTIONS is not 'DENY'.", django_ids=("security.W019",),
                not_detail=("(",))]),
            ("model error with object, multi-line", lambda: F(messages=[
                message("models.E001", level="ERROR", msg="'swappable' refers to\nthe model 'x.Y'", obj="shop.Item")]),
             [E("models.E001", HIGH, "'swappable' refers to the model 'x.Y' (shop.Item)", applies_from="development",
                django_ids=("models.E001",), not_detail=("\n",))]),
            ("every level", lambda: F(messages=[
                message("fields.E999", level="CRITICAL"), message("admin.W411", level="WARNING"),
                message("caches.I001", level="INFO"), message("urls.D001", level="DEBUG")]),
             [E("fields.E999", CRITICAL, applies_from="development", django_ids=("fields.E999",)),
              E("admin.W411", MEDIUM, applies_from="development", django_ids=("admin.W411",)),
              E("caches.I001", INFO, applies_from="development", django_ids=("caches.I001",)),
              E("urls.D001", INFO, applies_from="development", django_ids=("urls.D001",))]),
            ("mixed with mapped and drf_spectacular", lambda: F(messages=[
                message("security.W004"), message("drf_spectacular.W001"), message("security.W019"),
                message("drf_spectacular.E001", level="ERROR"), message("security.W018")]),
             [E("security.W019", MEDIUM, django_ids=("security.W019",))]),
        ],
        not_applies=[
            ("only mapped ids", lambda: F(messages=[message(i) for i in sorted(MAPPED_DJANGO_IDS)])),
            ("only drf_spectacular", lambda: F(messages=[message("drf_spectacular.W001"), message("drf_spectacular.W002"),
                                                         message("drf_spectacular.E001", level="ERROR")])),
            ("Django did not start: no check facts", lambda: F(probe=REAL_SETTINGS_FAILED)),
        ],
    ),
    Case(
        "django_config.static_root",
        fails=[("unset", lambda: F(probe={"static": static(static_root=None, exists=False, missing=3)}),
                [E("django.static_root", HIGH, "collectstatic", fix="manual")])],
        not_applies=[("staticfiles not installed", lambda: F(probe={"static": {"enabled": False}}))],
        django_guard=True,
    ),
    Case(
        "django_config.static_not_collected",
        fails=[
            ("never collected", lambda: F(probe={"static": static(exists=False, missing=3)}),
             [E("django.static_not_collected", MEDIUM, "STATIC_ROOT backend/staticfiles does not exist",
                fix="collectstatic")]),
            ("partly collected, outside the project",
             lambda: F(probe={"static": static(static_root="/var/www/static", source_files=5, missing=2)}),
             [E("django.static_not_collected", MEDIUM, "STATIC_ROOT /var/www/static lacks 2 of 5 files",
                fix="collectstatic")]),
        ],
        not_applies=[
            ("no STATIC_ROOT (django.static_root says so)", lambda: F(probe={"static": static(static_root=None, missing=3)})),
            ("finders failed: nothing counted", lambda: F(probe={"static": {
                "enabled": True, "static_root": "/srv/app/backend/staticfiles", "exists": False,
                "error": {"type": "ImproperlyConfigured", "message": "x", "where": "y"}}})),
            ("Django did not start: no static facts", lambda: F(probe=REAL_SETTINGS_FAILED)),
        ],
    ),
    Case(
        "django_config.media_storage",
        fails=[
            ("FileSystemStorage", lambda: F(settings={"STORAGES": {
                "default": "django.core.files.storage.FileSystemStorage",
                "staticfiles": "django.contrib.staticfiles.storage.StaticFilesStorage"}}),
             [E("django.media_local", MEDIUM, "MEDIA_ROOT backend/media through FileSystemStorage")]),
            ("STORAGES without default", lambda: F(settings={"STORAGES": {}, "MEDIA_ROOT": "/data/media"}),
             [E("django.media_local", MEDIUM, "MEDIA_ROOT /data/media through FileSystemStorage")]),
        ],
        passes=[("Google Cloud Storage", lambda: F(settings={"STORAGES": {
            "default": "storages.backends.gcloud.GoogleCloudStorage"}}))],
        not_applies=[("no MEDIA_ROOT", lambda: F(settings={"STORAGES": {}, "MEDIA_ROOT": None}))],
        django_guard=True,
    ),
    Case(
        "django_config.cors",
        fails=[
            ("allow all", lambda: F(settings={"CORS_ALLOW_ALL_ORIGINS": True}),
             [E("django.cors_allow_all", CRITICAL, "CORS_ALLOW_ALL_ORIGINS", fix="env_file", needs=("--domain",))]),
            ("legacy allow all", lambda: F(settings={"CORS_ORIGIN_ALLOW_ALL": True}),
             [E("django.cors_allow_all", CRITICAL, fix="env_file", needs=("--domain",))]),
            ("local origins only", lambda: F(settings={"CORS_ALLOWED_ORIGINS": [
                "http://localhost:5173", "http://127.0.0.1:8000", "http://[::1]:3000"]}),
             [E("django.cors_local", HIGH, "only local origins: http://localhost:5173, http://127.0.0.1:8000, http://[::1]:3000",
                fix="env_file", needs=("--domain",))]),
            ("none", lambda: F(settings={"CORS_ALLOWED_ORIGINS": None}),
             [E("django.cors_local", HIGH, "CORS_ALLOWED_ORIGINS is empty", fix="env_file", needs=("--domain",))]),
        ],
        passes=[("local and public", lambda: F(settings={"CORS_ALLOWED_ORIGINS": [
            "http://localhost:5173", "https://app.example.com"]}))],
        not_applies=[("corsheaders not installed", lambda: F(settings={
            "INSTALLED_APPS": apps_without("corsheaders"), "CORS_ALLOW_ALL_ORIGINS": True, "CORS_ALLOWED_ORIGINS": None}))],
        django_guard=True,
    ),
    Case(
        "django_config.debug_toolbar",
        fails=[("installed", lambda: F(settings={"INSTALLED_APPS": [*APPS, "debug_toolbar"]}),
                [E("django.debug_toolbar", LOW, "debug_toolbar")])],
        passes=[("a different app with that prefix", lambda: F(settings={"INSTALLED_APPS": [*APPS, "debug_toolbar_x"]}))],
        django_guard=True,
    ),
    # 8. REST framework -------------------------------------------------------------------------
    Case(
        "rest_framework.default_permission",
        fails=[
            ("DRF's default", lambda: F(settings={"REST_FRAMEWORK": None}),
             [E("rest_framework.allow_any", HIGH, "AllowAny")]),
            ("explicit AllowAny", lambda: F(settings={"REST_FRAMEWORK": {
                **HEALTHY_SETTINGS["REST_FRAMEWORK"],
                "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"]}}),
             [E("rest_framework.allow_any", HIGH, "AllowAny")]),
        ],
        not_applies=[("DRF not installed", lambda: F(settings={
            "INSTALLED_APPS": apps_without("rest_framework"), "REST_FRAMEWORK": None}))],
        django_guard=True,
    ),
    Case(
        "rest_framework.throttling",
        fails=[
            ("classes without rates", lambda: F(settings={"REST_FRAMEWORK": {
                **HEALTHY_SETTINGS["REST_FRAMEWORK"], "DEFAULT_THROTTLE_RATES": {}}}),
             [E("rest_framework.no_throttling", MEDIUM, "DEFAULT_THROTTLE_RATES")]),
            ("none at all", lambda: F(settings={"REST_FRAMEWORK": None}),
             [E("rest_framework.no_throttling", MEDIUM, "DEFAULT_THROTTLE_CLASSES")]),
        ],
        not_applies=[("DRF not installed", lambda: F(settings={
            "INSTALLED_APPS": apps_without("rest_framework"), "REST_FRAMEWORK": None}))],
        django_guard=True,
    ),
    Case(
        "rest_framework.pagination",
        fails=[("class without PAGE_SIZE", lambda: F(settings={"REST_FRAMEWORK": {
            **HEALTHY_SETTINGS["REST_FRAMEWORK"], "PAGE_SIZE": None}}),
            [E("rest_framework.no_pagination", LOW, "every row")])],
        not_applies=[("DRF not installed", lambda: F(settings={
            "INSTALLED_APPS": apps_without("rest_framework"), "REST_FRAMEWORK": None}))],
        django_guard=True,
    ),
    # 9. cache ----------------------------------------------------------------------------------
    Case(
        "cache.per_process_cache",
        fails=[("two local caches", lambda: F(settings={"CACHES": {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": ""},
            "shared": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://r:6379/2"},
            "pages": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/tmp/c"}}}),
            [E("cache.local", HIGH, "default: LocMemCache, pages: FileBasedCache", fix="redis", applies_from="staging",
               not_detail=("shared", "RedisCache"))])],
        passes=[("no CACHES (probe read none)", lambda: F(settings={"CACHES": None}))],
        not_applies=[
            # Django's default LocMem cache, and nothing in the project uses a cache: no finding
            ("default cache, not used", lambda: F(settings={
                "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": ""}},
                "COMPONENTS": components(cache=False)})),
        ],
        django_guard=True,
    ),
    # 10. Celery --------------------------------------------------------------------------------
    Case(
        "celery.broker",
        fails=[
            ("celery required, no broker", lambda: F(settings=NO_CELERY_SETTINGS, requirements=[
                REQ_DJANGO, {"name": "Celery", "specifier": ">=5.3", "installed": "5.4.0", "satisfied": True}]),
             [E("celery.no_broker", HIGH, "CELERY_BROKER_URL", fix="redis", applies_from="staging")]),
            ("CELERY_ settings, empty broker", lambda: F(settings={"CELERY_BROKER_URL": ""}),
             [E("celery.no_broker", HIGH, "CELERY_BROKER_URL", fix="redis", applies_from="staging")]),
        ],
        not_applies=[("no Celery at all", lambda: F(settings=NO_CELERY_SETTINGS)),
                     # celery in requirements, but neither the settings nor the code use it
                     ("Celery installed, not used", lambda: F(settings={**NO_CELERY_SETTINGS, "COMPONENTS": components(celery=False)},
                                                              requirements=[REQ_DJANGO, {"name": "celery", "specifier": "",
                                                                                         "installed": "5.4.0", "satisfied": True}]))],
        django_guard=True,
    ),
    Case(
        "celery.serializer",
        fails=[
            ("pickle serializer", lambda: F(settings={"CELERY_TASK_SERIALIZER": "pickle"}),
             [E("celery.pickle", HIGH, "pickle")]),
            ("pickle accepted", lambda: F(settings={"CELERY_ACCEPT_CONTENT": ["json", "pickle"]}),
             [E("celery.pickle", HIGH, "pickle")]),
        ],
        passes=[("serializer defaults", lambda: F(settings={"CELERY_TASK_SERIALIZER": None, "CELERY_ACCEPT_CONTENT": None}))],
        django_guard=True,
    ),
    Case(
        "celery.always_eager",
        fails=[("eager", lambda: F(settings={"CELERY_TASK_ALWAYS_EAGER": True}),
                [E("celery.eager", MEDIUM, "CELERY_TASK_ALWAYS_EAGER")])],
        passes=[("explicitly off", lambda: F(settings={"CELERY_TASK_ALWAYS_EAGER": False}))],
        django_guard=True,
    ),
    # 11. Channels ------------------------------------------------------------------------------
    Case(
        "channels.channel_layer",
        fails=[
            ("in memory", lambda: F(settings={"CHANNEL_LAYERS": {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}}),
             [E("channels.in_memory", HIGH, "default layer is InMemoryChannelLayer", "channels_redis", fix="redis",
                applies_from="staging")]),
            ("unset", lambda: F(settings={"CHANNEL_LAYERS": None}),
             [E("channels.in_memory", HIGH, "CHANNEL_LAYERS is not set", fix="redis", applies_from="staging")]),
        ],
        not_applies=[("channels not installed", lambda: F(settings={
            "INSTALLED_APPS": apps_without("channels", "daphne"), "CHANNEL_LAYERS": None}))],
        django_guard=True,
    ),
    Case(
        "channels.asgi_application",
        fails=[("unset", lambda: F(settings={"ASGI_APPLICATION": None}),
                [E("channels.no_asgi_application", HIGH, "ASGI_APPLICATION", applies_from="development")])],
        not_applies=[("channels not installed", lambda: F(settings={
            "INSTALLED_APPS": apps_without("channels", "daphne"), "ASGI_APPLICATION": None}))],
        django_guard=True,
    ),
    Case(
        "channels.asgi_server",
        fails=[
            ("none installed", lambda: F(probe={"packages": {"Django": "5.2", "daphne": None, "uvicorn": None}}),
             [E("channels.no_asgi_server", HIGH, "daphne, uvicorn, hypercorn", applies_from="staging")]),
            ("daphne installed, not in INSTALLED_APPS",
             lambda: F(settings={"INSTALLED_APPS": apps_without("daphne")}),
             [E("channels.daphne_disabled", LOW, "daphne 4.2", "INSTALLED_APPS", applies_from="development")]),
        ],
        passes=[("uvicorn only", lambda: F(settings={"INSTALLED_APPS": apps_without("daphne")},
                                           probe={"packages": {"Django": "5.2", "uvicorn": "0.30.0"}}))],
        not_applies=[("channels not installed", lambda: F(settings={"INSTALLED_APPS": apps_without("channels", "daphne")},
                                                          probe={"packages": {"Django": "5.2"}}))],
        django_guard=True,
    ),
    # 12. API -----------------------------------------------------------------------------------
    Case(
        "api.url_config",
        fails=[("URLconf raises", lambda: F(probe={"urls": {"patterns": 0, "modules": [], "views": [], "error": {
            "type": "ImportError", "message": "cannot import name 'Foo'", "where": "shop/urls.py:3"}}}),
            [E("api.urls_error", HIGH, "ImportError: cannot import name 'Foo' at shop/urls.py:3",
               applies_from="development")])],
        not_applies=[("Django did not start: no URL facts", lambda: F(probe=REAL_SETTINGS_FAILED))],
    ),
    Case(
        "api.schema_messages",
        fails=[
            ("warnings and errors", lambda: F(messages=[
                message("drf_spectacular.W001", msg="/srv/app/backend/shop/views.py: Warning [ItemView]: could not resolve authenticator"),
                message("drf_spectacular.W001", msg="/srv/app/backend/bot/views.py: Warning [ChatView]: path parameter 'id'"),
                message("drf_spectacular.W001", msg="/srv/app/backend/bot/views.py: Warning [HookView]: third one"),
                message("drf_spectacular.W001", msg="/srv/app/backend/shop/views.py: Warning [PayView]: fourth one"),
                message("drf_spectacular.E001", level="ERROR", msg='Schema generation threw exception "boom"'),
                message("security.W019")]),
             [E("api.schema_errors", HIGH, "1 drf_spectacular errors in 1 file(s)", 'Schema generation threw exception "boom"',
                django_ids=("drf_spectacular.E001",)),
              E("api.schema_warnings", MEDIUM, "4 drf_spectacular warnings in 2 file(s)",
                "Warning [ItemView]: could not resolve authenticator; Warning [ChatView]: path parameter 'id'; "
                "Warning [HookView]: third one", django_ids=("drf_spectacular.W001",),
                not_detail=("fourth one", "/srv/app/backend/shop/views.py"))]),
            ("warnings only", lambda: F(messages=[message("drf_spectacular.W001", msg="plain text, no file")]),
             [E("api.schema_warnings", MEDIUM, "1 drf_spectacular warnings in 1 file(s), e.g. plain text, no file",
                django_ids=("drf_spectacular.W001",))]),
        ],
        not_applies=[
            ("only Django's own messages", lambda: F(messages=[message("security.W019"), message("models.E001", "ERROR")])),
            ("Django did not start: no check facts", lambda: F(probe=REAL_SETTINGS_FAILED)),
        ],
    ),
    Case(
        "api.api_docs",
        fails=[("no schema view", lambda: F(probe={"urls": {"patterns": 3, "modules": ["shop.urls"], "views": [
            "shop.views.ItemView"], "error": None}}),
            [E("api.no_docs", LOW, "schema", applies_from="development")])],
        passes=[("DRF's SchemaView", lambda: F(probe={"urls": {"patterns": 1, "modules": [], "views": [
            "rest_framework.schemas.views.SchemaView"], "error": None}}))],
        not_applies=[
            ("DRF not installed", lambda: F(settings={"INSTALLED_APPS": apps_without("rest_framework", "drf_spectacular")},
                                            probe={"urls": {"patterns": 1, "modules": [], "views": [], "error": None}})),
            ("URLconf broken (api.urls_error says so)", lambda: F(probe={"urls": {
                "patterns": 0, "modules": [], "views": [], "error": {"type": "E", "message": "m", "where": "w"}}})),
        ],
        django_guard=True,
    ),
]

# 13. security: one flag each, all alike.
HSTS_OFF = "HSTS off (security.hsts says so)"
SECURITY_FLAGS = [
    # check, finding id, Django id, severity, failing settings, detail, passes, not_applies
    ("ssl_redirect", "security.ssl_redirect", "security.W008", CRITICAL, {"SECURE_SSL_REDIRECT": False},
     "SECURE_SSL_REDIRECT", [], []),
    ("hsts", "security.hsts", "security.W004", CRITICAL, {"SECURE_HSTS_SECONDS": 0}, "SECURE_HSTS_SECONDS",
     [("one hour", {"SECURE_HSTS_SECONDS": 3600})], []),
    ("hsts_subdomains", "security.hsts_subdomains", "security.W005", LOW, {"SECURE_HSTS_INCLUDE_SUBDOMAINS": False},
     "SECURE_HSTS_INCLUDE_SUBDOMAINS", [],
     [(HSTS_OFF, {"SECURE_HSTS_SECONDS": 0, "SECURE_HSTS_INCLUDE_SUBDOMAINS": False})]),
    ("hsts_preload", "security.hsts_preload", "security.W021", LOW, {"SECURE_HSTS_PRELOAD": None}, "SECURE_HSTS_PRELOAD",
     [], [(HSTS_OFF, {"SECURE_HSTS_SECONDS": None, "SECURE_HSTS_PRELOAD": False})]),
    ("session_cookie", "security.session_cookie_secure", "security.W012", HIGH, {"SESSION_COOKIE_SECURE": False},
     "SESSION_COOKIE_SECURE", [], []),
    ("csrf_cookie", "security.csrf_cookie_secure", "security.W016", HIGH, {"CSRF_COOKIE_SECURE": None},
     "CSRF_COOKIE_SECURE", [], []),
    ("nosniff", "security.content_type_nosniff", "security.W006", MEDIUM, {"SECURE_CONTENT_TYPE_NOSNIFF": False},
     "SECURE_CONTENT_TYPE_NOSNIFF", [("unset: Django's default is on", {"SECURE_CONTENT_TYPE_NOSNIFF": None})], []),
]
for _name, _id, _django_id, _severity, _settings, _detail, _passes, _not_applies in SECURITY_FLAGS:
    CASES.append(Case(
        f"security.{_name}",
        fails=[
            (f"{_detail} off", lambda s=_settings: F(settings=s),
             [E(_id, _severity, _detail, fix="security_flags")]),
            (f"{_detail} off, Django reported {_django_id}",
             lambda s=_settings, d=_django_id: F(settings=s, messages=[message(d), message("security.W019")]),
             [E(_id, _severity, _detail, fix="security_flags", django_ids=(_django_id,))]),
        ],
        passes=[(label, lambda s=s: F(settings=s)) for label, s in _passes],
        not_applies=[(label, lambda s=s: F(settings=s)) for label, s in _not_applies],
        django_guard=True,
    ))


# --- resolving the table ----------------------------------------------------------------------

MODULE_BY_NAME = {module.__name__.rsplit(".", 1)[-1]: module for module in MODULES}


def resolve(name):
    """'git.dirty_tree' -> (module, check function); security checks by their variable name."""
    module_name, check_name = name.split(".", 1)
    module = MODULE_BY_NAME[module_name]
    return module, getattr(module, check_name)


def area_of(module):
    return module.finding.keywords["area"]


def all_checks():
    return [(module, check) for module in MODULES for check in module.CHECKS]


def params(kind):
    out = []
    for case in CASES:
        module, check = resolve(case.check)
        if kind == "fails":
            out += [pytest.param(module, check, build, expected, id=f"{case.check}-{label}")
                    for label, build, expected in case.fails]
        elif kind == "passes":
            out += [pytest.param(check, build, id=f"{case.check}-{label}")
                    for label, build in [("healthy", make_facts), *case.passes]]
        elif kind == "not_applies":
            out += [pytest.param(check, build, id=f"{case.check}-{label}") for label, build in case.not_applies]
        elif kind == "django_guard" and case.django_guard:
            out += [pytest.param(check, build, id=f"{case.check}-{label}") for label, build, _ in case.fails]
        elif kind == "independent" and case.independent:
            out += [pytest.param(check, build, id=f"{case.check}-{label}") for label, build, _ in case.fails]
    return out


# --- the three cases of every check -----------------------------------------------------------


def test_every_check_has_a_case():
    covered = {resolve(case.check)[1] for case in CASES}
    missing = [f"{module.__name__}.{check.__name__}" for module, check in all_checks() if check not in covered]
    assert not missing, f"checks without a Case: {missing}"
    assert len(CASES) == len(covered), "a check has two Cases"
    for case in CASES:
        assert case.fails, case.check
        assert case.not_applies or case.django_guard or case.independent, f"{case.check}: no 'does not apply' facts"


def test_healthy_project_has_no_findings():
    assert run_checks(make_facts()) == []


@pytest.mark.parametrize("module, check, build, expected", params("fails"))
def test_check_fails(module, check, build, expected):
    assert_matches(check(build()), expected, area_of(module))


@pytest.mark.parametrize("check, build", params("passes"))
def test_check_passes(check, build):
    assert check(build()) == []


@pytest.mark.parametrize("check, build", params("not_applies"))
def test_check_does_not_apply(check, build):
    assert check(build()) == []


@pytest.mark.parametrize("check, build", params("django_guard"))
def test_check_does_not_apply_when_django_did_not_start(check, build):
    """The failing facts, except that the probe failed after reading the settings: nothing."""
    facts = build()
    assert check(facts), "the failing facts should fail before the probe error is added"
    facts.probe["error"] = PROBE_CRASH
    assert check(facts) == []


@pytest.mark.parametrize("check, build", params("independent"))
def test_check_still_applies_when_django_did_not_start(check, build):
    """Checks that never read the probe say the same when the settings do not import."""
    expected = check(build())
    facts = build()
    facts.probe = copy.deepcopy(REAL_SETTINGS_FAILED)
    assert expected and check(facts) == expected


@pytest.mark.parametrize("module, check", [pytest.param(m, c, id=f"{m.__name__.rsplit('.', 1)[-1]}.{c.__name__}")
                                           for m, c in all_checks()])
def test_settings_failure_leaves_only_settings_error(module, check):
    """The brief's settings failure (error + no settings), on every check."""
    findings = check(make_facts(probe=SETTINGS_FAILED))
    if check.__name__ == "settings_error":
        assert [f.id for f in findings] == ["django.settings_error"]
        assert "ValueError: boom (settings, at config/settings.py:3)" in findings[0].detail
    else:
        assert findings == []


@pytest.mark.parametrize("probe, ids", [
    pytest.param(SETTINGS_FAILED, ["django.settings_error"], id="settings-failed"),
    pytest.param(REAL_SETTINGS_FAILED, ["django.settings_error"], id="settings-failed-real-shape"),
    pytest.param({"error": {**SETTINGS_ERROR, "stage": "setup", "type": "AppRegistryNotReady"},
                  **{s: None for s in PROBE_SECTIONS}}, ["django.settings_error"], id="setup-failed"),
    pytest.param({"checks": {"messages": [], "silenced": 2, "error": {"type": "KeyError", "message": "'x'", "where": "a.py:1"}}},
                 ["django.checks_failed"], id="checks-crashed"),
    pytest.param({"database": {"configured": False}}, [], id="no-default-database"),
    pytest.param({"database": database(reachable=False, error="OperationalError: refused"),
                  "migrations": migrations(applied_known=False, db_error="OperationalError: refused",
                                           apps={"shop": {"applied": [], "unapplied": [], "on_disk": ["0001_initial"]}})},
                 ["database.unreachable"], id="database-down"),
    pytest.param({"static": {"enabled": False}}, [], id="staticfiles-not-installed"),
    pytest.param({"redis": [{"url": "redis://127.0.0.1:6379", "used_by": ["CELERY_BROKER_URL"], "reachable": False,
                             "error": "ConnectionRefusedError: refused"}]}, ["services.redis_unreachable"], id="redis-down"),
])
def test_degraded_probe_shapes(probe, ids):
    """Whole runs on shapes probe.py really produces: no check crashes, only the right ones speak."""
    assert [f.id for f in run_checks(make_facts(probe=probe))] == ids


# --- django_messages and the mapping ----------------------------------------------------------


@pytest.mark.parametrize("django_id", ["security.W019", "models.E001", "corsheaders.E013", "security.W001"])
def test_unmapped_django_id_becomes_its_own_finding(django_id):
    from remediation.checks.django_config import django_messages

    findings = django_messages(F(messages=[message(django_id, obj="shop.Item")]))
    assert [(f.id, f.django_ids, f.area) for f in findings] == [(django_id, (django_id,), "django")]
    assert findings[0].applies_from == ("production" if django_id.startswith("security.") else "development")
    assert "(shop.Item)" in findings[0].detail


@pytest.mark.parametrize("django_id", sorted(MAPPED_DJANGO_IDS) + ["drf_spectacular.W001", "drf_spectacular.W002",
                                                                   "drf_spectacular.E001"])
def test_mapped_and_schema_ids_are_not_django_messages(django_id):
    from remediation.checks.django_config import django_messages

    assert django_messages(F(messages=[message(django_id)])) == []


@pytest.mark.parametrize("django_id, finding_id", sorted(MAPPED_DJANGO_IDS.items()))
def test_mapped_ids_name_an_existing_finding(django_id, finding_id):
    """Every mapped Django id is carried by the dedicated check it names, once that check fails."""
    produced = {}
    for module, check, build, expected in _all_fail_params():
        for found in check(build()):
            produced.setdefault(found.id, set()).update(found.django_ids)
    assert finding_id in produced
    assert django_id in produced[finding_id]


# --- ids ----------------------------------------------------------------------------------------


def _all_fail_params():
    return [p.values for p in params("fails")]


def test_finding_ids_are_well_formed_and_owned_by_one_check():
    owner = {}  # finding id -> (module, check)
    for module, check, build, _ in _all_fail_params():
        for found in check(build()):
            assert ID_PATTERN.match(found.id), found.id
            assert found.area in AREA_TITLES
            assert found.area == area_of(module)
            owner.setdefault(found.id, set()).add((module.__name__, check.__name__))
    shared = {fid: sorted(owners) for fid, owners in owner.items() if len(owners) > 1}
    assert not shared, f"finding ids produced by more than one check: {shared}"
    by_module = {}
    for fid, owners in owner.items():
        (module_name, _), = owners
        by_module.setdefault(module_name, []).append(fid)
    assert len(by_module) == len(MODULES)
    assert len(owner) >= 60


def test_finding_ids_are_unique_within_a_run():
    """One project, every check failing at once: no id appears twice."""
    facts = F(
        settings={"DEBUG": True, "ALLOWED_HOSTS": [], "ENVIRONMENT": "dev", "SECURE_SSL_REDIRECT": False,
                  "SECURE_HSTS_SECONDS": 0, "SESSION_COOKIE_SECURE": False, "CSRF_COOKIE_SECURE": False,
                  "SECURE_CONTENT_TYPE_NOSNIFF": False, "CORS_ALLOWED_ORIGINS": [], "CACHES": {
                      "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
                  "CHANNEL_LAYERS": None, "REST_FRAMEWORK": None,
                  "CELERY_TASK_ALWAYS_EAGER": True, "CELERY_TASK_SERIALIZER": "pickle"},
        messages=[message("security.W019"), message("models.W042", obj="shop.Item"), message("security.W004"),
                  message("drf_spectacular.W001", msg="/a/views.py: Warning [X]: y")],
        probe={"database": SQLITE, "migrations": migrations(plan=["shop.0001_initial"], conflicts={"shop": ["a", "b"]}),
               **NO_EXTERNAL},
        git=git_facts(ahead=2, behind=1, dirty_files=3),
        node=node_facts(node_modules=False, build_output=None),
    )
    ids = [f.id for f in run_checks(facts)]
    assert len(ids) == len(set(ids)) >= 25
    assert "security.W019" in ids and "models.W042" in ids and "security.W004" not in ids


# --- verdicts, the CI gate, severities --------------------------------------------------------


def finding(severity, applies_from="production", id="x.y"):
    return Finding(id=id, severity=severity, area="git", title="t", detail="d", fix=MANUAL, applies_from=applies_from)


@pytest.mark.parametrize("findings, expected", [
    pytest.param([], (READY, READY, READY), id="none"),
    pytest.param([finding(INFO, "development"), finding(LOW, "development")], (READY, READY, READY), id="low-info-never"),
    pytest.param([finding(MEDIUM)], (READY, READY, PARTIAL), id="medium-production"),
    pytest.param([finding(MEDIUM, "staging")], (READY, PARTIAL, PARTIAL), id="medium-staging"),
    pytest.param([finding(MEDIUM, "development")], (PARTIAL, PARTIAL, PARTIAL), id="medium-development"),
    pytest.param([finding(HIGH)], (READY, READY, NOT_READY), id="high-production"),
    pytest.param([finding(HIGH, "staging")], (READY, PARTIAL, NOT_READY), id="high-staging"),
    pytest.param([finding(HIGH, "development")], (PARTIAL, PARTIAL, NOT_READY), id="high-development"),
    pytest.param([finding(CRITICAL)], (READY, READY, NOT_READY), id="critical-production"),
    pytest.param([finding(CRITICAL, "staging")], (READY, NOT_READY, NOT_READY), id="critical-staging"),
    pytest.param([finding(CRITICAL, "development")], (NOT_READY, NOT_READY, NOT_READY), id="critical-development"),
    pytest.param([finding(LOW, "development"), finding(MEDIUM, "staging"), finding(CRITICAL)],
                 (READY, PARTIAL, NOT_READY), id="worst-per-environment"),
    pytest.param([finding(CRITICAL), finding(MEDIUM, "development")], (PARTIAL, PARTIAL, NOT_READY), id="mixed"),
])
def test_verdict_for(findings, expected):
    verdict = verdict_for(findings)
    assert isinstance(verdict, Verdict)
    assert (verdict.development, verdict.staging, verdict.production) == expected
    assert verdict.to_dict() == dict(zip(ENVIRONMENTS, expected))


@pytest.mark.parametrize("severity", list(Severity), ids=str)
@pytest.mark.parametrize("fail_level", list(Severity), ids=lambda s: f"fail-{s}")
def test_blocked(severity, fail_level):
    for applies_from in ENVIRONMENTS:  # production comes last: every finding matters there
        assert blocked([finding(severity, applies_from)], fail_level) is (severity >= fail_level)
    assert blocked([finding(INFO), finding(severity, "staging")], fail_level) is (severity >= fail_level)


def test_blocked_without_findings():
    assert blocked([], Severity.INFO) is False


@pytest.mark.parametrize("applies_from, matters", [
    ("development", (True, True, True)), ("staging", (False, True, True)), ("production", (False, False, True))])
def test_matters_in(applies_from, matters):
    assert tuple(finding(HIGH, applies_from).matters_in(env) for env in ENVIRONMENTS) == matters


@pytest.mark.parametrize("name, severity", [("high", HIGH), (" Critical ", CRITICAL), ("INFO", INFO), ("low", LOW),
                                            ("medium", MEDIUM)])
def test_severity_parse(name, severity):
    assert Severity.parse(name) is severity
    assert str(severity) == name.strip().lower()


@pytest.mark.parametrize("name", ["severe", "", "hi", "error", "50"])
def test_severity_parse_rejects_unknown_names(name):
    with pytest.raises(ValueError, match="unknown severity") as info:
        Severity.parse(name)
    assert "info, low, medium, high, critical" in str(info.value)


def test_finding_to_dict():
    data = Finding(id="env.debug", severity=CRITICAL, area="env", title="t", detail="d", fix="env_file",
                   django_ids=("security.W018",), needs=("--domain",)).to_dict()
    assert data["severity"] == "critical" and data["django_ids"] == ["security.W018"] and data["needs"] == ["--domain"]


# --- known bugs -------------------------------------------------------------------------------


def test_environment_unset_everywhere_is_not_reported():
    from remediation.checks.environment import environment_name

    assert environment_name(F(settings={"ENVIRONMENT": None}, env={})) == []


def test_cors_origin_under_a_public_domain_named_localhost_is_public():
    from remediation.checks.django_config import cors

    facts = make_facts(settings={"CORS_ALLOWED_ORIGINS": ["https://localhost.example.com"]})
    assert cors(facts) == []
    local = make_facts(settings={"CORS_ALLOWED_ORIGINS": ["http://localhost:3000", "http://[::1]:8000"]})
    assert [f.id for f in cors(local)] == ["django.cors_local"]


def test_read_variables_rows_classify_every_variable_the_settings_read():
    from remediation.checks.integrations import read_variables

    reads = environ("STRIPE_SECRET_KEY", "SITE_URL", "DB_PASSWORD", set=["LOG_LEVEL", "PUBLIC_URL"],
                    defaults={"SITE_URL": "http://localhost:8000", "STRIPE_SECRET_KEY": "****"})["environ"]["read"]
    rows = read_variables(reads, {"PUBLIC_URL": "http://127.0.0.1:3000", "LOG_LEVEL": "INFO"})
    assert [(r["name"], r["set"], r["secret"], r["local"], r["service"]) for r in rows] == [
        ("STRIPE_SECRET_KEY", False, True, False, "stripe"),
        ("SITE_URL", False, False, True, None),
        ("DB_PASSWORD", False, True, False, None),
        ("LOG_LEVEL", True, False, False, None),
        ("PUBLIC_URL", True, False, True, None),
    ]
    assert rows[0]["default"] == "****" and rows[0]["where"] == "config/settings.py:10"
    assert read_variables(None, {}) is None
