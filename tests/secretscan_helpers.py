"""Real git repositories with planted secrets, for the committed-secret scan's tests."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
from pathlib import Path

from remediation.masking import encodings
from remediation.transport import Local


def alnum(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


def upper(n: int) -> str:
    return "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(n))


def git(cwd: Path, *args: str, input: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": "2024-01-01T00:00:00", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00"}
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, input=input, env=env)
    return done.stdout.strip()


def init(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "user.name", "Test")
    git(path, "config", "commit.gpgsign", "false")
    return path


def commit(repo: Path, message: str, files: dict[str, str | bytes | None]) -> str:
    """Write (or delete, for None) ``files`` and commit them all; the new commit's sha."""
    for name, content in files.items():
        path = repo / name
        if content is None:
            git(repo, "rm", "-q", "--", name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        git(repo, "add", "--", name)
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


class CountingLocal(Local):
    """The real local transport, counting the git subcommands it ran (to prove what a cached run reads)."""

    def __init__(self):
        self.calls: list[str] = []

    def run(self, argv, **kwargs):
        if argv and argv[0] == "git":
            self.calls.append(next(a for a in argv[1:] if not a.startswith("-") and "=" not in a))
        return super().run(argv, **kwargs)


def leaks(text: str, planted: list[str]) -> list[str]:
    """Every planted secret found in ``text`` in any encoding (remediation/masking.encodings)."""
    return [secret for secret in planted for form in encodings(secret) if form in text]


class PlantedRepo:
    """A repository holding one of each kind of committed secret; ``planted`` lists every value."""

    def __init__(self, root: Path):
        self.root = init(root)
        self.github = "ghp_" + alnum(36)
        self.aws = "AKIA" + upper(16)
        self.stripe = "sk_live_" + alnum(24)
        self.password = "Pw" + alnum(14)
        self.message_password = "Mp" + alnum(14)
        self.django_key = alnum(50)
        self.pypi_password = "Py" + alnum(14)
        self.binary_token = "ghp_" + alnum(36)
        self.latin_stripe = "sk_live_" + alnum(24)
        self.planted = [self.github, self.aws, self.stripe, self.password, self.message_password, self.django_key,
                        self.pypi_password, self.binary_token, self.latin_stripe]
        self.first = commit(self.root, "initial", {
            "app/settings.py": "DEBUG = False\n",
            "README.md": "# demo\n",
        })
        self.old = commit(self.root, "add config", {
            "app/aws.py": f'import os\n\nAWS_ACCESS_KEY_ID = "{self.aws}"\n',
            "secret_key.txt": self.django_key + "\n",
        })
        self.message = commit(self.root, f"fix the database login\n\npassword={self.message_password}\n", {
            "app/db.py": f'DB_PASSWORD = "{self.password}"\n',
        })
        self.removed = commit(self.root, "remove the committed secrets", {
            "app/aws.py": None, "secret_key.txt": None, "app/db.py": None,
        })
        self.head = commit(self.root, "what is tracked now", {
            "app/github.py": f'\n\nTOKEN = "{self.github}"\n',
            "secrets/prod.json": '{"name": "prod"}\n',
            ".env.production": f"STRIPE_KEY={self.stripe}\n",
            ".env.example": "SECRET_KEY=change-me\nDATABASE_URL=postgres://app:change-me@db/app\n",
            ".pypirc": f"[pypi]\nusername = __token__\npassword = {self.pypi_password}\n",
            "deploy/id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n"
                                 "-----END OPENSSH PRIVATE KEY-----\n",
            "assets/blob.bin": b"\x00\x01binary " + self.binary_token.encode() + b"\x00",
            "docs/latin1.txt": "caf\xe9 ".encode("latin-1") + f'key = "{self.latin_stripe}"\n'.encode(),
            "docs/we ird\"name.txt": "nothing here\n",
        })
