"""The app's services on a host: systemd units or supervisord programs, one name scheme.

``<app>-web`` (gunicorn; uvicorn workers for an ASGI project), ``<app>-worker`` (Celery),
``<app>-beat`` (Celery beat, on one host). Their files are rendered from templates/deploy/ and
never change between releases: every command goes through ``DEPLOY_TO/current`` and the envexec
launcher (launcher.py), which pins the release a process starts with. The listening socket
belongs to the process manager (systemd socket activation; supervisord's fcgi-program), so a
restart never closes it. Control (restart, status) is in supervisor.py and systemd.py; this
module is the spec, the rendering and the install, and the one door for callers.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from . import launcher
from .layout import Layout
from .. import resources

TEMPLATES = resources.TEMPLATES / "deploy"
MANAGERS = ("systemd", "supervisor")
WEB_PROCESSES = 2  # supervisord: two gunicorn masters share the socket, restarted one at a time
GRACEFUL_SECONDS = 30  # gunicorn --graceful-timeout: requests in flight get this long on TERM
WEB_STOP_SECONDS = GRACEFUL_SECONDS + 10
WORKER_STOP_SECONDS = 600  # Celery's warm shutdown: running tasks get this long
START_SECONDS = 1  # supervisord startsecs; readiness is ours: RUNNING with its workers, all in the release (--preload: an import error ends the master at once)
ASGI_WORKER = "uvicorn_worker.UvicornWorker"
BEAT_SCHEDULE = "celerybeat-schedule"

# Values end up in unit files, supervisord confs and command lines: only plain characters, so no
# quoting, no %-specifier, no $-expansion and no line break can change what they mean.
PLAIN = r"[A-Za-z0-9_@+,.=-]+"
ABSOLUTE = re.compile(rf"^(?:/{PLAIN})+$")
RELATIVE = re.compile(rf"^{PLAIN}(?:/{PLAIN})*$")
CHECKS = {
    "app": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"),
    "user": re.compile(r"^[a-z_][a-z0-9_-]{0,31}$"),
    "group": re.compile(r"^[a-z_][a-z0-9_-]{0,31}$"),
    "app_module": re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"),
    "bind": re.compile(r"^[A-Za-z0-9.-]+:(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})$"),
}


class ServiceSpecError(ValueError):
    """A spec that cannot be rendered safely; the message is one line."""


class ServiceError(RuntimeError):
    """The process manager refused or failed a step; the message is one line."""


@dataclass
class ServiceSpec:
    app: str
    deploy_to: str
    user: str
    group: str
    manage_rel: str  # the manage.py folder inside a release ("backend"; "." for the release root)
    asgi: bool
    app_module: str  # "config.wsgi:application" or "config.asgi:application"
    bind: str = "127.0.0.1:8000"
    workers: int = 2  # per gunicorn master (supervisord runs two masters)
    celery_app: str | None = None  # `celery -A` target; None: the project has no Celery
    beat: bool = False  # this host runs Celery beat
    process_manager: str = "systemd"
    supervisorctl: list[str] = field(default_factory=lambda: ["supervisorctl"])
    supervisor_conf_dir: str = "/etc/supervisor/conf.d"
    systemd_unit_dir: str = "/etc/systemd/system"
    env_file: str = ""  # default DEPLOY_TO/shared/.env

    def __post_init__(self):
        self.deploy_to = str(self.deploy_to)
        self.deploy_to = self.deploy_to.rstrip("/") if self.deploy_to not in ("", "/") else self.deploy_to
        self.env_file = self.env_file or Layout(self.deploy_to).env_file
        self.manage_rel = (self.manage_rel or ".").strip("/") or "."
        self.supervisorctl = list(self.supervisorctl)
        for name in ("user", "group"):
            if getattr(self, name) in ("root", "0"):
                raise ServiceSpecError(f"{name} {getattr(self, name)!r}: services never run as root; set app_user to an unprivileged user")
        for name, pattern in CHECKS.items():
            if not isinstance(getattr(self, name), str) or not pattern.match(getattr(self, name)):
                raise ServiceSpecError(f"{name} {getattr(self, name)!r} is not valid for a service name, user, module or host:port")
        for name in ("deploy_to", "env_file", "supervisor_conf_dir", "systemd_unit_dir"):
            value = getattr(self, name)
            if not ABSOLUTE.match(value) or "/../" in value + "/" or "/./" in value + "/":
                raise ServiceSpecError(f"{name} {value!r}: an absolute path of plain characters (letters, digits, _@+,.=-) is required")
        if self.manage_rel != "." and (not RELATIVE.match(self.manage_rel) or ".." in self.manage_rel.split("/")):
            raise ServiceSpecError(f"manage_rel {self.manage_rel!r}: a folder inside the release is required")
        if self.celery_app is not None and not re.match(r"^[A-Za-z_][\w.]*$", self.celery_app):
            raise ServiceSpecError(f"celery_app {self.celery_app!r} is not a module name")
        if self.beat and self.celery_app is None:
            raise ServiceSpecError("beat is set but the project has no Celery app (celery_app)")
        if self.process_manager not in MANAGERS:
            raise ServiceSpecError(f"process_manager {self.process_manager!r}: one of {', '.join(MANAGERS)}")
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or not 1 <= self.workers <= 64:
            raise ServiceSpecError(f"workers {self.workers!r}: a whole number from 1 to 64")
        if not self.supervisorctl or not all(isinstance(part, str) and part for part in self.supervisorctl):
            raise ServiceSpecError("supervisorctl: a command (argv) is required")

    # --- names and paths: all from the layout, never guessed ----------------------------------
    @property
    def layout(self) -> Layout:
        return Layout(self.deploy_to)

    @property
    def services(self) -> list[str]:
        """The services this host runs, in restart order."""
        names = [f"{self.app}-web"]
        if self.celery_app:
            names.append(f"{self.app}-worker")
        if self.beat:
            names.append(f"{self.app}-beat")
        return names

    @property
    def python(self) -> str:
        return self.layout.current_python()

    @property
    def envexec(self) -> str:
        return posixpath.join(self.layout.bin, "envexec")

    @property
    def workdir(self) -> str:
        return self.layout.current if self.manage_rel == "." else posixpath.join(self.layout.current, self.manage_rel)

    @property
    def gunicorn_conf(self) -> str:
        return posixpath.join(self.layout.bin, "gunicorn.conf.py")

    @property
    def beat_dir(self) -> str:
        return posixpath.join(self.layout.shared, "beat")

    def command(self, service: str, manager: str) -> list[str]:
        """The argv of a service, behind the launcher (which reads the env file for supervisord)."""
        launch = [self.python, self.envexec, *([self.env_file] if manager == "supervisor" else []), "--", self.python, "-m"]
        if service == "web":
            bind = ["--bind", "fd://0"] if manager == "supervisor" else []  # systemd: LISTEN_FDS
            worker = ["--worker-class", ASGI_WORKER] if self.asgi else []
            # --preload: the master imports the app before it forks, so a release that cannot
            # import fails the master at once, and a forked worker is ready to accept.
            return [*launch, "gunicorn", "--config", self.gunicorn_conf, *bind, "--workers", str(self.workers), *worker, "--preload",
                    "--graceful-timeout", str(GRACEFUL_SECONDS), self.app_module]
        if service == "worker":
            return [*launch, "celery", "-A", self.celery_app, "worker", "--loglevel", "INFO"]
        return [*launch, "celery", "-A", self.celery_app, "beat", "--loglevel", "INFO",
                "--schedule", posixpath.join(self.beat_dir, BEAT_SCHEDULE)]


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)


def _context(spec: ServiceSpec) -> dict:
    layout = spec.layout
    under_home = any(spec.deploy_to.startswith(prefix) for prefix in ("/home/", "/root/", "/run/user/"))
    return {"app": spec.app, "bind": spec.bind, "user": spec.user, "group": spec.group, "asgi": spec.asgi,
            "deploy_to": spec.deploy_to, "workdir": spec.workdir, "env_file": spec.env_file,
            "envexec": spec.envexec, "log_dir": layout.logs, "web_stop_seconds": WEB_STOP_SECONDS,
            "worker_stop_seconds": WORKER_STOP_SECONDS, "startsecs": START_SECONDS,
            "protect_home": "read-only" if under_home else "yes", "writable": [layout.media, layout.logs]}


def render_systemd(spec: ServiceSpec) -> dict[str, str]:
    """Unit file name -> text: the web socket and service, the worker, beat where this host runs it."""
    environment, context = _environment(), _context(spec)
    units = {f"{spec.app}-web.socket": environment.get_template("systemd/web.socket.j2").render(context),
             f"{spec.app}-web.service": environment.get_template("systemd/web.service.j2").render(
                 context, command=" ".join(spec.command("web", "systemd")))}
    if spec.celery_app:
        units[f"{spec.app}-worker.service"] = environment.get_template("systemd/worker.service.j2").render(
            context, command=" ".join(spec.command("worker", "systemd")))
    if spec.beat:
        units[f"{spec.app}-beat.service"] = environment.get_template("systemd/beat.service.j2").render(
            context, command=" ".join(spec.command("beat", "systemd")),
            writable=[*context["writable"], spec.beat_dir])
    return units


def render_supervisor(spec: ServiceSpec) -> dict[str, str]:
    """``<app>.conf``: the web fcgi-program (two processes), the worker, beat where this host runs it."""
    def line(service: str) -> str:  # supervisord splits with shlex and expands %(...)s
        return shlex.join(spec.command(service, "supervisor")).replace("%", "%%")

    text = _environment().get_template("supervisor/app.conf.j2").render(
        _context(spec), web_command=line("web"),
        worker_command=line("worker") if spec.celery_app else "",
        beat_command=line("beat") if spec.beat else "")
    return {f"{spec.app}.conf": text}


def rendered_files(spec: ServiceSpec) -> dict[str, tuple[str, int]]:
    """Path on the host -> (text, mode) of every file ``install`` writes."""
    if spec.process_manager == "supervisor":
        files = {posixpath.join(spec.supervisor_conf_dir, name): (text, 0o644) for name, text in render_supervisor(spec).items()}
    else:
        files = {posixpath.join(spec.systemd_unit_dir, name): (text, 0o644) for name, text in render_systemd(spec).items()}
    files[spec.envexec] = (launcher.source(), 0o755)
    files[spec.gunicorn_conf] = (_environment().get_template("gunicorn.conf.py.j2").render(app=spec.app), 0o644)
    return files


def _manager(spec: ServiceSpec):
    from . import supervisor, systemd

    return supervisor if spec.process_manager == "supervisor" else systemd


def install(transport, spec: ServiceSpec) -> list[str]:
    """Write what differs (atomically), then have the process manager pick up only that.

    Returns the paths written or removed; a second run with the same spec changes nothing and
    touches no running program."""
    layout = spec.layout
    uid = transport.run(["id", "-u", spec.user], timeout=60)
    if uid.returncode != 0 or uid.stdout.strip() == "0":
        raise ServiceError(f"app user {spec.user!r}: " + ("has uid 0; services never run as root" if uid.returncode == 0
                                                           else "no such user on this host"))
    for folder in (layout.bin, layout.logs, layout.media):
        transport.makedirs(folder, 0o755)
    if spec.beat:
        transport.makedirs(spec.beat_dir, 0o750)
        done = transport.run(["chown", f"{spec.user}:{spec.group}", spec.beat_dir], timeout=60)
        if done.returncode != 0:
            raise ServiceError(f"chown {spec.beat_dir}: {(done.stderr.strip().splitlines() or ['failed'])[-1]}")
    files = rendered_files(spec)
    before = {path: transport.read_text(path) for path in files}
    changed = []
    for path, (text, mode) in files.items():
        if before[path] != text:
            transport.makedirs(posixpath.dirname(path), 0o755)
            transport.write_atomic(path, text, mode)
            changed.append(path)
    changed += _manager(spec).pick_up(transport, spec, before, changed)
    return changed


def restart(transport, spec: ServiceSpec, release_dir: str) -> list[dict]:
    """Restart every service so that it runs ``release_dir`` (where ``current`` points now);
    one ``{"service", "status": ok|failed|skipped, "seconds", "detail"}`` per service."""
    return _manager(spec).restart(transport, spec, release_dir)


def stop_start_restart(transport, spec: ServiceSpec, release_dir: str) -> list[dict]:
    """Stop everything, then start it: the baseline the zero-downtime restart is measured against."""
    return _manager(spec).stop_start(transport, spec, release_dir)


def status(transport, spec: ServiceSpec) -> dict:
    """Each service's state, pid and the release its processes run (for `invoke releases`)."""
    return _manager(spec).status(transport, spec)
