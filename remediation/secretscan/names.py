"""Files that are secrets by their name (or, for a few names, by what they hold).

The rules gitleaks and trufflehog apply to paths, written here because detect-secrets only looks
at values.
"""

from __future__ import annotations

import fnmatch
import json
import re

ENV_TEMPLATES = (".example", ".sample", ".template", ".dist", ".defaults", ".tmpl")
PRIVATE_KEY_NAMES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk")
NAME_RULES = (  # (glob on the file name, rule)
    ("*.pem", "private key file"),
    ("*.key", "private key file"),
    ("*.p12", "PKCS#12 key store"),
    ("*.pfx", "PKCS#12 key store"),
    ("*.jks", "Java key store"),
    ("*.keystore", "Java key store"),
    ("secret_key.txt", "Django secret key file"),
    (".git-credentials", "git credentials"),
    (".netrc", "netrc credentials"),
    ("_netrc", "netrc credentials"),
    (".htpasswd", "htpasswd file"),
    (".pgpass", "PostgreSQL password file"),
    ("*.tfstate", "Terraform state"),
)
TOKEN_FILES = {  # names that are secrets only when they hold a credential (checked on content)
    ".pypirc": re.compile(r"^\s*password\s*[=:]\s*\S", re.M),
    ".npmrc": re.compile(r"_authToken\s*=\s*\S|_auth\s*=\s*\S|_password\s*=\s*\S"),
}
SERVICE_ACCOUNT = re.compile(r'"type"\s*:\s*"service_account"')


def secret_by_name(path: str) -> str | None:
    """The rule a tracked path breaks by its name alone, or None."""
    parts = path.split("/")
    name = parts[-1]
    if "secrets" in parts[:-1]:
        return "file in a secrets/ folder"
    if name == ".env" or (name.startswith(".env.") and not name.endswith(ENV_TEMPLATES)):
        return "env file"
    if name.endswith(".env") and not name.startswith(".") and "." not in name[:-4]:
        return "env file"  # production.env
    if name in PRIVATE_KEY_NAMES:
        return "private key file"
    if name == "credentials" and len(parts) >= 2 and parts[-2] == ".aws":
        return "AWS credentials"
    if len(parts) >= 2 and parts[-2] == ".docker" and name == "config.json":
        return "Docker registry credentials"
    for pattern, rule in NAME_RULES:
        if fnmatch.fnmatchcase(name, pattern):
            return rule
    return None


def needs_content(path: str) -> bool:
    """Names that are secrets only by what they hold (.pypirc, .npmrc, a service account JSON)."""
    name = path.rsplit("/", 1)[-1]
    return name in TOKEN_FILES or name.endswith(".json")


def secret_by_content(path: str, text: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if name in TOKEN_FILES and TOKEN_FILES[name].search(text):
        return f"{name} with a token"
    if name.endswith(".json") and SERVICE_ACCOUNT.search(text) and '"private_key"' in text:
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict) and document.get("type") == "service_account":
            return "GCP service account key"
    return None
