"""What a service's processes really run, read from /proc on the host.

A restart is proven, not assumed: every process of a service (the main one and all its
descendants: gunicorn's workers, Celery's pool) must have its working directory inside the
release and its interpreter from that release's venv (envexec pins both at start). A gunicorn
that was only sent HUP keeps the old release's directory (gunicorn#394): this check catches it.
Also the log lines a failed service leaves, with the env file's secrets masked.
"""

from __future__ import annotations

import posixpath

from ..facts import parse_env_text
from ..masking import scrub, secret_values
from ..transport import TransportError

MARKER = "@@REMEDIATION-PROCS@@"
# Standard library only; runs on the host with the release's interpreter (config on stdin).
PROC_SCRIPT = r'''
import json, os, sys
config = json.load(sys.stdin)
children = {}
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        children.setdefault(int(stat[stat.rfind(b")") + 2:].split()[1]), []).append(int(entry))
def describe(pid):
    found = {"pid": pid}
    try:
        found["cwd"] = os.readlink("/proc/%d/cwd" % pid)
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            found["argv0"] = handle.read().split(b"\0")[0].decode("utf-8", "replace")
    except OSError as exc:
        found["error"] = exc.strerror
    return found
trees = {}
for root in config["pids"]:
    tree, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        tree.append(describe(pid))
        todo.extend(sorted(children.get(pid, [])))
    trees[str(root)] = tree
release = config.get("release")
print(config["marker"] + json.dumps({"trees": trees,
      "release": os.path.realpath(release) if release else None,
      "venv": os.path.realpath(os.path.join(release, ".venv")) if release else None}))
'''


def process_trees(transport, python: str, pids: list[int], release_dir: str | None = None) -> dict:
    """``{"trees": {pid: [{"pid", "cwd", "argv0"} or {"pid", "error"}, ...]}, "release", "venv"}``
    (the release folder and its venv resolved on the host)."""
    return transport.run_script(python, PROC_SCRIPT, {"pids": pids, "release": release_dir, "marker": MARKER},
                                MARKER, timeout=60)


def release_problems(found: dict, children: dict[int, int]) -> list[str]:
    """Why the processes do not all run the release (empty: they all do).

    ``children``: the least number of descendants each main pid must have (its workers)."""
    release, venv = found["release"], found["venv"]
    problems = []
    for root, tree in found["trees"].items():
        if len(tree) - 1 < children.get(int(root), 0):
            problems.append(f"pid {root} has {len(tree) - 1} worker(s), {children[int(root)]} expected")
        for process in tree:
            if "error" in process:
                problems.append(f"pid {process['pid']}: /proc not readable ({process['error']})")
            elif process["cwd"] != release and not process["cwd"].startswith(release + "/"):
                problems.append(f"pid {process['pid']} runs in {process['cwd']}, not in {release}")
            elif not process["argv0"].startswith(venv + "/"):
                problems.append(f"pid {process['pid']} runs {process['argv0']}, not the venv {venv}")
    return problems


def release_of(deploy_to: str, cwd: str | None) -> str | None:
    """The release id a working directory lies in (DEPLOY_TO/releases/<id>/...), else None."""
    releases = posixpath.join(deploy_to, "releases") + "/"
    if not cwd or not cwd.startswith(releases):
        return None
    return cwd[len(releases):].split("/", 1)[0]


def masked(transport, env_file: str, text: str) -> str:
    """``text`` with every secret of the env file masked, in every encoding; withheld when the
    env file cannot be read (then its secrets are unknown: fail closed)."""
    try:
        env_text = transport.read_text(env_file)
    except (OSError, TransportError):
        return "(log withheld: the env file could not be read to mask its secrets)"
    values = parse_env_text(env_file, env_text).values if env_text is not None else {}
    return scrub(text, secret_values(values))


def last_lines(text: str, count: int = 8) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines()[-count:])
