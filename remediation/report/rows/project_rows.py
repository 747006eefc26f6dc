"""Rows of the areas read around the project: git, services, env variables, Python, the front end.

Each builder returns (component, observed state, detail, finding ids) tuples; see rows/__init__.
"""

from __future__ import annotations

from .base import ERROR, NOT_USED, OK, UNKNOWN, WARNING, View, listing, plural

# The seed's env table, in its order; the variables the settings read (when recorded) follow.
SEED_VARIABLES = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "ENVIRONMENT", "DATABASE_URL", "REDIS_URL",
                  "CELERY_BROKER_URL", "TELEGRAM_BOT_TOKEN", "OPENROUTER_API_KEY", "YOOKASSA_SHOP_ID",
                  "YOOKASSA_SECRET_KEY", "EMAIL_HOST", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD")
VARIABLE_FINDINGS = {
    "DEBUG": ("env.debug",), "SECRET_KEY": ("env.secret_key",), "ALLOWED_HOSTS": ("env.allowed_hosts",),
    "ENVIRONMENT": ("env.environment",), "DATABASE_URL": ("env.database_url",),
    "CORS_ALLOWED_ORIGINS": ("django.cors_local", "django.cors_allow_all"),
}
# The seed's Python table: (row, distributions that provide it; the first installed one is shown).
PYTHON_PACKAGES = (
    ("Django", ("Django",)),
    ("djangorestframework", ("djangorestframework",)),
    ("celery", ("celery",)),
    ("redis", ("redis",)),
    ("PostgreSQL driver", ("psycopg", "psycopg2-binary", "psycopg2")),
    ("channels", ("channels",)),
    ("daphne", ("daphne",)),
)
GIT_IDS = ("git.error", "git.not_repo")


def git_rows(view: View) -> list:
    git = view.facts.get("git")
    if not git:
        return [("Repository", UNKNOWN, "git was not read", ())]
    if git.get("error"):
        return [("Repository", UNKNOWN, f"git could not be read: {git['error']}", ("git.error",)), secrets_row(view)]
    if not git.get("is_repo"):
        return [("Repository", WARNING, "not a git repository", GIT_IDS),
                ("Unpushed Commits", UNKNOWN, "no repository", ()), secrets_row(view)]
    dirty = git.get("dirty_files") or 0
    rows = [("Working Directory", OK, "no uncommitted changes" if not dirty
             else f"{plural(dirty, 'uncommitted or untracked file')}", ("git.dirty",))]
    rows.append(("Branch", OK, git["branch"], ()) if git.get("branch")
                else ("Branch", WARNING, "detached HEAD", ("git.detached",)))
    if git.get("upstream") and git.get("ahead") is not None:
        unpushed = f"{plural(git['ahead'], 'commit')} not pushed to {git['upstream']}"
        if git.get("behind"):
            unpushed += f"; {plural(git['behind'], 'commit')} behind"
        rows.append(("Unpushed Commits", OK, unpushed, ("git.unpushed", "git.behind")))
    elif git.get("branch"):
        rows.append(("Unpushed Commits", WARNING, "the branch tracks no upstream", ("git.no_upstream",)))
    else:
        rows.append(("Unpushed Commits", UNKNOWN, "no branch", ()))
    rows.append(("Remote", OK, f"{git['remote']}: {git.get('remote_url') or ''}".rstrip(": "), ())
                if git.get("remote") else ("Remote", WARNING, "no remote", ("git.no_remote",)))
    rows.append(secrets_row(view))
    return rows


SECRET_IDS = ("git.live_secret_in_history", "git.secret_file_tracked", "git.secret_in_tree", "git.secret_in_history",
              "git.secret_in_commit_message", "git.secret_scan_partial", "git.secret_scan_error")
SECRET_KINDS = (("live", "live secret", "live secrets"), ("file", "secret file", "secret files"),
                ("tree", "value in the tree", "values in the tree"), ("history", "value in history", "values in history"),
                ("message", "commit message", "commit messages"))


def secrets_row(view: View) -> tuple:
    """The committed-secret scan (remediation/secretscan): ok only when it ran and found nothing."""
    scan = view.facts.get("secret_scan")
    if not isinstance(scan, dict):
        return ("Committed Secrets", UNKNOWN, "not scanned", ())
    state = scan.get("state")
    if state == "error":
        return ("Committed Secrets", UNKNOWN, f"scan failed: {scan.get('error')}", ("git.secret_scan_error",))
    if state != "scanned":
        return ("Committed Secrets", UNKNOWN if state == "not a repository" else OK, f"not scanned: {state}", ())
    hits = scan.get("hits") or []
    counts = {kind: sum(1 for h in hits if h.get("kind") == kind) for kind, _, _ in SECRET_KINDS}
    found = [f"{counts[kind]} {one if counts[kind] == 1 else many}" for kind, one, many in SECRET_KINDS if counts[kind]]
    scanned = f"{plural(scan.get('commits') or 0, 'commit')} and {plural(scan.get('files') or 0, 'file')} scanned"
    return ("Committed Secrets", OK, f"{scanned}: {', '.join(found) if found else 'nothing found'}", SECRET_IDS)


def services_rows(view: View) -> list:
    services = view.facts.get("services")
    if not services:
        return [("Docker Compose Files", UNKNOWN, "not read", ())]
    rows = [("Docker Engine", OK, "answers", ()) if services.get("docker_engine")
            else ("Docker Engine", WARNING, "not running", ("services.docker_unavailable",))]
    files = services.get("compose_files") or []
    rows.append(("Docker Compose Files", OK if files else WARNING,
                 f"{len(files)}: {listing(files)}" if files else "none", ("services.no_compose",)))
    compose = services.get("compose_services") or {}
    for kind, label in (("postgres", "PostgreSQL Config"), ("mysql", "MySQL Config"), ("mariadb", "MariaDB Config"),
                        ("redis", "Redis Config")):
        found = compose_kind(compose, kind)
        if found:
            rows.append((label, OK, found, ()))
    for server in view.probe.get("redis") or []:
        state = OK if server.get("reachable") else ERROR
        detail = "answers PING" if server.get("reachable") else f"does not answer: {server.get('error')}"
        rows.append((f"Redis {server.get('url')}", state, f"{detail} (used by {listing(server.get('used_by'))})",
                     ("services.redis_unreachable",)))
    return rows


def compose_kind(compose: dict, kind: str) -> str:
    """The ports and databases the compose files configure for one kind of service, grouped by file."""
    groups: dict = {}
    for file, services in sorted(compose.items()):
        for spec in (services or {}).values():
            if not isinstance(spec, dict) or spec.get("kind") != kind:
                continue
            published = [p.split(":")[-2] if p.count(":") >= 1 else p for p in spec.get("ports") or []]
            parts = [f"port {listing(published)}" if published else "no published port"]
            if spec.get("databases"):
                parts.append(f"database {listing(spec['databases'])}")
            if spec.get("password_auth"):
                parts.append("password auth")
            groups.setdefault(", ".join(parts), []).append(file)
    return "; ".join(f"{text} ({listing(files)})" for text, files in groups.items())


def env_rows(view: View) -> list:
    env = view.facts.get("env") or {}
    values = env.get("values") or {}
    if env.get("exists"):
        rows = [(".env file", OK, view.rel(env.get("path")) or "present", ("env.malformed",))]
    else:
        rows = [(".env file", WARNING, "missing", ("env.missing",))]
    reads = ((view.probe.get("environ") or {}).get("read")) if (view.probe.get("environ") or {}).get("recorded") else None
    names = list(SEED_VARIABLES) if reads is None else [n for n in SEED_VARIABLES if n in reads]
    names += sorted(set(reads or {}) - set(names))
    for name in names:
        ids = VARIABLE_FINDINGS.get(name, ()) + tuple(view.needs.get(name, ()))
        rows.append((name, *variable(view, name, values, (reads or {}).get(name)), ids))
    return rows


def variable(view: View, name: str, values: dict, read: dict | None) -> tuple[str, str]:
    """(state, detail) of one env variable: its value in the env file (secrets as set/not set)."""
    if name in values:
        value = values[name]
        if isinstance(value, bool):  # a secret: the env file's facts say only whether it is set
            detail = "set" if value else "not set (empty)"
        else:
            detail = value if value != "" else "not set (empty)"
    elif read is not None and read.get("set"):
        detail = "set in the environment"
    else:
        detail = "not set"
        if read is not None and read.get("default") is not None:
            detail += f" (settings default: {read['default'] or 'empty'})"
        elif name in view.settings and not isinstance(view.settings[name], (bool, dict)) and name != "DEBUG":
            detail += f" (settings use {view.settings[name]})"
    if name == "SECRET_KEY":
        detail += secret_key_quality(view)
    # What the value means for production is judged by checks that need the imported settings.
    return (OK if view.django_ready else UNKNOWN), detail


def secret_key_quality(view: View) -> str:
    key = view.settings.get("SECRET_KEY")
    if not isinstance(key, dict) or not view.django_ready:
        return ""
    quality = f"; {key.get('length')} characters, {key.get('unique')} unique"
    return quality + (", django-insecure- prefix" if key.get("insecure_prefix") else "")


def python_rows(view: View) -> list:
    python = (view.probe.get("python") or {}).get("version")
    rows = [("Python", OK if python else UNKNOWN, python or "not gathered", ())]
    required = {r["name"].lower(): r for r in view.facts.get("requirements") or []}
    for label, names in PYTHON_PACKAGES:
        rows.append(package_row(view, label, names, required))
    return rows


def package_row(view: View, label: str, names: tuple, required: dict) -> tuple:
    versions = {name: view.version(name) for name in names}
    if not any(view.looked_up(name) for name in names):
        return (label, UNKNOWN, "not gathered", ())
    wanted = [required[n.lower()] for n in names if n.lower() in required]
    # The required distribution first when it is installed (psycopg2-binary, not a psycopg beside it).
    installed = sorted(((name, v) for name, v in versions.items() if v), key=lambda item: item[0].lower() not in required)
    if not installed:
        if wanted:
            return (label, ERROR, f"not installed (required: {wanted[0]['name']}{wanted[0]['specifier']})",
                    ("python.missing",))
        return (label, NOT_USED, "not installed, not required", ())
    name, version = installed[0]
    shown = version if label == name else f"{name} {version}"
    requirement = next((r for r in wanted if r["name"].lower() == name.lower()), wanted[0] if wanted else None)
    if requirement is None:
        return (label, OK, f"{shown} (not in the requirements)", ())
    if requirement["installed"] is not None and not requirement["satisfied"]:
        return (label, WARNING, f"{shown} (required: {requirement['specifier']})", ("python.version_mismatch",))
    return (label, OK, f"{shown} (required: {requirement['specifier'] or 'any'})", ())


def node_rows(view: View) -> list:
    node = view.facts.get("node")
    if node is None:
        return [("Front end", UNKNOWN, "not read", ())]
    if not node.get("package_json"):
        return [("Front end", NOT_USED, "no package.json", ())]
    return [
        ("Node Modules", OK if node.get("node_modules") else WARNING,
         "installed" if node.get("node_modules") else "node_modules missing", ("node.modules_missing",)),
        ("Frontend Framework", OK, listing(node.get("frameworks"), "none recognised"), ()),
        ("Build Scripts", OK if "build" in (node.get("scripts") or []) else WARNING,
         listing(node.get("scripts")), ("node.no_build_script",)),
        ("Build Output", OK if node.get("build_output") else WARNING, node.get("build_output") or "none",
         ("node.build_missing",)),
    ]


BUILDERS = {"git": git_rows, "services": services_rows, "env": env_rows, "python": python_rows, "node": node_rows}
