"""Facts: everything known about one project, gathered once, before any check runs.

The Django facts come from the probe (one process in the project's interpreter); around it,
in parallel threads while Django starts, the env file, git, Docker, requirements and the
front end. Checks read these and nothing else, so they stay pure and cheap to test.
"""

from __future__ import annotations

import io
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml
from dotenv.parser import parse_stream
from packaging.requirements import InvalidRequirement, Requirement

from .probe import mask_url, safe_value, secret_values
from .transport import Local, Transport, TransportError


class ProjectError(Exception):
    """Bad input about the project itself: reported in one line, exit status 2."""


# --- locating the project ---------------------------------------------------------------------


def find_manage_dir(project: Path) -> Path:
    """The folder holding manage.py: the project itself or one level down (THE_BOT's backend/)."""
    if not project.exists():
        raise ProjectError(f"{project}: no such directory")
    if not project.is_dir():
        raise ProjectError(f"{project}: not a directory")
    if (project / "manage.py").is_file():
        return project
    found = sorted(p.parent for p in project.glob("*/manage.py"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise ProjectError(f"{project}: no manage.py here or one level down; is this a Django project?")
    names = ", ".join(str(p.relative_to(project)) for p in found)
    raise ProjectError(f"{project}: several manage.py one level down ({names}); name one with --project")


# --- the env file -------------------------------------------------------------------------


@dataclass
class EnvFile:
    path: Path | None
    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    planned: bool = False  # fix-prod's env as it will be written: counts as present

    @property
    def exists(self) -> bool:
        return self.planned or (self.path is not None and self.path.is_file())

    def get(self, key: str) -> str:
        return self.values.get(key) or ""

    def to_dict(self) -> dict:
        return {
            "path": str(self.path) if self.path else None,
            "exists": self.exists,
            "values": {k: safe_value(k, v) for k, v in self.values.items()},
            "errors": self.errors,
        }


def read_env_file(path: Path | None) -> EnvFile:
    """Parse with python-dotenv's own parser, so that a bad line is reported by number."""
    env = EnvFile(path)
    if path is None or not path.is_file():
        return env
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        env.errors.append(f"{path}: cannot read ({type(exc).__name__})")
        return env
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            env.errors.append(f"{path}:{binding.original.line}: cannot parse this line")
        elif binding.key is not None:
            env.values[binding.key] = binding.value or ""
    return env


def locate_env_file(root: Path, manage_dir: Path, env_file: str | None) -> Path | None:
    if env_file:
        path = Path(env_file).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.is_file():
            raise ProjectError(f"{path}: env file not found")
        return path
    for folder in (root, manage_dir):
        if (folder / ".env").is_file():
            return folder / ".env"
    return None


# --- git --------------------------------------------------------------------------------------


@dataclass
class GitFacts:
    is_repo: bool = False
    root: str | None = None
    branch: str | None = None
    head: str | None = None
    dirty_files: int = 0
    upstream: str | None = None
    ahead: int | None = None
    behind: int | None = None
    remote: str | None = None
    remote_url: str | None = None
    error: str | None = None


def strip_credentials(url: str) -> str:
    """A remote URL without any user info: tokens hide in the user part as often as in the password."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[1], parts.path, parts.query, parts.fragment))


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
        status = repo.git.status("--porcelain", "--", str(root))
        facts.dirty_files = len([line for line in status.splitlines() if line.strip()])
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
            facts.remote_url = strip_credentials(repo.remotes[remote_name].url)
        if tracking is not None and tracking.is_valid() and facts.head:
            facts.upstream = tracking.name
            facts.ahead = int(repo.git.rev_list("--count", f"{tracking.name}..HEAD"))
            facts.behind = int(repo.git.rev_list("--count", f"HEAD..{tracking.name}"))
    except Exception as exc:
        facts.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return facts


# --- Docker and compose files -----------------------------------------------------------------


COMPOSE_GLOBS = ("docker-compose*.yml", "docker-compose*.yaml", "compose*.yml", "compose*.yaml")


@dataclass
class ServiceFacts:
    docker_engine: bool = False
    docker_error: str | None = None
    compose_files: list[str] = field(default_factory=list)
    compose_services: dict = field(default_factory=dict)


def read_services(root: Path, transport: Transport) -> ServiceFacts:
    facts = ServiceFacts()
    try:
        result = transport.run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=5)
        facts.docker_engine = result.returncode == 0 and bool(result.stdout.strip())
        if not facts.docker_engine:
            facts.docker_error = (result.stderr.strip().splitlines() or ["no answer"])[-1][:200]
    except TransportError as exc:
        facts.docker_error = str(exc)
    files = sorted({p for pattern in COMPOSE_GLOBS for p in root.glob(pattern) if p.is_file()})
    facts.compose_files = [p.name for p in files]
    for path in files:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            facts.compose_services[path.name] = {"error": type(exc).__name__}
            continue
        services = document.get("services") if isinstance(document, dict) else None
        facts.compose_services[path.name] = {
            name: {"image": str(spec.get("image") or ""), "ports": [str(p) for p in spec.get("ports") or []]}
            for name, spec in (services or {}).items()
            if isinstance(spec, dict)
        }
    return facts


# --- requirements -----------------------------------------------------------------------------


REQUIREMENT_FILES = ("requirements.txt", "requirements/production.txt", "requirements/prod.txt", "requirements/base.txt")


def requirement_files(root: Path, manage_dir: Path) -> list[Path]:
    found = []
    for folder in dict.fromkeys((root, manage_dir)):
        for name in REQUIREMENT_FILES:
            if (folder / name).is_file():
                found.append(folder / name)
                break
    return found


def parse_requirements(path: Path, seen: set | None = None) -> list[Requirement]:
    """requirements.txt lines as packaging Requirements; follows ``-r``, skips what is not a name."""
    seen = seen if seen is not None else set()
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    requirements = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            requirements += parse_requirements(path.parent / line.split(None, 1)[1], seen)
            continue
        if line.startswith("-"):
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


def read_node(root: Path) -> NodeFacts:
    import json

    facts = NodeFacts()
    for folder in (root / "frontend", root / "client", root / "web", root):
        if (folder / "package.json").is_file():
            break
    else:
        return facts
    facts.package_json = str((folder / "package.json").relative_to(root))
    try:
        package = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        package = {}
    facts.scripts = sorted((package.get("scripts") or {}).keys())
    dependencies = {**(package.get("dependencies") or {}), **(package.get("devDependencies") or {})}
    facts.frameworks = [name for name in ("react", "vite", "vue", "svelte", "next") if name in dependencies]
    facts.node_modules = (folder / "node_modules").is_dir()
    for build in ("dist", "build"):
        if (folder / build).is_dir():
            facts.build_output = str((folder / build).relative_to(root))
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
        }


def gather(project: Path, python: str | None = None, env_file: str | None = None, transport: Transport | None = None,
           env: EnvFile | None = None) -> Facts:
    """Gather every fact about one project; raises ProjectError for bad input.

    ``env`` replaces the env file: fix-prod probes the project under the env it plans to write.
    """
    transport = transport or Local()
    root = Path(project).expanduser().resolve()
    manage_dir = find_manage_dir(root)
    python = python or sys.executable
    if env is None:
        env = read_env_file(locate_env_file(root, manage_dir, env_file))
    files = requirement_files(root, manage_dir)
    requirements = [r for path in files for r in parse_requirements(path)]
    config = {
        "manage_dir": str(manage_dir),
        "env": env.values,
        "packages": sorted({r.name for r in requirements} | {"Django", "daphne", "uvicorn", "hypercorn"}),
        "timeout": 3,
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        probe_future = pool.submit(transport.run_probe, python, config)
        git_future = pool.submit(read_git, root)
        services_future = pool.submit(read_services, root, transport)
        node_future = pool.submit(read_node, root)
        try:
            probe = probe_future.result()
        except TransportError as exc:
            raise ProjectError(str(exc)) from None
        installed = probe.get("packages") or {}
        return Facts(
            host=transport.name,
            root=root,
            manage_dir=manage_dir,
            python=python,
            env=env,
            probe=probe,
            git=git_future.result(),
            services=services_future.result(),
            requirements=[
                {
                    "name": r.name,
                    "specifier": str(r.specifier),
                    "installed": installed.get(r.name),
                    "satisfied": installed.get(r.name) is not None
                    and r.specifier.contains(installed[r.name], prereleases=True),
                }
                for r in requirements
            ],
            requirement_files=[str(p.relative_to(root)) for p in files],
            node=node_future.result(),
        )


__all__ = ["Facts", "ProjectError", "gather", "find_manage_dir", "read_env_file", "mask_url"]
