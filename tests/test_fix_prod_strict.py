"""fix-prod on settings that validate the production env on import, as real projects do (the
bundled demo is such a project): the planned env converges or nothing is written, and no status
comes from facts that were never gathered."""

from __future__ import annotations

import json
import subprocess

from conftest import invoke, tree_digest
from test_fix_prod import DOMAIN, SECRETS
from dotenv import dotenv_values

DECIDED_FROM_THE_PROBE = ("security_flags", "migrate", "copy_data", "collectstatic")


def fix_prod(project, *args, **kwargs):
    run = invoke("fix-prod", "--project", str(project), "--format", "json", *args, timeout=400, **kwargs)
    assert run.stdout.strip().startswith("{"), run.output
    return run, json.loads(run.stdout)["hosts"][0]


def fixes(host):
    return {f["name"]: f for f in host["fixes"]}


def states(host):
    return {f["id"]: f["status"] for f in host["findings"]}


def settings_line(project, text):
    lines = (project / "backend" / "config" / "settings.py").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def raise_in_production(project, exception: str) -> None:
    """The demo's production validation block raises ``exception`` first (naming no variable)."""
    settings = project / "backend" / "config" / "settings.py"
    head = "if not DEBUG:\n    from django.core.exceptions import ImproperlyConfigured\n"
    assert head in settings.read_text()
    settings.write_text(settings.read_text().replace(head, f"{head}\n    raise {exception}\n"))


def assert_stopped_closed(run, host):
    """Nothing applied: no fix claims changed or ok from a probe that failed, no finding fixed."""
    assert run.returncode == 1, run.output
    found = fixes(host)
    assert not [n for n, f in found.items() if f["status"] == "changed"], found
    for name in DECIDED_FROM_THE_PROBE:
        assert found[name]["status"] == "skipped", found[name]
        assert found[name]["message"] == "could not decide: the settings do not hold under the planned env"
    assert "fixed" not in states(host).values()
    assert host["changes"] == [] and host["run_id"] is None


def test_strict_demo_asks_for_the_database_and_writes_nothing(demo):
    before = tree_digest(demo)
    run, host = fix_prod(demo, "--domain", DOMAIN)
    assert_stopped_closed(run, host)
    converge = fixes(host)["settings_env"]
    line = settings_line(demo, "DATABASE_URL must be a PostgreSQL URL")
    assert converge == {
        "name": "settings_env", "status": "needs input", "repairs": [], "needs": ["DATABASE_URL"],
        "message": "the settings need DATABASE_URL under the production env (ImproperlyConfigured: DATABASE_URL must be "
                   f"a PostgreSQL URL in production at config/settings.py:{line}): supply it (--database-url, "
                   "--secrets FILE, the environment or a prompt); nothing written"}
    # FRONTEND_URL (read, left at http://localhost:3000) was planned from --domain by env_file; the probe names DATABASE_URL
    assert host["planned_probes"] == 1
    assert fixes(host)["secret_key"]["message"].endswith(": not applied, the settings do not hold under the planned env")
    assert tree_digest(demo) == before


def test_settings_that_raise_in_production_naming_no_variable(demo):
    raise_in_production(demo, "RuntimeError('production is not configured yet')")
    before = tree_digest(demo)
    run, host = fix_prod(demo, "--domain", DOMAIN, "--database-url", "postgres://u:PLANTEDpw@127.0.0.1:5432/thebot")
    assert_stopped_closed(run, host)
    line = settings_line(demo, "production is not configured yet")
    assert fixes(host)["settings_env"]["status"] == "failed"
    assert fixes(host)["settings_env"]["message"] == (
        "the settings raise under the production env and name no variable: RuntimeError: production is not configured "
        f"yet at config/settings.py:{line}; nothing written")
    assert host["planned_probes"] == 1
    assert tree_digest(demo) == before
    assert "PLANTEDpw" not in run.output


def test_a_check_error_under_the_planned_env_is_caught_in_planning(lenient_demo):
    """Any app's E id, quoted with its message, not its hint."""
    apps = lenient_demo / "backend" / "accounts" / "apps.py"
    apps.write_text(apps.read_text() + "\n    def ready(self):\n        from . import production_checks  # noqa: F401\n")
    (lenient_demo / "backend" / "accounts" / "production_checks.py").write_text(
        "from django.conf import settings\nfrom django.core.checks import Error, register\n\n\n@register()\n"
        "def smtp_in_production(app_configs, **kwargs):\n"
        "    if not settings.DEBUG and not settings.EMAIL_HOST:\n"
        "        return [Error('EMAIL_HOST is empty while DEBUG is False', hint='HINT-NOT-QUOTED', id='accounts.E042')]\n"
        "    return []\n")
    before = tree_digest(lenient_demo)
    run, host = fix_prod(lenient_demo, "--domain", DOMAIN)
    assert_stopped_closed(run, host)
    assert fixes(host)["settings_env"]["status"] == "failed"
    assert fixes(host)["settings_env"]["message"] == (
        "under the planned env Django's checks report accounts.E042: EMAIL_HOST is empty while DEBUG is False; nothing written")
    assert "HINT-NOT-QUOTED" not in run.output
    assert tree_digest(lenient_demo) == before


def test_secrets_file_supplies_any_key_the_settings_ask_for_and_unknown_keys_are_not_written(
        demo, postgres_db, redis_server, tmp_path):
    secrets = tmp_path / "secrets.env"
    url = f"postgres://postgres:PLANTEDstrictpw@127.0.0.1:5432/{postgres_db}"
    secrets.write_text("".join(f"{k}={v}\n" for k, v in {**SECRETS, "DATABASE_URL": url, "NOT_A_SETTING": "PLANTEDunknown"}.items()))
    checked, host = fix_prod(demo, "--domain", DOMAIN, "--secrets", str(secrets), "--check")
    assert host["planned_probes"] == 2  # DATABASE_URL named, then supplied: it imports
    assert fixes(host)["settings_env"]["status"] == "changed"
    assert fixes(host)["settings_env"]["message"] == "the settings import under the planned env; set DATABASE_URL (supplied)"
    assert host["notes"] == ["--secrets: NOT_A_SETTING not written: the settings do not read it"]
    assert not (demo / ".env.production").exists()
    run, host = fix_prod(demo, "--domain", DOMAIN, "--secrets", str(secrets))
    assert run.returncode == 0, run.output
    env = dotenv_values(demo / ".env.production")
    assert env["FRONTEND_URL"] == f"https://{DOMAIN}" and env["DATABASE_URL"] == url
    assert "NOT_A_SETTING" not in env
    assert host["headline"] is None
    assert "unknown" not in states(host).values()
    assert states(host)["env.debug"] == "fixed" and states(host)["database.sqlite"] == "fixed"
    for value in ("PLANTEDstrictpw", "PLANTEDunknown", SECRETS["EMAIL_HOST_PASSWORD"], env["SECRET_KEY"]):
        assert value not in checked.output + run.output
    again, host = fix_prod(demo, "--domain", DOMAIN, "--secrets", str(secrets))
    assert again.returncode == 0 and host["recap"]["changed"] == 0
    assert host["planned_probes"] == 0  # nothing left to plan: the env as written is the planned env


def test_text_report_names_the_settings_error_as_data(demo):
    raise_in_production(demo, "RuntimeError('[bold]not markup[/bold]')")
    run = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN)
    assert run.returncode == 1
    assert "RuntimeError: [bold]not markup[/bold] at config/settings.py:" in run.stdout
    assert "Traceback" not in run.output


def test_unknown_when_the_audit_after_cannot_import_the_settings():
    """The states of a run whose audit after raised: unknown, never fixed, from what was not seen."""
    from remediation.findings import Finding, Severity
    from remediation.fixprod import FixRun

    def finding(id_, fix="manual", needs=()):
        return Finding(id=id_, severity=Severity.HIGH, area=id_.split(".")[0], title=id_, detail="", fix=fix, needs=needs)

    error = {"stage": "settings", "type": "KeyError", "message": "'FRONTEND_URL'", "where": "config/settings.py:7"}
    run = FixRun(host="localhost", project="/p", check=False,
                 before=[finding("env.debug", "env_file"), finding("git.unpushed", "git_push"),
                         finding("security.hsts", "security_flags")],
                 after=[finding("django.settings_error"), finding("git.unpushed", "git_push")],
                 after_facts={"probe": {"error": error}})
    assert [(f.id, s) for f, s in run.finding_states()] == [
        ("env.debug", "unknown"), ("git.unpushed", "still open"), ("security.hsts", "unknown"),
        ("django.settings_error", "new")]
    assert run.headline == ("the settings do not import under the production env: KeyError: 'FRONTEND_URL' at "
                            "config/settings.py:7; findings that need them are unknown")
    run.after_facts = {"probe": {"error": None, "settings": {"DEBUG": False}}}
    assert [s for _, s in run.finding_states()][:3] == ["fixed", "still open", "fixed"]
    assert run.headline is None


def test_named_variable_reads_the_usual_messages():
    from remediation.fixes.settings_env import derive, named_variable

    def named(message):
        return named_variable({"message": message})

    assert named("'FRONTEND_URL'") == "FRONTEND_URL"  # os.environ["FRONTEND_URL"]
    assert named("Set the SENTRY_DSN environment variable") == "SENTRY_DSN"  # django-environ
    assert named("SITE_URL environment variable is required") == "SITE_URL"
    assert named("ENVIRONMENT must be 'production' when DEBUG is False") == "ENVIRONMENT"
    assert named("CORS_ALLOWED_ORIGINS contains localhost in production") == "CORS_ALLOWED_ORIGINS"
    assert named("production is not configured yet") is None
    assert named("'some key'") is None
    assert derive("FRONTEND_URL", "http://localhost:3000", ["a.example.com"]) == ("https://a.example.com", "from --domain")
    assert derive("CORS_ALLOWED_ORIGINS", "http://localhost:3000,https://a.example.com", []) == (
        "https://a.example.com", "local entries dropped")
    assert derive("SITE_URL", "", [])[0] is None
    assert derive("STRIPE_API_KEY", "", ["a.example.com"]) == (None, "only a person knows it")


def test_database_created_only_at_apply_time(demo, postgres_db, tmp_path):
    """Planning creates nothing: --check with --create-database leaves the server as it was."""
    url = f"postgres://remediation_strict:PLANTEDcreate@127.0.0.1:5432/{postgres_db}_strict"
    try:
        before = tree_digest(demo)
        checked, host = fix_prod(demo, "--domain", DOMAIN, "--database-url", url, "--create-database", "--check")
        assert fixes(host)["database"]["status"] == "changed"
        assert "create role and database" in fixes(host)["database"]["message"]
        assert fixes(host)["settings_env"]["status"] == "ok" and host["planned_probes"] == 1
        exists = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
                                 f"SELECT count(*) FROM pg_roles WHERE rolname = 'remediation_strict'"],
                                capture_output=True, text=True, check=True)
        assert exists.stdout.strip() == "0", "planning must not create the role"
        assert tree_digest(demo) == before
        assert "PLANTEDcreate" not in checked.output
    finally:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c",
                        f'DROP DATABASE IF EXISTS "{postgres_db}_strict" WITH (FORCE)', "-c",
                        "DROP ROLE IF EXISTS remediation_strict"], capture_output=True)


def test_never_writes_a_variable_the_settings_do_not_read(lenient_demo):
    settings = lenient_demo / "backend" / "config" / "settings.py"
    text = settings.read_text()
    text = text.replace('CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")', 'CSRF_TRUSTED_ORIGINS = ["https://fixed.example.com"]')
    text = text.replace('USE_REDIS_CHANNELS = env_bool("USE_REDIS_CHANNELS", not DEBUG)', "USE_REDIS_CHANNELS = not DEBUG")
    settings.write_text(text)
    checked, host = fix_prod(lenient_demo, "--domain", DOMAIN, "--check", "--diff")
    assert host["notes"] == ["CSRF_TRUSTED_ORIGINS not written (env_file): the settings do not read it",
                             "USE_REDIS_CHANNELS not written (redis): the settings do not read it"]
    assert fixes(host)["env_file"]["message"].endswith(
        "; not written, the settings do not read them: CSRF_TRUSTED_ORIGINS")
    assert fixes(host)["redis"]["status"] == "changed"
    diff = host["changes"][0]["diff"]
    assert "CSRF_TRUSTED_ORIGINS" not in diff and "USE_REDIS_CHANNELS" not in diff and "+USE_REDIS_CACHE=True" in diff
    run, host = fix_prod(lenient_demo, "--domain", DOMAIN)
    env = dotenv_values(lenient_demo / ".env.production")
    assert "CSRF_TRUSTED_ORIGINS" not in env and "USE_REDIS_CHANNELS" not in env
    assert env["USE_REDIS_CACHE"] == "True" and env["ALLOWED_HOSTS"] == DOMAIN
    assert states(host)["channels.in_memory"] == "fixed"  # the settings derive it from DEBUG


def test_the_settings_overlay_never_replaces_a_file_of_the_project(tmp_path):
    """config/settings/production.py is the project's own: the overlay goes beside it, importing it."""
    from remediation.fixes.security_flags import overlay_for

    def read_text(path):
        try:
            return open(path).read()
        except OSError:
            return None

    package = tmp_path / "config" / "settings"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "production.py").write_text("from .base import *\n")
    assert overlay_for("config.settings.production", str(tmp_path), read_text) == (
        "config.settings.production", "config.settings.production_hardened", str(package / "production_hardened.py"))
    assert overlay_for("config.settings", str(tmp_path), read_text)[1] == "config.settings.production_remediation"
    (tmp_path / "config" / "flat.py").write_text("X = 1\n")
    assert overlay_for("config.flat", str(tmp_path), read_text)[1:] == ("config.flat_production",
                                                                       str(tmp_path / "config" / "flat_production.py"))
    (tmp_path / "config" / "flat_production.py").write_text('"""written by django-remediation fix-prod"""\n'
                                                             "from config.flat import *\n")
    assert overlay_for("config.flat_production", str(tmp_path), read_text)[:2] == ("config.flat", "config.flat_production")


def test_a_production_env_that_does_not_import_yet_is_repaired_from_the_planned_facts(demo, postgres_db, redis_server,
                                                                                      tmp_path):
    """The audit before raises (the production env already says DEBUG=False): fixes that need
    Django's facts are planned again on the planned env's, never left at ``ok`` from nothing."""
    (demo / ".env.production").write_text((demo / ".env").read_text().replace("DEBUG=True", "DEBUG=False")
                                          .replace("ENVIRONMENT=development", "ENVIRONMENT=production"))
    secrets = tmp_path / "secrets.env"
    secrets.write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    url = f"postgres://postgres:PLANTEDbeforepw@127.0.0.1:5432/{postgres_db}"
    run, host = fix_prod(demo, "--domain", DOMAIN, "--database-url", url, "--secrets", str(secrets))
    found = fixes(host)
    assert found["external"]["status"] == "changed", found["external"]  # its findings exist only under the planned env
    assert found["database"]["status"] == "changed"
    # FRONTEND_URL was read (and left local) before the settings raised: env_file plans it from --domain
    assert found["settings_env"]["status"] == "ok"
    assert found["migrate"]["status"] == "changed" and found["security_flags"]["status"] == "ok"
    assert host["planned_probes"] == 2  # the planned env, then again once external had its facts
    assert states(host)["django.settings_error"] == "fixed"
    env = dotenv_values(demo / ".env.production")
    assert env["FRONTEND_URL"] == f"https://{DOMAIN}" and env["TELEGRAM_BOT_TOKEN"] == SECRETS["TELEGRAM_BOT_TOKEN"]
    assert run.returncode == 0, run.output
    assert "PLANTEDbeforepw" not in run.output
