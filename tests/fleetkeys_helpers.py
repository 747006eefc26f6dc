"""Helpers for the fleet-key tests: an inventory whose hosts share one secret_key_group, each host's
production env read back, Django's own signing run under that env, and every form of a key to grep for."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import yaml
from conftest import invoke
from dotenv import dotenv_values

DOMAIN = "thebot.example.com"
GROUP = "thebot"
RECORD = Path(".remediation") / "secret_key_fallbacks.json"

SIGN = """
from django.core import signing
print("RESULT=" + signing.dumps("fleet", salt="fleetkeys") + " " + signing.get_cookie_signer(salt="sessionid").sign("s1"))
"""
CHECK = """
import sys
from django.core import signing
token, cookie = sys.argv[-2], sys.argv[-1]
try:
    ok = signing.loads(token, salt="fleetkeys") == "fleet" and signing.get_cookie_signer(salt="sessionid").unsign(cookie) == "s1"
except signing.BadSignature:
    ok = False
print("RESULT=" + ("valid" if ok else "invalid"))
"""


def write_inventory(tmp_path, hosts, projects, group=GROUP, extra_hosts=None, name="inventory.yml",
                    env_file=None) -> tuple[Path, Path]:
    """Our YAML inventory: every host in group ``web``, whose vars set secret_key_group (and
    env_file: the production env, which audit then reads too)."""
    inventory = {"hosts": {}, "groups": {"web": {"hosts": [], "vars": {"domains": [DOMAIN]}}}}
    if env_file:
        inventory["groups"]["web"]["vars"]["env_file"] = env_file
    if group is not None:
        inventory["groups"]["web"]["vars"]["secret_key_group"] = group
    for host, project in zip(hosts, projects):
        inventory["hosts"][host.name] = {"address": host.address, "port": host.port, "user": host.user,
                                         "key": str(host.client_key), "project": str(project), "python": sys.executable}
        inventory["groups"]["web"]["hosts"].append(host.name)
    for name_, entry in (extra_hosts or {}).items():
        inventory["hosts"][name_] = entry
        inventory["groups"]["web"]["hosts"].append(name_)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(inventory))
    known = tmp_path / "known_hosts"
    known.write_text("".join(h.known_hosts_line + "\n" for h in hosts))
    return path, known


def fix_prod(inventory, known, *args):
    run = invoke("fix-prod", "-i", str(inventory), "--known-hosts", str(known), "--format", "json", *args, timeout=300)
    document = json.loads(run.stdout) if run.stdout.strip().startswith("{") else None
    return run, document


def hosts_of(document) -> dict:
    return {h["host"]: h for h in document["hosts"]}


def fix_status(host: dict, name: str = "secret_key") -> tuple[str, str]:
    fix = next(f for f in host["fixes"] if f["name"] == name)
    return fix["status"], fix["message"]


def finding_states(host: dict) -> dict:
    return {f["id"]: f["status"] for f in host["findings"]}


def prod_env(project: Path) -> dict:
    return dotenv_values(project / ".env.production")


def record(project: Path) -> dict:
    return json.loads((project / RECORD).read_text())


def django(project: Path, code: str, *args: str) -> str:
    """Run ``code`` in ``manage.py shell`` under the project's production env, as the app would."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECRET_KEY"))}
    environ.update({k: v or "" for k, v in prod_env(project).items()})
    script = f"import sys; sys.argv += {list(args)!r}\n{code}"
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=project / "backend", env=environ,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return next(line[len("RESULT="):] for line in done.stdout.splitlines() if line.startswith("RESULT="))


def sign(project: Path) -> tuple[str, str]:
    token, cookie = django(project, SIGN).split()
    return token, cookie


def validates(project: Path, signed: tuple[str, str]) -> bool:
    return django(project, CHECK, *signed) == "valid"


def forms(secret: str) -> set[str]:
    """A secret as it could appear in text: plain, percent-encoded, JSON-, shell- and Python-quoted."""
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1], shlex.quote(secret),
            repr(secret)}


def leaked(text: str, secrets) -> list[str]:
    return sorted({form for secret in secrets if secret for form in forms(secret) if form in text})
