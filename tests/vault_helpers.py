"""Helpers of the vault tests: password files, the real ansible-vault, and the leak check."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

ANSIBLE_BIN = Path(sys.executable).parent


def ansible_tool(name: str) -> str:
    """The real ansible-core command installed beside this interpreter (the `test` extra)."""
    found = ANSIBLE_BIN / name
    if found.exists():
        return str(found)
    found = shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[test]' (ansible-core)"
    return found


def password_file(folder: Path, password: str, name: str = "vault-pass") -> Path:
    path = folder / name
    path.write_text(password + "\n")
    path.chmod(0o600)
    return path


def ansible_vault(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    environ["ANSIBLE_LOCAL_TEMP"] = environ.get("TMPDIR", "/tmp")
    return subprocess.run([ansible_tool("ansible-vault"), *args], input=stdin, capture_output=True, text=True,
                          env=environ, cwd=cwd, timeout=120)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def forms(secret: str) -> set[str]:
    """The secret as written, percent-encoded (both ways) and quoted (JSON, Python, shell)."""
    found = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), json.dumps(secret), repr(secret)}
    return {form for form in found if form}


def assert_never_shown(text: str, *secrets: str) -> None:
    for secret in secrets:
        for form in forms(secret):
            assert form not in text, f"a planted secret leaked ({form[:3]}...)"


def ansible_view(*args: str) -> subprocess.CompletedProcess:
    """The plaintext exactly as ansible-vault decrypts it (``view`` adds a newline through its pager)."""
    *options, path = args
    return ansible_vault("decrypt", *options, path, "--output", "-")
