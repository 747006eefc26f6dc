"""The report reads like the hand-written one: the seed's rows per area with status and observed
detail (markdown, text, JSON), a checklist that ticks only what the facts prove, and project text
that is data, never rich markup."""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

from conftest import copy_demo, invoke, tree_digest
from factories import make_facts
from packaging.specifiers import SpecifierSet

from remediation import hostfacts
from remediation.checks import run_checks
from remediation.facts import read_services
from remediation.report.rows import area_rows


def rows_of(document: dict) -> dict[tuple[str, str], dict]:
    return {(area, row["component"]): row for area, rows in document["hosts"][0]["rows"].items() for row in rows}


def required(spec: str) -> str:
    return str(SpecifierSet(spec))


def seed_rows(project: Path, origin: Path, facts: dict) -> list[tuple[str, str, str, str]]:
    """Every row of the seed report's tables, as observed on the demo: (area, component, status, detail)."""
    version = metadata.version
    python = ".".join(map(str, sys.version_info[:3]))
    size = (project / "backend" / "db.sqlite3").stat().st_size / 1_000_000
    docker = hostfacts.docker()
    static = facts["probe"]["static"]
    return [
        # 1. Git status
        ("git", "Working Directory", "ok", "no uncommitted changes"),
        ("git", "Branch", "ok", "main"),
        ("git", "Unpushed Commits", "error", "3 commits not pushed to origin/main"),
        ("git", "Remote", "ok", f"origin: {origin}"),
        # The committed-secret scan (remediation/secretscan): the demo's .env is tracked, dev key and all.
        ("git", "Committed Secrets", "error", "4 commits and 71 files scanned: 1 live secret, 1 secret file, "
                                              "2 values in the tree"),
        # 2. Docker & services
        ("services", "Docker Engine", "ok" if docker["engine"] else "warning", "answers" if docker["engine"] else "not running"),
        ("services", "Docker Compose Files", "ok",
         "3: docker-compose.prod.yml, docker-compose.staging.yml, docker-compose.yml"),
        ("services", "PostgreSQL Config", "ok",
         "port 5433, database thebot_db, password auth (docker-compose.prod.yml, docker-compose.staging.yml, docker-compose.yml)"),
        ("services", "Redis Config", "ok", "no published port, password auth (docker-compose.prod.yml, "
                                           "docker-compose.staging.yml); port 6379, password auth (docker-compose.yml)"),
        ("services", "Redis redis://localhost:6379", "ok",
         "answers PING (used by REDIS_URL, CELERY_BROKER_URL, CELERY_RESULT_BACKEND)"),
        # 3. Environment variables (secrets as set / not set)
        ("env", ".env file", "ok", ".env"),
        ("env", "DEBUG", "error", "True"),
        ("env", "SECRET_KEY", "error", "set; 66 characters, 34 unique, django-insecure- prefix"),
        ("env", "ALLOWED_HOSTS", "error", "localhost,127.0.0.1,backend"),
        ("env", "ENVIRONMENT", "warning", "development"),
        ("env", "DATABASE_URL", "warning", "not set (settings default: empty)"),
        ("env", "REDIS_URL", "ok", "redis://localhost:6379/0"),
        ("env", "CELERY_BROKER_URL", "ok", "not set (settings default: redis://localhost:6379/0)"),
        ("env", "FRONTEND_URL", "ok", "not set (settings default: http://localhost:3000)"),
        ("env", "TELEGRAM_BOT_TOKEN", "error", "not set (empty)"),
        ("env", "OPENROUTER_API_KEY", "error", "not set (empty)"),
        ("env", "YOOKASSA_SHOP_ID", "error", "not set (empty)"),
        ("env", "YOOKASSA_SECRET_KEY", "error", "not set (empty)"),
        ("env", "EMAIL_HOST", "error", "not set (empty)"),
        ("env", "EMAIL_HOST_USER", "error", "not set (empty)"),
        ("env", "EMAIL_HOST_PASSWORD", "error", "not set (empty)"),
        # 4. Python dependencies
        ("python", "Python", "ok", python),
        ("python", "Django", "ok", f"{version('Django')} (required: {required('>=5.2,<6')})"),
        ("python", "djangorestframework", "ok", f"{version('djangorestframework')} (required: >=3.14)"),
        ("python", "celery", "ok", f"{version('celery')} (required: >=5.3)"),
        ("python", "redis", "ok", f"{version('redis')} (required: >=5)"),
        ("python", "PostgreSQL driver", "ok", f"psycopg2-binary {version('psycopg2-binary')} (required: >=2.9)"),
        ("python", "channels", "ok", f"{version('channels')} (required: >=4)"),
        ("python", "daphne", "ok", f"{version('daphne')} (required: >=4)"),
        # 5. Node.js dependencies
        ("node", "Node Modules", "warning", "node_modules missing"),
        ("node", "Frontend Framework", "ok", "react, vite"),
        ("node", "Build Scripts", "ok", "build, build:docker, dev, lint, preview, test"),
        # 6. Database configuration
        ("database", "DB Engine", "error", "django.db.backends.sqlite3 (sqlite)"),
        ("database", "Current DB", "ok", f"backend/db.sqlite3 ({size:.1f} MB): answers"),
        ("database", "Migration Status", "warning", "29 applied, 2 not applied (invoices.0004_remove_invoice_check_"
                                                    "invoice_amount_positive, invoices.0005_fix_enrollment_reference)"),
        ("database", "Test Database", "ok", ":memory:"),
        # 7. Django configuration
        ("django", "System Check (deploy)", "warning", "0 errors, 6 warnings"),
        ("django", "INSTALLED_APPS", "ok", "15 apps"),
        ("django", "Middleware", "ok", "8: CorsMiddleware, SecurityMiddleware, SessionMiddleware, CommonMiddleware, "
                                       "CsrfViewMiddleware, AuthenticationMiddleware, MessageMiddleware, "
                                       "XFrameOptionsMiddleware"),
        ("django", "CORS_ALLOWED_ORIGINS", "error", "http://localhost:3000, http://localhost:8000"),
        ("django", "Static Files", "warning", f"STATIC_ROOT: backend/staticfiles (does not exist; "
                                              f"{static['source_files']} files to collect)"),
        ("django", "Media Files", "warning", "MEDIA_ROOT: backend/media (FileSystemStorage)"),
        # 8. REST framework configuration
        ("rest_framework", "Default Authentication", "ok", "SessionAuthentication, TokenAuthentication"),
        ("rest_framework", "Permissions", "ok", "IsAuthenticated"),
        ("rest_framework", "Pagination", "ok", "PageNumberPagination, PAGE_SIZE=20"),
        ("rest_framework", "Throttling", "ok", "AnonRateThrottle, UserRateThrottle, ScopedRateThrottle; 11 rates"),
        ("rest_framework", "Throttle rate: anon", "ok", "50/hour"),
        ("rest_framework", "Throttle rate: user", "ok", "500/hour"),
        ("rest_framework", "Throttle rate: student", "ok", "1000/hour"),
        ("rest_framework", "Throttle rate: teacher", "ok", "2000/hour"),
        ("rest_framework", "Throttle rate: tutor", "ok", "2000/hour"),
        ("rest_framework", "Throttle rate: admin", "ok", "10000/hour"),
        ("rest_framework", "Throttle rate: burst", "ok", "10/second"),
        ("rest_framework", "Throttle rate: login", "ok", "5/minute"),
        ("rest_framework", "Throttle rate: upload", "ok", "30/hour"),
        ("rest_framework", "Throttle rate: payment", "ok", "20/hour"),
        ("rest_framework", "Throttle rate: webhook", "ok", "120/minute"),
        ("rest_framework", "Exception Handler", "ok", "config.exceptions.custom_exception_handler"),
        # 9. Caching & Redis
        ("cache", "Cache 'default'", "error", "LocMemCache, LOCATION thebot-default"),
        ("cache", "Cache 'dashboard'", "error", "LocMemCache, LOCATION thebot-dashboard"),
        ("cache", "Cache 'chat'", "error", "LocMemCache, LOCATION thebot-chat"),
        ("cache", "USE_REDIS_CACHE", "ok", "False"),
        # 10. Celery & task queue
        ("celery", "Celery App", "ok", "config.celery (config/celery.py)"),
        ("celery", "Broker", "ok", "redis://localhost:6379/0"),
        ("celery", "Result Backend", "ok", "redis://localhost:6379/0"),
        ("celery", "Task Serializer", "ok", "json (accepts json)"),
        ("celery", "Auto-discovery", "ok", "autodiscover_tasks() called"),
        # 11. Django Channels
        ("channels", "Channels", "ok", f"channels {version('channels')}"),
        ("channels", "ASGI Application", "ok", "config.asgi.application"),
        ("channels", "Daphne Server", "warning", f"daphne {version('daphne')}, not in INSTALLED_APPS"),
        ("channels", "Channel Layer 'default'", "error", "InMemoryChannelLayer"),
        ("channels", "USE_REDIS_CHANNELS", "ok", "False"),
        # 12. API endpoints
        ("api", "API Documentation", "warning", "SpectacularAPIView at /api/schema/, SpectacularSwaggerView at /api/docs/"),
        ("api", "URL Configuration", "ok", "5 modules: admin, accounts.urls, materials.urls, assignments.urls, invoices.urls"),
        ("api", "Root URLconf", "ok", "config.urls (APPEND_SLASH=False)"),
        # 13. Production security
        ("security", "SECURE_SSL_REDIRECT", "error", "False"),
        ("security", "SECURE_HSTS_SECONDS", "error", "0"),
        ("security", "SESSION_COOKIE_SECURE", "error", "False"),
        ("security", "CSRF_COOKIE_SECURE", "error", "False"),
        ("security", "X_FRAME_OPTIONS", "ok", "DENY"),
    ]


ICONS = {"ok": "✅", "warning": "⚠️", "error": "❌", "unknown": "unknown", "not used": "not used"}


def test_demo_report_has_every_seed_row_with_its_observed_value(git_demo, redis_server, tmp_path):
    run = invoke("audit", "--project", str(git_demo), "--format", "json")
    assert run.returncode == 1, run.stderr
    document = json.loads(run.stdout)
    rows = rows_of(document)
    expected = seed_rows(git_demo, tmp_path / "origin.git", document["hosts"][0]["facts"])
    for area, component, status, detail in expected:
        assert (area, component) in rows, f"{area}: no row {component!r}"
        assert (rows[area, component]["status"], rows[area, component]["detail"]) == (status, detail), component
    # A row's findings are the ids that decided its status, and those findings are in the report.
    ids = {f["id"] for f in document["hosts"][0]["findings"]}
    assert rows["git", "Unpushed Commits"]["findings"] == ["git.unpushed"]
    assert all(set(row["findings"]) <= ids for row in rows.values())

    markdown = invoke("audit", "--project", str(git_demo), "--format", "markdown")
    assert markdown.returncode == 1
    for _, component, status, detail in expected:
        assert f"| {component} | {ICONS[status]} | {detail.replace('|', chr(92) + '|')} |" in markdown.stdout
    # The rows come before the findings of their area.
    git_section = markdown.stdout.split("## 1. GIT STATUS", 1)[1].split("## 2.", 1)[0]
    assert git_section.index("| Unpushed Commits | ❌ |") < git_section.index("`git.unpushed`")

    text = invoke("audit", "--project", str(git_demo))
    assert text.returncode == 1
    for line in ("│ Unpushed Commits ", "3 commits not pushed to origin/main", "│ Throttle rate: burst ", "10/second",
                 "│ Exception Handler ", "config.exceptions.custom_exception_handler"):
        assert line in text.stdout


def test_checklist_ticks_only_what_the_facts_prove(demo):
    """Not a git repository: "push all commits" is not done (it was ticked before); rows say why."""
    run = invoke("audit", "--project", str(demo), "--format", "markdown")
    assert run.returncode == 1
    assert "- [ ] Push all commits to remote (git.not_repo, not a git repository)" in run.stdout
    assert "- [x] Push all commits" not in run.stdout
    assert "| Repository | ⚠️ | not a git repository |" in run.stdout
    assert "| Unpushed Commits | unknown | no repository |" in run.stdout


def raising_project(tmp_path: Path) -> Path:
    """A demo copy under a path with rich markup in it, whose settings raise with markup in the message."""
    project = copy_demo(tmp_path / "p[" / "]q")  # the path contains "[/]"
    settings = project / "backend" / "config" / "settings.py"
    settings.write_text(settings.read_text() + '\nraise RuntimeError("bad [/] [bold]x[/bold] [red] <b>|")\n')
    return project


def test_audit_text_prints_project_text_as_data(tmp_path):
    project = raising_project(tmp_path)
    before = tree_digest(project)
    for fmt in ("text", "markdown", "json"):
        run = invoke("audit", "--project", str(project), "--format", fmt)
        assert run.returncode == 1, run.output
        assert "Traceback" not in run.output and "MarkupError" not in run.output
        assert str(project) in run.stdout
    text = invoke("audit", "--project", str(project)).stdout
    assert f"Readiness of {project} on localhost" in text
    assert "RuntimeError: bad [/] [bold]x[/bold] [red] <b>|" in text
    markdown = invoke("audit", "--project", str(project), "--format", "markdown").stdout
    # In markdown a table cell holds it as data too: no HTML tag, the pipe escaped.
    assert "RuntimeError: bad [/] [bold]x[/bold] [red] &lt;b>\\| (settings, at config/settings.py:" in markdown
    # Nothing the settings would have said is claimed: the Django areas are unknown, the checklist unticked.
    assert "| Settings | unknown | settings did not import (RuntimeError) |" in markdown
    assert "| DEBUG | unknown | True |" in markdown
    assert "- [ ] Set DEBUG=False (unknown: the settings did not import)" in markdown
    assert "- [x]" not in markdown
    document = json.loads(invoke("audit", "--project", str(project), "--format", "json").stdout)
    statuses = {area: {row["status"] for row in rows} for area, rows in document["hosts"][0]["rows"].items()}
    for area in ("database", "django", "rest_framework", "cache", "celery", "channels", "api", "security"):
        assert statuses[area] == {"unknown"}, area
    assert tree_digest(project) == before


def test_fix_prod_text_prints_project_text_as_data(tmp_path):
    project = raising_project(tmp_path)
    before = tree_digest(project)
    check = invoke("fix-prod", "--project", str(project), "--domain", "thebot.example.com", "--check")
    assert check.returncode == 1, check.output
    assert "Traceback" not in check.output and "MarkupError" not in check.output
    assert f"fix-prod {project}" in check.stdout  # the rule line (rich shortens its end to the width)
    assert tree_digest(project) == before
    run = invoke("fix-prod", "--project", str(project), "--domain", "thebot.example.com")
    assert run.returncode == 1, run.output
    assert "Traceback" not in run.output and "MarkupError" not in run.output
    assert f"fix-prod {project}" in run.stdout
    assert "django.settings_error" in run.stdout


def test_compose_services_give_ports_databases_and_auth():
    compose = {
        "compose.yaml": """
services:
  db:
    image: docker.io/library/postgres:16
    environment: ["POSTGRES_DB=shop", "POSTGRES_PASSWORD=s3cret-planted"]
    ports: [{target: 5432, published: 15432}]
  gis:
    image: postgis/postgis:16-3.4
  mysql:
    image: mysql:8
    environment: {MYSQL_DATABASE: legacy}
  cache:
    image: redis:7
    command: ["redis-server", "--requirepass", "x"]
    ports: ["127.0.0.1:6380:6379"]
""",
        "broken.yml": "services: [unclosed",
    }
    facts = read_services(compose, {"engine": False, "error": "no docker"})
    services = facts.compose_services["compose.yaml"]
    assert services["db"] == {"image": "docker.io/library/postgres:16", "kind": "postgres", "ports": ["15432:5432"],
                              "databases": ["shop"], "password_auth": True}
    assert services["gis"]["kind"] == "postgres" and services["gis"]["ports"] == []
    assert services["mysql"]["databases"] == ["legacy"] and services["mysql"]["kind"] == "mysql"
    assert services["cache"]["ports"] == ["127.0.0.1:6380:6379"] and services["cache"]["password_auth"] is True
    assert facts.compose_services["broken.yml"] == {"error": "ParserError"}
    assert "s3cret-planted" not in json.dumps(facts.compose_services)
    rows = {r.component: r for r in area_rows(make_facts(services=facts).to_dict(), [])["services"]}
    assert rows["PostgreSQL Config"].detail == ("port 15432, database shop, password auth (compose.yaml); "
                                                "no published port (compose.yaml)")
    assert rows["MySQL Config"].detail == "no published port, database legacy (compose.yaml)"
    assert rows["Redis Config"].detail == "port 6380, password auth (compose.yaml)"


def test_components_not_used_say_so_without_a_finding():
    apps = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.staticfiles"]
    facts = make_facts(settings={"INSTALLED_APPS": apps, "REST_FRAMEWORK": None, "CHANNEL_LAYERS": None,
                                 "CELERY_BROKER_URL": None, "CELERY_TASK_SERIALIZER": None,
                                 "CELERY_ACCEPT_CONTENT": None, "ASGI_APPLICATION": None},
                       probe={"configuration": {"rest_framework": {"installed": False}, "celery": {"module": None}},
                              "packages": {"Django": "5.2", "celery": None, "channels": None, "daphne": None}})
    findings = run_checks(facts)
    rows = area_rows(facts.to_dict(), findings)
    assert [(r.component, r.status, r.detail) for r in rows["rest_framework"]] == [
        ("REST framework", "not used", "rest_framework not in INSTALLED_APPS")]
    assert [(r.component, r.status, r.detail) for r in rows["celery"]] == [
        ("Celery", "not used", "not installed and no Celery app")]
    assert [(r.component, r.status, r.detail) for r in rows["channels"]] == [
        ("Channels", "not used", "channels not in INSTALLED_APPS")]
    assert not [f for f in findings if f.area in ("rest_framework", "celery", "channels")]


def test_facts_never_gathered_are_unknown_not_ok():
    facts = make_facts(probe={"configuration": None, "packages": {}, "python": None})
    rows = area_rows(facts.to_dict(), run_checks(facts))
    by_name = {(area, r.component): r for area, area_list in rows.items() for r in area_list}
    assert by_name["python", "Python"].status == "unknown"
    assert by_name["python", "djangorestframework"].status == "unknown"
    assert by_name["rest_framework", "REST framework"].status == "unknown"
    assert by_name["celery", "Celery"].status == "unknown"


SHOP_SETTINGS = '''
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET", "k3y-" * 16)
DEBUG = os.getenv("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = ["shop.example.com"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.staticfiles"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ.get("DB_NAME", str(BASE_DIR / "db.sqlite3"))}}
ROOT_URLCONF = "shop.urls"
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
'''


def test_a_project_of_another_shape_says_not_used_and_lists_its_own_variables(tmp_path):
    """No DRF, no Celery app, no Channels, no CACHES; DB_* variables: rows say so, with no ❌ there."""
    project = tmp_path / "shop"
    (project / "shop").mkdir(parents=True)
    (project / "shop" / "__init__.py").write_text("")
    (project / "shop" / "settings.py").write_text(SHOP_SETTINGS)
    (project / "shop" / "urls.py").write_text("urlpatterns = []\n")
    (project / "manage.py").write_text(
        "import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n"
        "from django.core.management import execute_from_command_line\nexecute_from_command_line(sys.argv)\n")
    (project / ".env").write_text("DB_NAME=/nonexistent/shop.sqlite3\nDJANGO_DEBUG=0\n")
    run = invoke("audit", "--project", str(project), "--format", "json")
    assert run.returncode == 1, run.output
    document = json.loads(run.stdout)
    rows = document["hosts"][0]["rows"]
    simple = lambda area: [(r["component"], r["status"]) for r in rows[area]]  # noqa: E731
    assert simple("rest_framework") == [("REST framework", "not used")]
    assert simple("channels") == [("Channels", "not used")]
    assert simple("cache") == [("Cache", "not used")]
    assert [status for _, status in simple("celery")] == ["not used"]
    env = {r["component"]: r for r in rows["env"]}
    assert env["DB_NAME"]["detail"] == "/nonexistent/shop.sqlite3"
    assert env["DJANGO_DEBUG"]["detail"] == "0"
    assert env["DJANGO_SECRET"]["detail"].startswith("not set (settings default: ")
    assert not {"TELEGRAM_BOT_TOKEN", "DATABASE_URL", "REDIS_URL"} & set(env)  # the settings read none of them
    areas = {f["area"] for f in document["hosts"][0]["findings"]}
    assert not areas & {"rest_framework", "celery", "channels"}
