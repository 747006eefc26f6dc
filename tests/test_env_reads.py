"""The probe records every environment variable the project's settings read (the ENV READS contract).

Real settings modules in a temp project, run by the real probe in a real interpreter: plain
``os.environ[...]``, ``.get``, ``os.getenv``, ``in``, ``setdefault``, a helper function of the
project's own, django-environ's ``Env`` (imported by the settings, which captures ``os.environ`` at
import), and settings that raise half-way.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from remediation.facts import gather
from remediation.transport import Local

PLANTED_SECRET = "sk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PLANTED_DB_PASSWORD = "pg-Passw0rd-7731"

MANAGE = """\
import os, sys
if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_conf.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
"""

HELPERS = """\
import os


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).lower() in ("1", "true", "yes")
"""

PLAIN_SETTINGS = f"""\
import os
from pathlib import Path

from .helpers import env_bool

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = env_bool("DJANGO_DEBUG")
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")
SITE_URL = os.getenv("SITE_URL", "http://localhost:8000")
STRIPE_API_KEY = os.getenv("STRIPE_API_KEY", "{PLANTED_SECRET}")
BACKUP_URL = os.getenv("BACKUP_URL", "postgres://backup:{PLANTED_DB_PASSWORD}@db/backup")
USE_S3 = "AWS_STORAGE_BUCKET_NAME" in os.environ
os.environ.setdefault("TIME_ZONE_NAME", "UTC")
TIME_ZONE = os.environ["TIME_ZONE_NAME"]
SENTRY_DSN = os.environ.get("SENTRY_DSN")
PAGE_SIZE = os.environ.get("PAGE_SIZE", 25)
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}}}
ROOT_URLCONF = "site_conf.urls"
if os.environ.get("RAISE_AFTER_READS") == "yes":
    REQUIRED = os.environ["REQUIRED_LATE"]
"""

ENVIRON_SETTINGS = """\
from pathlib import Path

import environ

env = environ.Env(DEBUG=(bool, False))
BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = env("SECRET_KEY")
DEBUG = env("DEBUG")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost"])
FRONTEND_URL = env.str("FRONTEND_URL", default="http://localhost:5173")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
DATABASES = {"default": env.db("DATABASE_URL", default="sqlite:///" + str(BASE_DIR / "db.sqlite3"))}
ROOT_URLCONF = "site_conf.urls"
SENTRY_DSN = env("SENTRY_DSN")  # no default: raises ImproperlyConfigured when unset
"""


def make_project(root: Path, settings: str) -> Path:
    (root / "site_conf").mkdir(parents=True)
    (root / "manage.py").write_text(MANAGE)
    (root / "site_conf" / "__init__.py").write_text("")
    (root / "site_conf" / "helpers.py").write_text(HELPERS)
    (root / "site_conf" / "urls.py").write_text("urlpatterns = []\n")
    (root / "site_conf" / "settings.py").write_text(settings)
    return root


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def probe(root: Path, env: dict) -> dict:
    config = {"manage_dir": str(root), "env": env, "packages": [], "timeout": 3}
    return Local().run_probe(sys.executable, config)


def test_plain_os_environ_reads_are_recorded_with_default_place_and_set(tmp_path):
    root = make_project(tmp_path / "plain", PLAIN_SETTINGS)
    settings = root / "site_conf" / "settings.py"
    document = probe(root, {"DJANGO_SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "example.com", "SENTRY_DSN": ""})
    assert document["error"] is None
    environ = document["environ"]
    assert environ["recorded"] is True
    read = environ["read"]
    helper_line = line_of(root / "site_conf" / "helpers.py", "os.environ.get(name")
    assert read == {
        "DJANGO_SECRET_KEY": {"default": None, "where": f"site_conf/settings.py:{line_of(settings, 'DJANGO_SECRET_KEY')}", "set": True},
        # the helper is project code: the innermost project frame is the helper's line
        "DJANGO_DEBUG": {"default": "False", "where": f"site_conf/helpers.py:{helper_line}", "set": False},
        "ALLOWED_HOSTS": {"default": "localhost", "where": f"site_conf/settings.py:{line_of(settings, 'ALLOWED_HOSTS =')}", "set": True},
        "SITE_URL": {"default": "http://localhost:8000", "where": f"site_conf/settings.py:{line_of(settings, 'SITE_URL')}", "set": False},
        # a secret name: the default is masked
        "STRIPE_API_KEY": {"default": "****", "where": f"site_conf/settings.py:{line_of(settings, 'STRIPE_API_KEY')}", "set": False},
        # not a secret name, but the value holds a password: the URL keeps all but the password
        "BACKUP_URL": {"default": "postgres://backup:****@db/backup", "where": f"site_conf/settings.py:{line_of(settings, 'BACKUP_URL')}", "set": False},
        "AWS_STORAGE_BUCKET_NAME": {"default": None, "where": f"site_conf/settings.py:{line_of(settings, 'USE_S3')}", "set": False},
        "TIME_ZONE_NAME": {"default": "UTC", "where": f"site_conf/settings.py:{line_of(settings, 'setdefault')}", "set": False},
        # set, but empty: nothing the settings can use
        "SENTRY_DSN": {"default": None, "where": f"site_conf/settings.py:{line_of(settings, 'SENTRY_DSN =')}", "set": False},
        # a non-string default is reported as text
        "PAGE_SIZE": {"default": "25", "where": f"site_conf/settings.py:{line_of(settings, 'PAGE_SIZE')}", "set": False},
        "RAISE_AFTER_READS": {"default": None, "where": f"site_conf/settings.py:{line_of(settings, 'RAISE_AFTER_READS')}", "set": False},
    }
    # Django's own reads (DJANGO_SETTINGS_MODULE, ...) are not the project's
    assert "DJANGO_SETTINGS_MODULE" not in read
    text = json.dumps(document)
    assert PLANTED_SECRET not in text and PLANTED_DB_PASSWORD not in text


def test_reads_before_the_settings_raise_are_kept(tmp_path):
    root = make_project(tmp_path / "raises", PLAIN_SETTINGS)
    document = probe(root, {"DJANGO_SECRET_KEY": "x" * 50, "RAISE_AFTER_READS": "yes"})
    assert document["error"]["stage"] == "settings"
    assert document["error"]["type"] == "KeyError"
    read = document["environ"]["read"]
    assert document["environ"]["recorded"] is True
    assert read["RAISE_AFTER_READS"]["set"] is True
    assert read["REQUIRED_LATE"] == {
        "default": None,
        "where": f"site_conf/settings.py:{line_of(root / 'site_conf' / 'settings.py', 'REQUIRED_LATE')}",
        "set": False,
    }
    assert list(read)[:2] == ["DJANGO_SECRET_KEY", "DJANGO_DEBUG"]


def test_django_environ_reads_are_recorded_with_their_defaults(tmp_path):
    __import__("environ")  # django-environ is in the test extra: missing must fail, not skip
    root = make_project(tmp_path / "envproj", ENVIRON_SETTINGS)
    settings = root / "site_conf" / "settings.py"
    document = probe(root, {"SECRET_KEY": "y" * 50, "EMAIL_HOST_PASSWORD": PLANTED_SECRET})
    # SENTRY_DSN has no default and is unset: django-environ raises, the reads before are kept
    assert document["error"]["type"] == "ImproperlyConfigured"
    read = document["environ"]["read"]
    where = lambda text: f"site_conf/settings.py:{line_of(settings, text)}"  # noqa: E731
    assert read == {
        "SECRET_KEY": {"default": None, "where": where('SECRET_KEY = env("SECRET_KEY")'), "set": True},
        # the default declared in Env(DEBUG=(bool, False)) is the one django-environ used
        "DEBUG": {"default": "False", "where": where('DEBUG = env("DEBUG")'), "set": False},
        "ALLOWED_HOSTS": {"default": "['localhost']", "where": where("ALLOWED_HOSTS"), "set": False},
        "FRONTEND_URL": {"default": "http://localhost:5173", "where": where("FRONTEND_URL"), "set": False},
        "EMAIL_HOST_PASSWORD": {"default": "", "where": where("EMAIL_HOST_PASSWORD"), "set": True},
        "DATABASE_URL": {"default": "sqlite:///" + str(root / "db.sqlite3"), "where": where("DATABASE_URL"), "set": False},
        "SENTRY_DSN": {"default": None, "where": where("SENTRY_DSN"), "set": False},
    }
    assert PLANTED_SECRET not in json.dumps(document)


def test_facts_env_reads_is_the_read_dict_or_none_when_unrecorded(tmp_path):
    root = make_project(tmp_path / "facts", PLAIN_SETTINGS)
    (root / ".env").write_text("DJANGO_SECRET_KEY=" + "z" * 50 + "\nSITE_URL=https://shop.example.com\n")
    facts = gather(root, python=sys.executable)
    reads = facts.env_reads
    assert reads["SITE_URL"]["set"] is True and reads["DJANGO_DEBUG"]["set"] is False
    facts.probe = {**facts.probe, "environ": {"recorded": False, "read": {}}}
    assert facts.env_reads is None
    facts.probe = {k: v for k, v in facts.probe.items() if k != "environ"}
    assert facts.env_reads is None
