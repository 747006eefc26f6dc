"""The files and folders around a project, read on its host in one go (standard library only).

Locally the toolkit calls ``collect`` in-process; for a remote host the transport streams this
file to the host's ``python3`` and reads back one JSON document, so all of it costs one round
trip. It reads raw text only (the env file, requirements, package.json, compose files); the
toolkit parses them with python-dotenv, packaging and PyYAML. With ``git`` and ``docker`` set
(remote hosts, where GitPython cannot reach), it asks the ``git`` and ``docker`` commands too.
"""

import fnmatch
import glob
import json
import os
import subprocess
import sys

REQUIREMENT_FILES = ("requirements.txt", "requirements/production.txt", "requirements/prod.txt", "requirements/base.txt")
COMPOSE_GLOBS = ("docker-compose*.yml", "docker-compose*.yaml", "compose*.yml", "compose*.yaml")
COMPOSE_DEPTH = 2  # the root, docker/, deploy/compose/ ...: compose files live near the root
SKIPPED_DIRS = {"node_modules", "__pycache__", "site-packages", "venv", "env", "dist", "build", "static", "media"}
FRONTEND_FOLDERS = ("frontend", "client", "web", "")
MAX_BYTES = 1 << 20


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(MAX_BYTES)
    except OSError:
        return None


def find_manage_dir(root):
    """manage.py in the folder or one level down; an error string otherwise."""
    if not os.path.exists(root):
        return None, f"{root}: no such directory"
    if not os.path.isdir(root):
        return None, f"{root}: not a directory"
    if os.path.isfile(os.path.join(root, "manage.py")):
        return root, None
    found = sorted(os.path.dirname(p) for p in glob.glob(os.path.join(glob.escape(root), "*", "manage.py")))
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, f"{root}: no manage.py here or one level down; is this a Django project?"
    names = ", ".join(os.path.relpath(p, root) for p in found)
    return None, f"{root}: several manage.py one level down ({names}); name one with --project"


def requirement_texts(root, manage_dir):
    texts = {}
    for folder in dict.fromkeys((root, manage_dir)):
        for name in REQUIREMENT_FILES:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                texts[os.path.relpath(path, root)] = read(path)
                for line in (texts[os.path.relpath(path, root)] or "").splitlines():
                    line = line.strip()
                    if line.startswith(("-r ", "--requirement ")):
                        included = os.path.normpath(os.path.join(os.path.dirname(path), line.split(None, 1)[1]))
                        if os.path.isfile(included):
                            texts.setdefault(os.path.relpath(included, root), read(included))
                break
    return texts


def node(root):
    for name in FRONTEND_FOLDERS:
        folder = os.path.join(root, name) if name else root
        if os.path.isfile(os.path.join(folder, "package.json")):
            builds = [b for b in ("dist", "build") if os.path.isdir(os.path.join(folder, b))]
            return {
                "folder": name,
                "package_json": read(os.path.join(folder, "package.json")),
                "node_modules": os.path.isdir(os.path.join(folder, "node_modules")),
                "build_output": builds[-1] if builds else None,
            }
    return None


def compose_files(root):
    """Compose files at the root and up to COMPOSE_DEPTH folders below it, by path relative to the root;
    hidden folders, virtualenvs and dependency folders are skipped."""
    found = {}
    for folder, dirs, files in os.walk(root):
        depth = 0 if folder == root else os.path.relpath(folder, root).count(os.sep) + 1
        dirs[:] = sorted(d for d in dirs if depth < COMPOSE_DEPTH and not d.startswith(".") and d not in SKIPPED_DIRS
                         and not os.path.isfile(os.path.join(folder, d, "pyvenv.cfg")))
        for name in sorted(files):
            if any(fnmatch.fnmatch(name, pattern) for pattern in COMPOSE_GLOBS):
                path = os.path.join(folder, name)
                found[os.path.relpath(path, root)] = read(path)
    return found


def run(argv, cwd, timeout=10):
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout.strip(), done.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, "", f"{type(exc).__name__}: {exc}"


def git(root):
    """Git state through the git command: the same fields GitPython gives locally."""
    code, top, _ = run(["git", "rev-parse", "--show-toplevel"], root)
    if code != 0:
        return {"is_repo": False}
    facts = {"is_repo": True, "root": top}
    _, facts["head"], _ = run(["git", "rev-parse", "--verify", "-q", "HEAD"], root)
    _, status, _ = run(["git", "status", "--porcelain", "-z", "-uall", "--", root], root)
    facts["dirty_files"], facts["tool_files"] = dirty_counts(status, top)
    code, branch, _ = run(["git", "symbolic-ref", "-q", "--short", "HEAD"], root)
    if code != 0:
        return facts
    facts["branch"] = branch
    _, upstream, _ = run(["git", "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}"], root)
    _, remotes, _ = run(["git", "remote"], root)
    remotes = remotes.split()
    remote = upstream.split("/", 1)[0] if upstream else ("origin" if "origin" in remotes else (remotes[0] if remotes else None))
    if remote:
        facts["remote"] = remote
        _, facts["remote_url"], _ = run(["git", "remote", "get-url", remote], root)
    if upstream and facts["head"]:
        facts["upstream"] = upstream
        _, counts, _ = run(["git", "rev-list", "--left-right", "--count", f"{upstream}...HEAD"], root)
        if counts:
            behind, ahead = counts.split()
            facts["ahead"], facts["behind"] = int(ahead), int(behind)
    return facts


TOOL_MARKER = "written by django-remediation"


def is_tool_file(repo_root, path):
    """fix-prod's own files (the production env, its run folder, a settings overlay it rendered):
    they must not make the project's tree dirty for the next run."""
    parts = path.rstrip("/").split("/")
    if ".remediation" in parts or parts[-1] == ".env.production":
        return True
    if parts[-1].endswith(".py"):  # the overlay: <settings>_production.py or <settings package>/production.py
        head = read(os.path.join(repo_root, path)) or ""
        return TOOL_MARKER in head[:1000]
    return False


def dirty_counts(porcelain_z, repo_root):
    """(changed or untracked files, of which the tool's own) from ``git status --porcelain -z -uall``."""
    entries = porcelain_z.split("\0")
    dirty = tool = 0
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        if entry[0] in "RC":
            index += 1  # the original path of a rename or copy follows
        if is_tool_file(repo_root, entry[3:]):
            tool += 1
        else:
            dirty += 1
    return dirty, tool


def docker():
    code, out, err = run(["docker", "info", "--format", "{{.ServerVersion}}"], None, timeout=5)
    return {"engine": code == 0 and bool(out), "error": None if code == 0 and out else (err.splitlines() or ["no answer"])[-1][:200]}


def collect(config):
    root = os.path.realpath(os.path.expanduser(config["root"]))
    manage_dir, error = find_manage_dir(root)
    if error:
        return {"root": root, "error": error}
    env_path = config.get("env_file")
    if env_path:
        env_path = os.path.join(root, os.path.expanduser(env_path)) if not os.path.isabs(os.path.expanduser(env_path)) else os.path.expanduser(env_path)
        if not os.path.isfile(env_path):
            return {"root": root, "error": f"{env_path}: env file not found"}
    else:
        env_path = next((os.path.join(f, ".env") for f in (root, manage_dir) if os.path.isfile(os.path.join(f, ".env"))), None)
    compose = compose_files(root)
    result = {
        "root": root,
        "error": None,
        "manage_dir": manage_dir,
        "env": {"path": env_path, "text": read(env_path) if env_path else None},
        "requirements": requirement_texts(root, manage_dir),
        "compose": compose,
        "node": node(root),
    }
    if config.get("git"):
        result["git"] = git(root)
    if config.get("docker"):
        result["docker"] = docker()
    return result


def main():
    config = json.loads(sys.stdin.readline())
    print("@@REMEDIATION-HOSTFACTS@@" + json.dumps(collect(config)))


if __name__ == "__main__":
    main()
