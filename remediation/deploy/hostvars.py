"""A host's deploy settings, from its inventory vars (Ansible's names where Ansible has one).

    deploy_to            the layout's root on the host (required)
    python               the host's interpreter for new venvs (default python3)
    app                  the app's name: services <app>-web, <app>-worker, <app>-beat (default: the project folder's name)
    app_user             the unprivileged user the services run as (default: app; never root)
    app_bind             where the app server listens (default 127.0.0.1:8000)
    process_manager      systemd or supervisor (default systemd)
    supervisorctl        supervisorctl's command line (default "supervisorctl")
    supervisor_conf_dir  where program files go (default /etc/supervisor/conf.d)
    health_path          the URL path that must answer 200 (default /)
    beat                 this host runs Celery beat (default: the first host deployed)
    migrate              this host runs the migrations (default: the first host deployed)
    pip_args             extra pip arguments for new venvs (e.g. "--no-index --find-links /srv/wheels")
    env_file             the production env file (default DEPLOY_TO/shared/.env)
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field

from ..inventory import Host, Vaulted
from ..inventory.vaulted import NEED_SECRETS
from ..runner import UsageError
from .layout import Layout


def truthy(value) -> bool | None:
    if value is None:
        return None
    return value is True or str(value).strip().lower() in ("true", "yes", "1", "on")


def words(value, default: list[str]) -> list[str]:
    if value is None:
        return list(default)
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else shlex.split(str(value))


@dataclass
class HostConfig:
    name: str
    deploy_to: str
    python: str = "python3"
    app: str = "app"
    app_user: str = "app"
    app_bind: str = "127.0.0.1:8000"
    process_manager: str = "systemd"
    supervisorctl: list[str] = field(default_factory=lambda: ["supervisorctl"])
    supervisor_conf_dir: str = "/etc/supervisor/conf.d"
    health_path: str = "/"
    beat: bool | None = None
    migrate: bool | None = None
    pip_args: list[str] = field(default_factory=list)
    env_file: str = ""

    @property
    def layout(self) -> Layout:
        return Layout(self.deploy_to)

    @property
    def health_url(self) -> str:
        return f"http://{self.app_bind}{self.health_path}"


def host_config(host: Host, app_default: str) -> HostConfig:
    v = host.vars
    for key in ("deploy_to", "python", "app", "app_user", "app_bind", "process_manager", "supervisorctl",
                "supervisor_conf_dir", "health_path", "beat", "migrate", "pip_args", "env_file"):
        if isinstance(v.get(key), Vaulted):
            raise UsageError(f"{host.name}: {key} is vault-encrypted: {NEED_SECRETS} to decrypt it")
    deploy_to = v.get("deploy_to")
    if not deploy_to or not str(deploy_to).startswith("/"):
        raise UsageError(f"{host.name}: set the host var deploy_to (an absolute path: where releases go)")
    deploy_to = posixpath.normpath(str(deploy_to))
    app = str(v.get("app") or app_default)
    config = HostConfig(
        name=host.name, deploy_to=deploy_to, python=str(v.get("python") or "python3"), app=app,
        app_user=str(v.get("app_user") or app), app_bind=str(v.get("app_bind") or "127.0.0.1:8000"),
        process_manager=str(v.get("process_manager") or "systemd"),
        supervisorctl=words(v.get("supervisorctl"), ["supervisorctl"]),
        supervisor_conf_dir=str(v.get("supervisor_conf_dir") or "/etc/supervisor/conf.d"),
        health_path="/" + str(v.get("health_path") or "/").lstrip("/"),
        beat=truthy(v.get("beat")), migrate=truthy(v.get("migrate")),
        pip_args=words(v.get("pip_args"), []),
        env_file=str(v.get("env_file") or Layout(deploy_to).env_file),
    )
    if config.process_manager not in ("systemd", "supervisor"):
        raise UsageError(f"{host.name}: process_manager must be systemd or supervisor, not {config.process_manager!r}")
    if config.app_user == "root":
        raise UsageError(f"{host.name}: app_user is root; the app must run as an unprivileged user")
    return config


def choose(configs: list[HostConfig], attribute: str) -> str:
    """The one host that migrates (or runs beat): the one whose var says so, else the first."""
    chosen = [c.name for c in configs if getattr(c, attribute)]
    if len(chosen) > 1:
        raise UsageError(f"more than one host has {attribute}=true ({', '.join(chosen)}): exactly one may")
    return chosen[0] if chosen else configs[0].name
