"""Facts: everything known about one project, gathered once, before any check runs.

The Django facts come from the probe (one process in the project's interpreter); the files
around it (env file, requirements, compose files, front end) come from hostfacts, read on the
project's host; git and Docker locally through GitPython and the docker command, in threads
while Django starts, remotely through hostfacts. Checks read these and nothing else, so they
stay pure and cheap to test.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement

from . import hostfacts
from .compose import compose_service
from .envparse import parse_env
from .masking import mask_url, safe_value, secret_values, strip_userinfo
from .transport import Local, Transport, TransportError


class ProjectError(Exception):
    """Bad input about the project itself: reported in one line, exit status 2."""


# --- locating the project ---------------------------------------------------------------------


def find_manage_dir(project: Path) -> Path:
    """The folder holding manage.py: the project itself or one level down (THE_BOT's backend/)."""
    found, error = hostfacts.find_manage_dir(str(project))
    if error:
        raise ProjectError(error)
    return Path(found)


# --- the env file -------------------------------------------------------------------------


@dataclass
class EnvFile:
    path: Path | None
    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    present: bool = False  # the file exists on its host, or is fix-prod's env as it will be written
    lines: dict[str, int] = field(default_factory=dict)  # key -> line of its (last) binding: SARIF locations

    @property
    def exists(self) -> bool:
        return self.present

    def get(self, key: str) -> str:
        return self.values.get(key) or ""

    def to_dict(self) -> dict:
        return {
            "path": str(self.path) if self.path else None,
            "exists": self.exists,
            "values": {k: safe_value(k, v) for k, v in self.values.items()},
            "errors": self.errors,
        }


def parse_env_text(path: Path | None, text: str | None) -> EnvFile:
    """Parse with python-dotenv's own parser, so that a bad line is reported by number."""
    env = EnvFile(path, present=text is not None)
    if text is None:
        return env
    for binding in parse_env(text):  # python-dotenv's bindings, fast for plain lines (remediation/envparse.py)
        if binding.error:
            env.errors.append(f"{path}:{binding.line}: cannot parse this line")
        elif binding.key is not None:
            env.values[binding.key] = binding.value or ""
            env.lines[binding.key] = binding.line
    return env


# --- git --------------------------------------------------------------------------------------


@dataclass
class GitFacts:
    is_repo: bool = False
    root: str | None = None
    branch: str | None = None
    head: str | None = None
    dirty_files: int = 0  # changed or untracked, not counting the tool's own files
    tool_files: int = 0  # fix-prod's own files (.env.production, .remediation/, its settings overlay)
    upstream: str | None = None
    ahead: int | None = None
    behind: int | None = None
    remote: str | None = None
    remote_url: str | None = None
    error: str | None = None


def read_git(root: Path) -> GitFacts:
    import git

    facts = GitFacts()
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return facts
    except Exception as exc:
        facts.error = f"{type(exc).__name__}: {exc}"
        return facts
    facts.is_repo = True
    facts.root = repo.working_tree_dir
    try:
        facts.head = repo.head.commit.hexsha if repo.head.is_valid() else None
        status = repo.git.status("--porcelain", "-z", "-uall", "--", str(root), strip_newline_in_stdout=False)
        facts.dirty_files, facts.tool_files = hostfacts.dirty_counts(status, repo.working_tree_dir)
        if repo.head.is_detached:
            return facts
        branch = repo.active_branch
        facts.branch = branch.name
        tracking = branch.tracking_branch()
        remote_name = tracking.remote_name if tracking else ("origin" if "origin" in repo.remotes else None)
        if remote_name is None and repo.remotes:
            remote_name = repo.remotes[0].name
        if remote_name:
            facts.remote = remote_name
            facts.remote_url = strip_userinfo(repo.remotes[remote_name].url)
        if tracking is not None and tracking.is_valid() and facts.head:
            facts.upstream = tracking.name
            facts.ahead = int(repo.git.rev_list("--count", f"{tracking.name}..HEAD"))
            facts.behind = int(repo.git.rev_list("--count", f"HEAD..{tracking.name}"))
    except Exception as exc:
        facts.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return facts


# --- Docker and compose files -----------------------------------------------------------------


@dataclass
class ServiceFacts:
    docker_engine: bool = False
    docker_error: str | None = None
    compose_files: list[str] = field(default_factory=list)
    compose_services: dict = field(default_factory=dict)


def read_services(compose: dict[str, str | None], docker: dict) -> ServiceFacts:
    facts = ServiceFacts(docker_engine=docker["engine"], docker_error=docker["error"], compose_files=sorted(compose))
    for name, text in sorted(compose.items()):
        try:
            document = yaml.safe_load(text or "") or {}
        except yaml.YAMLError as exc:
            facts.compose_services[name] = {"error": type(exc).__name__}
            continue
        services = document.get("services") if isinstance(document, dict) else None
        facts.compose_services[name] = {
            str(service): compose_service(str(service), spec)
            for service, spec in (services if isinstance(services, dict) else {}).items()
            if isinstance(spec, dict)
        }
    return facts


# --- requirements -----------------------------------------------------------------------------


def requirement_places(texts: dict[str, str | None]) -> dict[str, tuple[str, int]]:
    """Each requirement's file (relative to the project root) and line, by lower-case name: SARIF locations."""
    places = {}
    for path, text in sorted(texts.items()):
        for number, raw in enumerate((text or "").splitlines(), 1):
            for requirement in parse_requirements(raw):
                places.setdefault(requirement.name.lower(), (path, number))
    return places


def parse_requirements(text: str) -> list[Requirement]:
    """requirements.txt lines as packaging Requirements; skips options, URLs and includes (read separately)."""
    requirements = []
    for raw in (text or "").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line or line.startswith("-"):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate():
            requirements.append(requirement)
    return requirements


# --- the front end --------------------------------------------------------------------------


@dataclass
class NodeFacts:
    package_json: str | None = None
    scripts: list[str] = field(default_factory=list)
    frameworks: list[str] = field(default_factory=list)
    node_modules: bool = False
    build_output: str | None = None


def read_node(found: dict | None) -> NodeFacts:
    import json

    facts = NodeFacts()
    if not found:
        return facts
    prefix = f"{found['folder']}/" if found["folder"] else ""
    facts.package_json = f"{prefix}package.json"
    try:
        package = json.loads(found["package_json"] or "{}")
    except ValueError:
        package = {}
    facts.scripts = sorted((package.get("scripts") or {}).keys())
    dependencies = {**(package.get("dependencies") or {}), **(package.get("devDependencies") or {})}
    facts.frameworks = [name for name in ("react", "vite", "vue", "svelte", "next") if name in dependencies]
    facts.node_modules = found["node_modules"]
    facts.build_output = f"{prefix}{found['build_output']}" if found["build_output"] else None
    return facts


# --- all together -----------------------------------------------------------------------------


@dataclass
class Facts:
    host: str
    root: Path
    manage_dir: Path
    python: str
    env: EnvFile
    probe: dict
    git: GitFacts
    services: ServiceFacts
    requirements: list[dict]
    requirement_files: list[str]
    node: NodeFacts
    secret_scan: dict | None = None  # remediation/secretscan: None when the scan did not run
    requirement_places: dict = field(default_factory=dict)  # name -> (file, line), not reported as a fact

    # Shortcuts into the probe's document, which checks read most.
    @property
    def probe_error(self) -> dict | None:
        return self.probe.get("error")

    @property
    def settings(self) -> dict:
        return self.probe.get("settings") or {}

    @property
    def checks(self) -> dict:
        return self.probe.get("checks") or {}

    @property
    def migrations(self) -> dict:
        return self.probe.get("migrations") or {}

    @property
    def database(self) -> dict:
        return self.probe.get("database") or {}

    @property
    def env_reads(self) -> dict | None:
        """The environment variables the project's settings read ({name: {default, where, set}}), as
        the probe recorded them; None when nothing was recorded, which means unknown, not "reads nothing"."""
        environ = self.probe.get("environ") or {}
        return environ.get("read") if environ.get("recorded") else None

    def secrets(self) -> set[str]:
        """Values that no output may contain: the env file's secrets and URL passwords."""
        return secret_values(self.env.values)

    def to_dict(self) -> dict:
        return {
            "host": self.host,
            "root": str(self.root),
            "manage_dir": str(self.manage_dir),
            "python": self.python,
            "env": self.env.to_dict(),
            "probe": self.probe,
            "git": asdict(self.git),
            "services": asdict(self.services),
            "requirements": self.requirements,
            "requirement_files": self.requirement_files,
            "node": asdict(self.node),
            "secret_scan": self.secret_scan,
        }


def default_python(transport: Transport, project=None) -> str:
    return transport.default_python(str(project) if project else None)


def collect(project, python: str, env_file: str | None, transport: Transport) -> dict:
    """The files around the project, read on its host in one round trip (remediation/hostfacts.py);
    with git and Docker too where GitPython cannot reach. ProjectError for a bad project or env file."""
    try:
        project = transport.project_path(project)
        env_file = transport.user_path(env_file, project) if env_file else None
        host = transport.collect_host(python, {"root": project, "env_file": env_file})
    except TransportError as exc:
        raise ProjectError(str(exc)) from None
    if host.get("error"):
        raise ProjectError(host["error"])
    return host


def gather(project, python: str | None = None, env_file: str | None = None, transport: Transport | None = None,
           env: EnvFile | None = None, fingerprint_key: str | None = None, host: dict | None = None) -> Facts:
    """Gather every fact about one project on one host; raises ProjectError for bad input.

    Two round trips at most: the files around the project (``collect``, skipped when ``host``
    already holds them), then the probe, which needs the env values. Locally, git (GitPython) and
    Docker are read in threads meanwhile. ``env`` replaces the env file: fix-prod probes the
    project under the env it plans to write.
    """
    transport = transport or Local()
    python = python or default_python(transport, project)
    host = host or collect(project, python, env_file, transport)
    root, manage_dir = Path(host["root"]), Path(host["manage_dir"])
    if env is None:
        env_path = host["env"]["path"]
        env = parse_env_text(Path(env_path) if env_path else None, host["env"]["text"])
    requirements = [r for text in host["requirements"].values() for r in parse_requirements(text)]
    config = {
        "manage_dir": str(manage_dir),
        "env": env.values,
        "packages": sorted({r.name for r in requirements} | {"Django", "daphne", "uvicorn", "hypercorn"}),
        "timeout": 3,
        "fingerprint_key": fingerprint_key,
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        probe_future = pool.submit(transport.run_probe, python, config)
        git_future = pool.submit(transport.git_facts, str(root), host)
        docker_future = pool.submit(transport.docker_facts, host)
        scan_future = pool.submit(secret_scan, transport, str(root), env.values)
        try:
            probe = probe_future.result()
        except TransportError as exc:
            raise ProjectError(str(exc)) from None
        git_facts = git_future.result()
        docker = docker_future.result()
        scanned = scan_future.result()
    installed = probe.get("packages") or {}
    return Facts(
        host=transport.name,
        root=root,
        manage_dir=manage_dir,
        python=python,
        env=env,
        probe=probe,
        git=git_facts,
        services=read_services(host["compose"], docker),
        requirements=[
            {
                "name": r.name,
                "specifier": str(r.specifier),
                "installed": installed.get(r.name),
                "satisfied": installed.get(r.name) is not None and r.specifier.contains(installed[r.name], prereleases=True),
            }
            for r in requirements
        ],
        requirement_files=sorted(host["requirements"]),
        node=read_node(host["node"]),
        secret_scan=scanned,
        requirement_places=requirement_places(host["requirements"]),
    )


def secret_scan(transport: Transport, root: str, env_values: dict) -> dict | None:
    """The committed-secret scan (remediation/secretscan), git run through the transport; None when
    turned off. Its own failures are its facts (state "error"), never the audit's."""
    from . import secretscan

    if not secretscan.enabled():
        return None
    try:
        return secretscan.scan(transport, root, secretscan.live_secrets(env_values))
    except Exception as exc:  # a fault of the scan is reported as its finding, never as the audit's traceback
        message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return {"state": "error", "error": f"{type(exc).__name__}: {message}".rstrip(": "), "hits": []}


def remote_git(found: dict) -> GitFacts:
    facts = GitFacts(**{k: v for k, v in found.items() if k in GitFacts.__dataclass_fields__})
    if facts.remote_url:
        facts.remote_url = strip_userinfo(facts.remote_url)
    return facts


__all__ = ["Facts", "ProjectError", "gather", "find_manage_dir", "parse_env_text", "mask_url"]
