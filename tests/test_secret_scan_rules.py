"""The scan's rules: the cheap gates in front of detect-secrets drop no line its plugins would flag,
files are secrets by the names gitleaks and trufflehog use, placeholders are not secrets, and the
tokens a live secret is looked up by cover the ways settings files write it."""

from __future__ import annotations

import re

import pytest
from conftest import DEMO, REPO
from detect_secrets.plugins.keyword import DENYLIST

from remediation.secretscan import live_secrets
from remediation.secretscan.names import secret_by_content, secret_by_name
from remediation.secretscan.rules import GATES, KEYWORD_PARTS, candidate_lines, find_values, placeholder, plugins, tokens

# One line each plugin flags (values made up to the formats of detect-secrets' own patterns).
SAMPLES = {
    "ArtifactoryDetector": 'artifactory = "AKCp5budTFpbypBqQbGJPz3pGCi28pPivfWczqjfYb9drAmd9LbRZbj6UpKFxJXA8ksWGc9fM"',
    "AWSKeyDetector": 'aws_key = "AKIAZ7QW3RTYUIOP4ASD"',
    "AzureStorageKeyDetector": "AccountKey=" + "lJzRc1YdHaAA2KCNJJ1tkYwF/+mKK6Ygw0NGe170Xu592euJv2wYUtBlV8z+qnlcNQSnIYVTkLWntUO1F8j8rQ==",
    "BasicAuthDetector": "url = https://admin:Zq8Lk2Vx9Pw@example.com/",
    "CloudantDetector": "cloudant_password='qwzmxnrtplkjhgfdsaeyuvbc'",
    "DiscordBotTokenDetector": "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs",
    "GitHubTokenDetector": 'token = "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"',
    "GitLabTokenDetector": 'token = "glpat-Zq8Lk2Vx9Pw4Rt7Yu1Io"',
    "IbmCloudIamDetector": 'ibm_cloud_iam_api_key = "abcd1234abcd1234abcd1234ABCD1234abcd1234--__"',
    "IbmCosHmacDetector": 'ibm_cos_secret_access_key = "' + "a1b2c3d4e5f6" * 4 + '"',
    "JwtTokenDetector": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "MailchimpDetector": "key = 'abcdef0123456789abcdef0123456789-us12'",
    "NpmDetector": "//registry.npmjs.org/:_authToken=npm_Zq8Lk2Vx9Pw4Rt7Yu1Io3As5Df6Gh0Jk",
    "OpenAIDetector": "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",
    "PrivateKeyDetector": "-----BEGIN RSA PRIVATE KEY-----",
    "PypiTokenDetector": "pypi-AgEIcHlwaS5vcmc" + "Zq8Lk2Vx9P" * 8,
    "SendGridDetector": "SG." + "Zq8Lk2Vx9Pw4Rt7Yu1Io3A" + "." + "Zq8Lk2Vx9Pw4Rt7Yu1Io3As5Df6Gh0JkZq8Lk2Vx9Pw",
    "SlackDetector": "xoxb-123456789012-1234567890123-abcdefghij",
    "SoftlayerDetector": "softlayer_api_key = '" + "a1b2c3d4" * 8 + "'",
    "SquareOAuthDetector": "sq0csp-" + "Zq8Lk2Vx9Pw4Rt7Yu1Io3As5Df6Gh0JkZq8Lk2Vx9Pw",
    "StripeDetector": 'stripe = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"',
    "TelegramBotTokenDetector": "bot = 1234567890:AAHZq8Lk2Vx9Pw4Rt7Yu1Io3As5Df6Gh0Jk",
    "TwilioKeyDetector": "twilio = 'AC" + "a1b2c3d4" * 4 + "'",
    "KeywordDetector": 'DB_PASSWORD = "Tr0ub4dor&3xyz"',
    "Base64HighEntropyString": 'blob = "Zq8Lk2Vx9Pw4Rt7Yu1Io3As5Df6Gh0JkMn"',
    "HexHighEntropyString": 'digest = "3f9a7c1e5b2d8046"',
}


def type_of(name: str) -> str:
    return next(p.secret_type for group in plugins() for p in group if type(p).__name__ == name)


def test_every_plugin_has_a_sample_and_every_gate_a_plugin():
    names = {type(p).__name__ for group in plugins() for p in group}
    assert set(SAMPLES) == names
    assert set(GATES) <= names


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_sample_is_flagged_through_the_gates(name):
    line = SAMPLES[name]
    wanted = type_of(name)
    assert any(rule == wanted for rule, _ in find_values("sample.py", line, everything=True)), "a sample the plugin flags"
    assert [r for r in find_values("sample.py", line)] == find_values("sample.py", line, everything=True)
    assert candidate_lines(["nothing here", line, "x = 1"]) == [1]


def corpus() -> list[tuple[str, str]]:
    lines = []
    for root in (REPO / "remediation", REPO / "tests", DEMO):
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".md", ".yml", ".yaml", ".txt", ".toml", ".json", ".example") and path.is_file():
                lines += [(str(path), line) for line in path.read_text(errors="replace").splitlines()]
    return lines


def test_the_gates_drop_no_line_the_plugins_flag():
    """Over this repository's own sources (tests full of made-up secrets included): gated == ungated."""
    lines = corpus()
    assert len(lines) > 20_000
    differ = []
    for path, line in lines:
        if find_values(path, line) != find_values(path, line, everything=True):
            differ.append((path, line[:80]))
    assert differ == []
    flagged = [index for index, (path, line) in enumerate(lines) if find_values(path, line, everything=True)]
    opened = set(candidate_lines([line for _, line in lines]))
    assert set(flagged) <= opened and flagged


def test_keyword_parts_cover_the_keyword_plugins_denylist():
    for word in DENYLIST:
        for spelled in {word.replace("_?", ""), word.replace("_?", "_")}:
            assert any(part in spelled.lower() for part in KEYWORD_PARTS), spelled


@pytest.mark.parametrize("path, rule", [
    (".env", "env file"), ("backend/.env", "env file"), (".env.production", "env file"), ("deploy/prod.env", "env file"),
    (".env.example", None), (".env.sample", None), (".env.template", None), (".env.dist", None),
    ("config/secret_key.txt", "Django secret key file"), ("secrets/db.txt", "file in a secrets/ folder"),
    ("ops/secrets/nested/x.yml", "file in a secrets/ folder"), ("docs/secrets.md", None),
    ("keys/server.pem", "private key file"), ("id_rsa", "private key file"), ("id_rsa.pub", None),
    ("certs/client.p12", "PKCS#12 key store"), ("certs/client.pfx", "PKCS#12 key store"),
    ("home/.aws/credentials", "AWS credentials"), ("credentials", None), (".git-credentials", "git credentials"),
    (".netrc", "netrc credentials"), ("web/.htpasswd", "htpasswd file"), ("app/settings.py", None),
])
def test_files_that_are_secrets_by_name(path, rule):
    assert secret_by_name(path) == rule


def test_files_that_are_secrets_by_content():
    account = '{"type": "service_account", "project_id": "p", "private_key": "-----BEGIN PRIVATE KEY-----\\nx"}'
    assert secret_by_content("deploy/gcp.json", account) == "GCP service account key"
    assert secret_by_content("package.json", '{"name": "x", "private_key": "no"}') is None
    assert secret_by_content(".pypirc", "[pypi]\nusername = __token__\npassword = pypi-abc\n") == ".pypirc with a token"
    assert secret_by_content(".pypirc", "[distutils]\nindex-servers = pypi\n") is None
    assert secret_by_content(".npmrc", "//registry.npmjs.org/:_authToken=npm_x\n") == ".npmrc with a token"
    assert secret_by_content(".npmrc", "save-exact=true\n") is None


@pytest.mark.parametrize("value", ["change-me", "changeme", "<your-token>", "${DB_PASSWORD}", "your_password_here",
                                   "xxxxxxxx", "example-key", "password", "{{ vault_db_password }}", "REDACTED"])
def test_placeholders_are_not_secrets(value):
    assert placeholder(value)
    assert find_values("settings.py", f'PASSWORD = "{value}"') == []


@pytest.mark.parametrize("value", ["Tr0ub4dor&3xyz", "hunter2hunter2", "Zq8Lk2Vx9Pw4"])
def test_real_looking_values_are_not_placeholders(value):
    assert not placeholder(value)


def test_tokens_hold_the_value_however_it_is_written():
    key = "k3$(x=v!@f#q^z*9+a_b-c"
    for line in (f"SECRET_KEY={key}", f"SECRET_KEY = '{key}'", f'SECRET_KEY: "{key}"', f"export SECRET_KEY={key}",
                 f'{{"SECRET_KEY": "{key}", "DEBUG": false}}', f"SECRET_KEY={key}  # prod", f"    ('{key}',)"):
        assert key in tokens(line), line
    assert "s3cr3t/pw" in tokens("DATABASE_URL=postgres://app:s3cr3t%2Fpw@db/app")
    assert "s3cr3t%2Fpw" in tokens("url: 'postgres://app:s3cr3t%2Fpw@db/app'")


def test_live_secrets_are_the_envs_plausible_secrets():
    environ = {"SECRET_KEY": "a" * 50, "DEBUG": "False", "DATABASE_URL": "postgres://u:pw%40x9Zq@db/app",
               "REDIS_URL": "redis://localhost:6379/0", "API_TOKEN": "tok_123456", "USE_PRIVATE_NETWORK": "false",
               "EMAIL_HOST_PASSWORD": "", "SENTRY_DSN": "https://0123456789abcdef0123@o1.ingest.example.com/1"}
    assert live_secrets(environ) == {
        "a" * 50: "the live SECRET_KEY", "pw%40x9Zq": "the database password in DATABASE_URL",
        "pw@x9Zq": "the database password in DATABASE_URL", "tok_123456": "the live API_TOKEN",
        "0123456789abcdef0123": "the password in SENTRY_DSN",
        "https://0123456789abcdef0123@o1.ingest.example.com/1": "the live SENTRY_DSN"}
    assert all(re.fullmatch(r"the [\w ]+", label) for label in live_secrets(environ).values())
