"""Any Django project, not only THE_BOT: the second demo (tests/data/projects/shopfront) audited for
real, compose files below the root, and fix-prod's own files kept out of the dirty count.

shopfront differs from THE_BOT in every way the audit used to assume: DB_* variables instead of
DATABASE_URL, APP_ENV instead of ENVIRONMENT, SITE_URL instead of FRONTEND_URL, Stripe, Sentry and
S3 instead of Telegram, YooKassa and OpenRouter, no DRF, Celery, Channels or cache, manage.py at
the root and its compose file in docker/. The exact set of finding ids is asserted: each is true
of the project as it is, and nothing about THE_BOT's components shows up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import POSTGRES, git, invoke, make_git_repo, run_manage, tree_digest
from jinja2 import Environment, FileSystemLoader

from remediation import hostfacts
from remediation.facts import gather, read_git

REPO = Path(__file__).resolve().parent.parent
STRIPE_SECRET = "sk_live_PLANTEDstripe51Hx0123456789"
WEBHOOK_SECRET = "whsec_PLANTEDwebhook0123456789abc"
SENTRY_DSN = "https://PLANTEDsentrykey0123@o4501.ingest.sentry.io/4502"
PRODUCTION_SECRET_KEY = "Pq7-PLANTED-" + "x9Zr_4tLm2Vb8NcQw3Ej6Hu5Ya1Kd0Fg" * 2
PLANTED = (STRIPE_SECRET, WEBHOOK_SECRET, SENTRY_DSN, "PLANTEDsentrykey0123", PRODUCTION_SECRET_KEY)


def docker_engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def audit(project: Path, *args: str) -> tuple:
    run = invoke("audit", "--project", str(project), "--format", "json", *args)
    assert run.returncode in (0, 1), run.stderr
    return run, json.loads(run.stdout)["hosts"][0]


def production_env(database: str) -> dict:
    return {
        "APP_ENV": "production",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": PRODUCTION_SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "SITE_URL": "https://shop.example.com",
        "DB_ENGINE": "django.db.backends.postgresql",
        "DB_NAME": database,
        "DB_USER": POSTGRES["user"],
        "DB_HOST": POSTGRES["host"],
        "DB_PORT": str(POSTGRES["port"]),
        "STRIPE_SECRET_KEY": STRIPE_SECRET,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SENTRY_DSN": SENTRY_DSN,
    }


def test_development_state_gives_exactly_the_true_findings(other_demo, tmp_path):
    make_git_repo(other_demo, remote=tmp_path / "origin.git")
    before = tree_digest(other_demo)
    run, host = audit(other_demo)
    assert run.returncode == 1
    found = {f["id"]: f for f in host["findings"]}
    expected = {
        "env.debug", "env.secret_key", "env.allowed_hosts",
        "env.environment",  # APP_ENV=development (the settings' default is what they got)
        "env.database_url",  # DB_ENGINE and DB_NAME unset: SQLite
        "env.local_url",  # SITE_URL left at http://localhost:8000
        "external.stripe", "external.sentry",
        "database.sqlite", "django.static_not_collected", "django.media_local",
        "security.ssl_redirect", "security.hsts", "security.session_cookie_secure", "security.csrf_cookie_secure",
    } | ({"services.docker_unavailable"} if not docker_engine_answers() else set())
    assert set(found) == expected
    assert found["env.environment"]["detail"] == "APP_ENV=development"
    assert found["env.database_url"]["detail"] == "DB_ENGINE, DB_NAME unset, so the settings fall back to SQLite"
    assert found["env.local_url"]["detail"].startswith("SITE_URL=http://localhost:8000 (the default at shopfront/settings.py:")
    assert found["external.stripe"]["needs"] == ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]
    assert found["external.sentry"]["needs"] == ["SENTRY_DSN"]
    assert sorted(host["needs_input"]) == ["SENTRY_DSN", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]
    facts = host["facts"]
    # (e) the components it does not use are said to be unused, with no evidence
    assert facts["probe"]["settings"]["COMPONENTS"] == {
        name: {"used": False, "evidence": []} for name in ("cache", "celery", "channels", "rest_framework")}
    assert facts["services"]["compose_files"] == ["docker/docker-compose.yml"]
    reads = facts["probe"]["environ"]["read"]
    assert list(reads) == ["APP_ENV", "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "SITE_URL", "DB_ENGINE",
                           "DB_NAME", "TIME_ZONE", "STATIC_ROOT", "AWS_STORAGE_BUCKET_NAME", "STRIPE_SECRET_KEY",
                           "STRIPE_WEBHOOK_SECRET", "SENTRY_DSN"]
    assert reads["DJANGO_SECRET_KEY"] == {"default": None, "where": "shopfront/settings.py:23", "set": True}
    assert tree_digest(other_demo) == before
    assert git(other_demo, "status", "--porcelain") == ""


def test_production_state_gives_only_what_is_really_left(other_demo, tmp_path, postgres_db):
    """Configured for production (PostgreSQL migrated, static collected, every integration set):
    only local media storage is left; no cache, Celery, Channels, DRF or external finding."""
    env = production_env(postgres_db)
    (other_demo / ".env.production").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    for args in (("migrate", "--noinput", "-v0"), ("collectstatic", "--noinput", "-v0")):
        done = run_manage(other_demo, *args, env=env)
        assert done.returncode == 0, done.stderr
    make_git_repo(other_demo, remote=tmp_path / "origin.git")
    run, host = audit(other_demo, "--env-file", str(other_demo / ".env.production"))
    expected = {"django.media_local"} | ({"services.docker_unavailable"} if not docker_engine_answers() else set())
    assert {f["id"] for f in host["findings"]} == expected, [f["detail"] for f in host["findings"]]
    assert run.returncode == 0
    assert host["verdict"]["production"] == "partial"
    assert host["facts"]["probe"]["database"]["vendor"] == "postgresql"
    reads = host["facts"]["probe"]["environ"]["read"]
    assert {name for name, read in reads.items() if read["set"]} == set(env)
    # security flags read only when DEBUG is off
    assert "DJANGO_SECURE_SSL_REDIRECT" in reads and reads["DJANGO_SECURE_SSL_REDIRECT"]["set"] is False
    for secret in PLANTED:
        assert secret not in run.output


def test_settings_that_refuse_production_keep_the_reads_made_before(other_demo):
    env = {**production_env("shopfront"), "STRIPE_SECRET_KEY": "", "SENTRY_DSN": ""}
    (other_demo / ".env.production").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    facts = gather(other_demo, python=sys.executable, env_file=str(other_demo / ".env.production"))
    error = facts.probe_error
    assert error["type"] == "ImproperlyConfigured"
    assert error["message"] == ("STRIPE_SECRET_KEY environment variable is required in production; "
                                "SENTRY_DSN environment variable is required in production")
    reads = facts.env_reads
    assert reads["STRIPE_SECRET_KEY"]["set"] is False and reads["SENTRY_DSN"]["set"] is False
    assert reads["STRIPE_WEBHOOK_SECRET"]["set"] is True
    assert "DJANGO_SECURE_HSTS_SECONDS" in reads


def test_compose_files_are_found_below_the_root_within_two_folders(tmp_path):
    for relative in ("docker-compose.yml", "docker/docker-compose.prod.yml", "deploy/compose/compose.yaml",
                     "a/b/c/docker-compose.yml", "node_modules/pkg/docker-compose.yml", ".git/docker-compose.yml",
                     "venv/docker-compose.yml", "docker/notes.yml"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("services: {}\n")
    assert sorted(hostfacts.compose_files(str(tmp_path))) == [
        "deploy/compose/compose.yaml", "docker-compose.yml", "docker/docker-compose.prod.yml"]


def overlay_text(base_module: str) -> str:
    environment = Environment(loader=FileSystemLoader(str(REPO / "templates")), keep_trailing_newline=True)
    return environment.get_template("settings_production.py.j2").render(base_module=base_module)


def test_fix_prods_own_files_do_not_make_the_tree_dirty(other_demo, tmp_path):
    (other_demo / ".gitignore").write_text("db.sqlite3\n__pycache__/\n")  # nothing of the tool's ignored by the project
    make_git_repo(other_demo, remote=tmp_path / "origin.git")
    (other_demo / ".env.production").write_text("APP_ENV=production\n")
    (other_demo / ".remediation" / "runs" / "20260101-000000").mkdir(parents=True)
    (other_demo / ".remediation" / "runs" / "20260101-000000" / "env.bak").write_text("x\n")
    (other_demo / "shopfront" / "settings_production.py").write_text(overlay_text("shopfront.settings"))
    assert hostfacts.dirty_counts(git(other_demo, "status", "--porcelain", "-z", "-uall"), str(other_demo)) == (0, 3)
    local, remote = read_git(other_demo), hostfacts.git(str(other_demo))
    assert (local.dirty_files, local.tool_files) == (0, 3)
    assert (remote["dirty_files"], remote["tool_files"]) == (0, 3)
    # the project's own changes still count, including a *_production.py the tool did not write
    (other_demo / "shopfront" / "payments_production.py").write_text("STRIPE_LIVE = True\n")
    (other_demo / "catalog" / "views.py").write_text("# edited\n")
    local, remote = read_git(other_demo), hostfacts.git(str(other_demo))
    assert (local.dirty_files, local.tool_files) == (2, 3)
    assert (remote["dirty_files"], remote["tool_files"]) == (2, 3)
    _, host = audit(other_demo)
    assert "2 file(s)" in {f["id"]: f for f in host["findings"]}["git.dirty"]["detail"]


def test_a_cache_used_by_the_code_without_caches_is_found(other_demo):
    """No CACHES, but a view cached with cache_page: Django's default LocMem cache is in use, per process."""
    views = other_demo / "catalog" / "views.py"
    views.write_text(views.read_text().replace(
        "from django.shortcuts", "from django.views.decorators.cache import cache_page\nfrom django.shortcuts", 1
    ).replace("def product_list(", "@cache_page(60)\ndef product_list(", 1))
    facts = gather(other_demo, python=sys.executable)
    assert facts.settings["COMPONENTS"]["cache"] == {"used": True, "evidence": ["catalog/views.py uses the cache"]}
    from remediation.checks import cache

    found = cache.per_process_cache(facts)
    assert [f.id for f in found] == ["cache.local"] and found[0].detail.startswith("default: LocMemCache")
