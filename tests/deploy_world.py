"""A world to deploy into, made of real parts: the demo project as a git repository with a bare
origin, a PostgreSQL database and a Redis db of its own, and per host a DEPLOY_TO folder holding the
production env (0600, owned by the unprivileged app user) and a real supervisord of its own (its
unix socket and conf.d in the host's folder), with the app on a free loopback port.

Hosts are local (``ansible_connection: local``) or real sshd hosts (tests/sshd.py). New venvs are
installed from the wheel cache of tests/demo_venv.py (``--no-index --find-links``), never from the
index.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from conftest import copy_demo, git, invoke, make_git_repo

APP_USER = "remediation-app"
# The hosts' interpreter for new venvs: the system's, as on a server (the app user must be able to
# run it; the test venv's lives under /root, which only root may enter).
HOST_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
DOMAIN = "thebot.example.com"
SECRETS = {"SECRET_KEY": "PLANTED-deploy-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
           "DB_PASSWORD": "PLANTED-db-pass-0123", "EMAIL_HOST_PASSWORD": "PLANTED-smtp-pass-0123",
           "TELEGRAM_BOT_TOKEN": "123456789:PLANTEDtelegramTOKEN0123456789",
           "OPENROUTER_API_KEY": "sk-or-v1-PLANTEDopenrouter0123", "YOOKASSA_SECRET_KEY": "live_PLANTEDyookassa0123"}


def app_user() -> tuple[int, int]:
    """The unprivileged user the deployed services run as (created once on the test machine)."""
    try:
        entry = pwd.getpwnam(APP_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", APP_USER],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(APP_USER)
    return entry.pw_uid, entry.pw_gid


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(database: str, redis_db: int, role: str) -> str:
    from urllib.parse import quote

    password = quote(SECRETS["DB_PASSWORD"], safe="")
    values = {
        "DEBUG": "False", "ENVIRONMENT": "production", "SECRET_KEY": SECRETS["SECRET_KEY"],
        "ALLOWED_HOSTS": DOMAIN, "CSRF_TRUSTED_ORIGINS": f"https://{DOMAIN}",
        "CORS_ALLOWED_ORIGINS": f"https://{DOMAIN}", "FRONTEND_URL": f"https://{DOMAIN}",
        "DATABASE_URL": f"postgres://{role}:{password}@127.0.0.1:5432/{database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}", "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "USE_REDIS_CACHE": "True", "USE_REDIS_CHANNELS": "True",
        "TELEGRAM_BOT_TOKEN": SECRETS["TELEGRAM_BOT_TOKEN"], "OPENROUTER_API_KEY": SECRETS["OPENROUTER_API_KEY"],
        "YOOKASSA_SHOP_ID": "506751", "YOOKASSA_SECRET_KEY": SECRETS["YOOKASSA_SECRET_KEY"],
        "EMAIL_HOST": "smtp.example.com", "EMAIL_HOST_USER": "bot@example.com",
        "EMAIL_HOST_PASSWORD": SECRETS["EMAIL_HOST_PASSWORD"],
    }
    return "".join(f"{key}={value}\n" for key, value in values.items())


SUPERVISORD_CONF = """[unix_http_server]
file={root}/supervisor.sock
[supervisord]
logfile={root}/supervisord.log
pidfile={root}/supervisord.pid
childlogdir={root}
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://{root}/supervisor.sock
[include]
files = {root}/conf.d/*.conf
"""


@dataclass
class DeployHost:
    name: str
    root: Path  # the host's own folder: deploy_to, supervisord
    port: int
    ssh: object = None  # an SshdHost, or None for a local host
    supervisord: subprocess.Popen | None = None

    @property
    def deploy_to(self) -> Path:
        return self.root / "srv"

    @property
    def conf(self) -> Path:
        return self.root / "supervisor" / "supervisord.conf"

    def start_supervisord(self) -> None:
        folder = self.conf.parent
        (folder / "conf.d").mkdir(parents=True, exist_ok=True)
        self.conf.write_text(SUPERVISORD_CONF.format(root=folder))
        self.supervisord = subprocess.Popen(["supervisord", "-n", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 15
        while not (folder / "supervisor.sock").exists():
            if time.monotonic() > deadline or self.supervisord.poll() is not None:
                raise RuntimeError(f"supervisord did not start: {(folder / 'supervisord.log').read_text()[-500:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.supervisord and self.supervisord.poll() is None:
            subprocess.run(["supervisorctl", "-c", str(self.conf), "stop", "all"], capture_output=True, timeout=60)
            os.killpg(self.supervisord.pid, signal.SIGTERM)
            try:
                self.supervisord.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.supervisord.pid, signal.SIGKILL)

    def vars(self, wheels: str) -> dict:
        found = {
            "deploy_to": str(self.deploy_to), "python": HOST_PYTHON, "app": "thebot", "app_user": APP_USER,
            "app_bind": f"127.0.0.1:{self.port}", "process_manager": "supervisor",
            "supervisorctl": f"supervisorctl -c {self.conf}", "supervisor_conf_dir": str(self.conf.parent / "conf.d"),
            "health_path": "/api/health/", "pip_args": f"--no-index --find-links {wheels}",
        }
        if self.ssh is None:
            found["ansible_connection"] = "local"
        else:
            found.update(address=self.ssh.address, port=self.ssh.port, user=self.ssh.user, key=str(self.ssh.client_key))
        return found

    def url(self, path: str = "/api/health/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@dataclass
class World:
    root: Path
    project: Path
    database: str
    role: str
    redis_db: int
    wheels: str
    hosts: list[DeployHost] = field(default_factory=list)

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yml"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    def add_host(self, name: str, ssh=None) -> DeployHost:
        host = DeployHost(name, self.root / "hosts" / name, free_port(), ssh)
        shared = host.deploy_to / "shared"
        shared.mkdir(parents=True)
        env = shared / ".env"
        env.write_text(production_env(self.database, self.redis_db, self.role))
        uid, gid = app_user()
        os.chown(env, uid, gid)
        env.chmod(0o600)
        host.start_supervisord()
        self.hosts.append(host)
        self.write_inventory()
        return host

    def write_inventory(self, **extra) -> None:
        hosts = {h.name: {**h.vars(self.wheels), **extra.get(h.name, {})} for h in self.hosts}
        self.inventory.write_text(yaml.safe_dump({"hosts": hosts}))
        self.known_hosts.write_text("".join(h.ssh.known_hosts_line + "\n" for h in self.hosts if h.ssh))

    def deploy(self, *args: str, timeout: float = 600):
        return invoke("deploy", "-i", str(self.inventory), "--project", str(self.project), "--frontend", "skip",
                      "--known-hosts", str(self.known_hosts), *args, timeout=timeout)

    def tool(self, command: str, *args: str, timeout: float = 300):
        return invoke(command, "-i", str(self.inventory), "--known-hosts", str(self.known_hosts), *args,
                      timeout=timeout)

    def commit(self, message: str, files: dict[str, str], push: bool = True) -> str:
        for relative, text in files.items():
            path = self.project / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.project, "add", "-A")
        git(self.project, "commit", "-q", "-m", message)
        if push:
            git(self.project, "push", "-q", "origin", "main")
        return git(self.project, "rev-parse", "HEAD")

    def close(self) -> None:
        for host in self.hosts:
            host.stop()


def world_root(prefix: str) -> Path:
    """A folder the app user may enter (pytest's tmp folders are under /tmp/pytest-of-root, mode 0700)."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix=f"remediation-{prefix}-", dir="/tmp"))
    root.chmod(0o755)
    return root


def make_world(tmp_path: Path, database: str, wheels: str) -> World:
    """The demo in git (pushed), a PostgreSQL role owning ``database``, no hosts yet."""
    import psycopg

    project = copy_demo(tmp_path / "thebot")
    make_git_repo(project, remote=tmp_path / "origin.git")
    role = f"deploy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname="postgres", host="127.0.0.1", user="postgres", autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRETS['DB_PASSWORD']}'")
        admin.execute(f'ALTER DATABASE "{database}" OWNER TO {role}')
    return World(tmp_path, project, database, role, redis_db=int(uuid.uuid4().int % 10) + 1, wheels=wheels)


def drop_role(role: str) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", host="127.0.0.1", user="postgres", autocommit=True) as admin:
        admin.execute(f"DROP ROLE IF EXISTS {role}")


def cleanup_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def scratch_world(prefix: str):
    """``make_world`` with a PostgreSQL database of its own, all of it removed afterwards: for
    scripts without pytest's fixtures (bench/). Hosts are added by the caller."""
    import psycopg

    import demo_venv

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(dbname="postgres", host="127.0.0.1", user="postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    made = None
    try:
        made = make_world(world_root(prefix), name, str(demo_venv.wheel_cache()))
        yield made
    finally:
        if made is not None:
            made.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if made is not None:
            drop_role(made.role)
            cleanup_tree(made.root)
        admin.close()
