"""Secrets in the forms a hostile or careless project holds them never reach any output: percent-
encoded and unencoded URL passwords (with ``#``, ``/``, ``@``), ``*_PWD``, ``*_PASS``, ``*PASSWD*``,
tokens in a URL's user part, scp-style git remotes, literals of the settings module that show up in
its exception; in every format, on stdout, stderr, --output files and ``invoke inventory``. And
masking by name does not swallow ordinary values (``False`` under a ``*PRIVATE*`` name).
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import quote

import pytest
from conftest import git, invoke

from remediation.masking import encodings, mask_url, safe_value, scrub, secret_values, strip_userinfo, url_password

FORMATS = ("text", "markdown", "json")


def planted_values() -> dict[str, str]:
    tag = secrets.token_hex(6)
    return {
        "encoded_password": f"p@ss/w:rd#PLANTED{tag}",  # written percent-encoded in DATABASE_URL
        "raw_password": f"raw#pass/PLANTED{tag}",  # written as is (with # and /) in CACHE_URL
        "pwd": f"PLANTEDpwd{tag}",
        "pass": f"PLANTEDpass{tag}",
        "passwd": f"PLANTEDpasswd{tag}",
        "dsn_user": f"PLANTEDdsn{tag}0123456789",
        "literal": f"PLANTEDliteral{tag}",
    }


def every_form(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote(value), json.dumps(value)[1:-1], repr(value)[1:-1]}


def assert_nothing_leaked(text: str, values: dict[str, str]) -> None:
    for name, value in values.items():
        for form in every_form(value):
            assert form not in text, f"{name} leaked as {form!r}"


@pytest.fixture
def hostile(demo):
    """The demo with an env full of secrets in odd forms, and settings that raise quoting them."""
    values = planted_values()
    env = demo / ".env"
    env.write_text(
        env.read_text()
        + f"\nDATABASE_URL=postgres://app:{quote(values['encoded_password'], safe='')}@127.0.0.1:5432/app\n"
        + f"CACHE_URL=redis://:{values['raw_password']}@127.0.0.1:6379/0\n"
        + f"SMTP_PWD={values['pwd']}\nLEGACY_PASS={values['pass']}\nDB_PASSWD_OLD={values['passwd']}\n"
        + f"SENTRY_URL=https://{values['dsn_user']}@o1.ingest.example.com/42\n"
        + "USE_PRIVATE_NETWORK=False\n"
    )
    settings = demo / "backend" / "config" / "settings.py"
    settings.write_text(
        settings.read_text()
        + f"\nREPORTING_API_TOKEN = {values['literal']!r}\n"
        + "raise ValueError('cannot use ' + os.environ['DATABASE_URL'] + ' or ' + os.environ['CACHE_URL'] "
          "+ ' with ' + REPORTING_API_TOKEN + ' ' + repr(os.environ['SMTP_PWD']))\n"
    )
    return demo, values


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_in_any_encoding_in_any_format(hostile, fmt, tmp_path):
    demo, values = hostile
    out = tmp_path / f"report.{fmt}"
    run = invoke("audit", "--project", str(demo), "--format", fmt)
    to_file = invoke("audit", "--project", str(demo), "--format", fmt, "--output", str(out))
    assert run.returncode == 1 and to_file.returncode == 1, run.stderr
    assert_nothing_leaked(run.output + to_file.output + out.read_text(), values)


def test_the_exception_is_still_readable(hostile):
    demo, values = hostile
    run = invoke("audit", "--project", str(demo), "--format", "json")
    host = json.loads(run.stdout)["hosts"][0]
    error = {f["id"]: f for f in host["findings"]}["django.settings_error"]["detail"]
    assert error.startswith("ValueError: cannot use postgres://app:****@127.0.0.1:5432/app or "
                            "redis://:****@127.0.0.1:6379/0 with **** '****'"), error
    env = host["facts"]["env"]["values"]
    assert env["DATABASE_URL"] == "postgres://app:****@127.0.0.1:5432/app"
    assert env["CACHE_URL"] == "redis://:****@127.0.0.1:6379/0"
    assert env["SENTRY_URL"] == "https://****@o1.ingest.example.com/42"
    assert env["SMTP_PWD"] is True and env["LEGACY_PASS"] is True and env["DB_PASSWD_OLD"] is True
    assert env["USE_PRIVATE_NETWORK"] == "False", "a boolean under a secret-looking name is not a secret"
    assert env["DEBUG"] == "True"


def test_a_false_under_a_private_name_does_not_mask_every_false(lenient_demo):
    demo = lenient_demo  # DEBUG=False with a development ENVIRONMENT: the strict demo refuses it
    env = demo / ".env"
    env.write_text(env.read_text().replace("DEBUG=True", "DEBUG=False") + "\nUSE_PRIVATE_NETWORK=False\n")
    run = invoke("audit", "--project", str(demo), "--format", "json")
    host = json.loads(run.stdout)["hosts"][0]
    assert host["facts"]["env"]["values"]["DEBUG"] == "False"
    assert host["facts"]["env"]["values"]["USE_PRIVATE_NETWORK"] == "False"
    assert host["facts"]["probe"]["settings"]["DEBUG"] is False
    text = invoke("audit", "--project", str(demo), "--format", "markdown").stdout
    assert "False" in text


def test_git_remote_credentials_are_stripped_in_both_url_styles(git_demo):
    token = "PLANTEDgit" + secrets.token_hex(8)
    git(git_demo, "remote", "set-url", "origin", f"{token}@git.example.com:org/thebot.git")
    run = invoke("audit", "--project", str(git_demo), "--format", "json")
    assert token not in run.output
    assert json.loads(run.stdout)["hosts"][0]["facts"]["git"]["remote_url"] == "git.example.com:org/thebot.git"
    git(git_demo, "remote", "set-url", "origin", f"https://x-access-token:{token}@git.example.com/org/thebot.git")
    run = invoke("audit", "--project", str(git_demo), "--format", "text")
    assert token not in run.output


def test_inventory_masks_odd_passwords_and_secret_names(tmp_path):
    values = planted_values()
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "hosts:\n  web1:\n    address: 127.0.0.1\n"
        f"    database_url: 'postgres://app:{values['raw_password']}@db.example.com:5432/app'\n"
        f"    smtp_pwd: {values['pwd']}\n    legacy_pass: {values['pass']}\n    old_passwd_value: {values['passwd']}\n"
        f"    sentry: 'https://{values['dsn_user']}@o1.ingest.example.com/42'\n    use_private_network: false\n"
    )
    run = invoke("inventory", "-i", str(inventory))
    assert run.returncode == 0, run.stderr
    assert_nothing_leaked(run.output, {k: v for k, v in values.items() if k != "literal"})
    host = json.loads(run.stdout)[0]["vars"]
    assert host["database_url"] == "postgres://app:****@db.example.com:5432/app"
    assert host["sentry"] == "https://****@o1.ingest.example.com/42"
    assert host["smtp_pwd"] == host["legacy_pass"] == host["old_passwd_value"] == "****"
    assert host["use_private_network"] is False


def test_database_url_errors_do_not_print_an_unencoded_password(demo):
    password = "odd#pass/PLANTED" + secrets.token_hex(6)
    run = invoke("fix-prod", "--project", str(demo), "--check",
                 "--database-url", f"postgres://app:{password}@127.0.0.1:1/app")
    assert run.returncode == 2
    assert_nothing_leaked(run.output, {"password": password})
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


# --- the functions themselves ----------------------------------------------------------------


@pytest.mark.parametrize("url, password, masked", [
    ("postgres://u:pa#ss@h:5432/d", "pa#ss", "postgres://u:****@h:5432/d"),
    ("postgres://u:pa/ss@h/d", "pa/ss", "postgres://u:****@h/d"),
    ("postgres://u:p@ss@h/d", "p@ss", "postgres://u:****@h/d"),
    ("postgres://u:p%40ss@h/d", "p@ss", "postgres://u:****@h/d"),
    ("redis://:secretpw@h:6379/0", "secretpw", "redis://:****@h:6379/0"),
    ("https://host/path/a@b", None, "https://host/path/a@b"),
    ("https://deploy@host/x", None, "https://deploy@host/x"),
    ("https://0123456789abcdef0123@o1.example.com/1", None, "https://****@o1.example.com/1"),
])
def test_urls_are_parsed_leniently(url, password, masked):
    assert url_password(url) == password
    assert mask_url(url) == masked


def test_scp_remotes_lose_their_user():
    assert strip_userinfo("ghp_abcdefghij0123456789@github.example:org/r.git") == "github.example:org/r.git"
    assert strip_userinfo("https://user:pw@host/r.git") == "https://host/r.git"
    assert strip_userinfo("/srv/git/r.git") == "/srv/git/r.git"


@pytest.mark.parametrize("name", ["SMTP_PWD", "LEGACY_PASS", "DB_PASSWD_OLD", "PASSWD", "SENTRY_DSN", "GH_TOKEN"])
def test_secret_names(name):
    assert secret_values({name: "s3cret-value"}) == {"s3cret-value"}
    assert safe_value(name, "s3cret-value") is True


@pytest.mark.parametrize("value", ["False", "true", "0", "", "443", "none", "off"])
def test_ordinary_values_under_secret_names_stay_visible(value):
    assert secret_values({"USE_PRIVATE_NETWORK": value}) == set()
    assert safe_value("USE_PRIVATE_NETWORK", value) == value
    assert scrub("DEBUG=False port 443 off", {value}) == "DEBUG=False port 443 off"


def test_scrub_covers_every_encoding():
    secret = "it's p@ss/w0rd"
    forms = encodings(secret)
    assert {"it%27s%20p%40ss%2Fw0rd", "it%27s%20p%40ss/w0rd", "it%27s+p%40ss%2Fw0rd", "it's p@ss/w0rd",
            "it'\"'\"'s p@ss/w0rd"} <= forms
    text = " | ".join(sorted(forms))
    assert set(scrub(text, {secret}).split(" | ")) == {"****"}


def test_scrub_is_linear_enough_for_ten_thousand_secrets():
    """Not a timing assert: the 4-gram filter must leave only the secrets that occur."""
    many = {f"token-{i:05d}-{secrets.token_hex(4)}" for i in range(10_000)}
    present = sorted(many)[:3]
    text = ("filler text " * 20_000) + " ".join(present)
    assert scrub(text, many).endswith("**** **** ****")


def test_a_numeric_password_is_still_a_secret():
    assert safe_value("DB_PASSWORD", 31415926) is True
    assert safe_value("PRIVATE_PORT", 8443) == 8443


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_fix_prod_check_prints_no_secret_in_any_encoding(hostile, fmt, tmp_path):
    """fix-prod probes the same settings (they raise quoting the secrets), plans and diffs the env."""
    demo, values = hostile
    out = tmp_path / f"fix.{fmt}"
    run = invoke("fix-prod", "--project", str(demo), "--check", "--diff", "--domain", "thebot.example.com",
                 "--format", fmt, "--output", str(out))
    assert run.returncode == 1, run.output  # the settings raise: blocked, nothing written (--check)
    assert "Traceback" not in run.output
    assert_nothing_leaked(run.output + out.read_text(), values)
