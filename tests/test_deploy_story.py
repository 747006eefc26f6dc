"""Deploying the demo, release after release, to a real host: the bundled demo (strict settings) as
a git repository, real PostgreSQL and Redis, a real supervisord running gunicorn (uvicorn workers),
a Celery worker and beat as an unprivileged user, and real HTTP requests at the app.

One world per module, one story in order (each test starts from where the previous one left the
host): building the release's venv costs ~30 s, once. The tests run on one xdist worker
(``xdist_group``; pytest runs with ``--dist loadgroup``).
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from conftest import git
from deploy_world import DOMAIN, SECRETS, cleanup_tree, drop_role, make_world, world_root

pytestmark = pytest.mark.xdist_group("deploy-story")

HEADERS = {"Host": DOMAIN, "X-Forwarded-Proto": "https", "Connection": "close"}


@pytest.fixture(scope="module")
def world(tmp_path_factory, demo_python):
    import psycopg

    import demo_venv

    name = f"deploy_story_{int(time.time() * 1000) % 10**9}"
    admin = psycopg.connect(dbname="postgres", host="127.0.0.1", user="postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    made = make_world(world_root("story"), name, str(demo_venv.wheel_cache()))
    made.add_host("web1")
    try:
        yield made
    finally:
        made.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        drop_role(made.role)
        admin.close()
        cleanup_tree(made.root)


def get(host, path="/api/health/"):
    return httpx.get(host.url(path), headers=HEADERS, timeout=10)


def assert_no_secrets(text: str) -> None:
    from urllib.parse import quote

    for value in SECRETS.values():
        for form in {value, quote(value, safe=""), json.dumps(value)[1:-1]}:
            assert form not in text


def current(host) -> str:
    return (host.deploy_to / "current").resolve().name


def listing(root) -> list:
    return sorted((str(p.relative_to(root)), "dir" if p.is_dir() else "file") for p in root.rglob("*"))


def releases_dir(host) -> list[str]:
    return sorted(p.name for p in (host.deploy_to / "releases").iterdir())


class Load:
    """Steady requests (keep-alive off) in a thread: every answer that is not a 200 is a failure."""

    def __init__(self, host, per_second: float = 20):
        self.host, self.interval = host, 1 / per_second
        self.ok, self.failed, self.stop = 0, [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                status = get(self.host).status_code
                if status == 200:
                    self.ok += 1
                else:
                    self.failed.append(status)
            except httpx.HTTPError as exc:
                self.failed.append(type(exc).__name__)
            time.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)


def test_check_plans_and_changes_nothing(world):
    host = world.hosts[0]
    before = listing(host.deploy_to)
    run = world.deploy("--check")
    assert run.returncode == 0, run.output
    assert "DEPLOY CHECK RECAP" in run.output and "plan: release" in run.output
    assert "migrations: contenttypes.0001_initial" in run.output
    assert listing(host.deploy_to) == before == [("shared", "dir"), ("shared/.env", "file")]
    assert_no_secrets(run.output)


def test_first_deploy_serves_the_release_as_the_app_user(world):
    host = world.hosts[0]
    run = world.deploy()
    assert run.returncode == 0, run.output
    assert_no_secrets(run.output)
    assert "release " in run.output and "is live" in run.output
    answer = get(host)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
    rid = current(host)
    assert releases_dir(host) == [rid]
    record = json.loads((host.deploy_to / "releases" / rid / ".release.json").read_text())
    assert record["status"] == "ok" and record["commit"] == git(world.project, "rev-parse", "HEAD")
    # the app really runs as the unprivileged user, never root
    out = world.tool("releases", "--format", "json")
    rows = json.loads(out.stdout)["web1"]
    assert [(r["id"], r["state"]) for r in rows] == [(rid, "current")]


def test_second_deploy_reuses_the_venv_with_zero_failed_requests(world):
    host = world.hosts[0]
    before = current(host)
    world.commit("a nullable column", {
        "backend/materials/migrations/0099_material_note.py": NULLABLE_FIELD})
    with Load(host) as load:
        run = world.deploy("--format", "json")
        time.sleep(1)
    assert run.returncode == 0, run.output
    report = json.loads(run.stdout)
    steps = {s["step"]: s for s in report["hosts"][0]["steps"]}
    assert steps["venv"]["detail"].startswith("reused ")
    assert steps["migrate"]["detail"] == "applied 1 migration(s)"
    assert load.failed == [] and load.ok > 20
    assert current(host) != before
    assert len(list((host.deploy_to / "venvs").iterdir())) == 1


def test_unsafe_migration_is_refused_before_any_change(world):
    host = world.hosts[0]
    before, listed = current(host), releases_dir(host)
    world.commit("drop the column again", {
        "backend/materials/migrations/0100_remove_material_note.py": REMOVE_FIELD})
    run = world.deploy()
    assert run.returncode == 1, run.output
    assert "refused" in run.output and "0100_remove_material_note" in run.output
    assert "--allow-unsafe-migrations" in run.output
    assert current(host) == before and releases_dir(host) == listed
    assert get(host).status_code == 200
    git(world.project, "reset", "-q", "--hard", "HEAD~1")
    git(world.project, "push", "-q", "-f", "origin", "main")


def test_a_release_that_cannot_boot_is_rolled_back(world):
    host = world.hosts[0]
    before = current(host)
    # asgi.py is imported by the app server only: the audit cannot see this, the health check does
    world.commit("broken import", {"backend/config/asgi.py": (world.project / "backend/config/asgi.py").read_text()
                                   + "\nimport no_such_module_for_the_test  # noqa\n"})
    run = world.deploy()
    assert run.returncode == 1, run.output
    assert "rolled back to " + before in run.output
    assert "no_such_module_for_the_test" in run.output
    assert current(host) == before
    assert get(host).status_code == 200
    rows = json.loads(world.tool("releases", "--format", "json").stdout)["web1"]
    assert rows[0]["state"] == "failed" and rows[1]["state"] == "current"
    git(world.project, "reset", "-q", "--hard", "HEAD~1")
    git(world.project, "push", "-q", "-f", "origin", "main")


def test_a_release_the_audit_blocks_is_refused_naming_the_blockers(world):
    host = world.hosts[0]
    before, listed = current(host), releases_dir(host)
    world.commit("broken urls", {"backend/config/urls.py": (world.project / "backend/config/urls.py").read_text()
                                 + "\nimport no_such_module_for_the_test  # noqa\n"})
    run = world.deploy()
    assert run.returncode == 1, run.output
    assert "production is blocked by the audit of this release: django.checks_failed (high)" in run.output
    assert "stopped before any change" in run.output
    assert current(host) == before and releases_dir(host) == listed
    git(world.project, "reset", "-q", "--hard", "HEAD~1")
    git(world.project, "push", "-q", "-f", "origin", "main")


def test_rollback_refuses_a_release_that_lacks_applied_migrations_then_restores_the_database(world):
    import psycopg

    host = world.hosts[0]
    rows = json.loads(world.tool("releases", "--format", "json").stdout)["web1"]
    live = next(r for r in rows if r["state"] == "current")
    previous = next(r["id"] for r in rows if r["state"] == "previous")
    refused = world.tool("rollback", "--release")
    assert refused.returncode == 1, refused.output
    assert "does not know 1 applied migration(s) (materials.0099_material_note)" in refused.output
    assert current(host) == live["id"]
    run = world.tool("rollback", "--release", "--database", "--yes")
    assert run.returncode == 0, run.output
    assert_no_secrets(run.output)
    assert current(host) == previous
    assert get(host).status_code == 200
    with psycopg.connect(dbname=world.database, host="127.0.0.1", user="postgres") as db:
        columns = [r[0] for r in db.execute("SELECT column_name FROM information_schema.columns "
                                            "WHERE table_name = 'materials_material'")]
        applied = db.execute("SELECT count(*) FROM django_migrations WHERE name = '0099_material_note'").fetchone()
    assert "note" not in columns and applied == (0,)


def test_rollback_with_no_previous_good_release_changes_nothing(world):
    host = world.hosts[0]
    before = current(host)
    rows = json.loads(world.tool("releases", "--format", "json").stdout)["web1"]
    if any(r["state"] == "previous" for r in rows):
        pytest.fail(f"the story should have left no previous good release: {rows}")
    run = world.tool("rollback", "--release")
    assert run.returncode == 1, run.output
    assert "no previous good release to roll back to" in run.output
    assert current(host) == before


NULLABLE_FIELD = '''from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("materials", "0001_initial")]
    operations = [migrations.AddField("material", "note", models.TextField(null=True, blank=True))]
'''

REMOVE_FIELD = '''from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("materials", "0099_material_note")]
    operations = [migrations.RemoveField("material", "note")]
'''
