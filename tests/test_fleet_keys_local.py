"""Fleet-key options on one host and their bad input, without SSH: dated fallbacks dropped per
host, a rotation refused when the settings would not read the fallbacks, and every bad value one
line, exit 2, nothing written."""

from __future__ import annotations

import datetime
import json

import pytest
import yaml
from conftest import invoke, tree_digest
from fleetkeys_helpers import RECORD, leaked, prod_env, record

from remediation.fixes.secret_key import strong


def fix_prod(project, *args):
    run = invoke("fix-prod", "--project", str(project), "--domain", "thebot.example.com", "--format", "json", *args,
                 timeout=300)
    document = json.loads(run.stdout) if run.stdout.strip().startswith("{") else None
    return run, document


def secret_key_fix(document):
    return next((f["status"], f["message"]) for f in document["hosts"][0]["fixes"] if f["name"] == "secret_key")


def test_one_host_rotates_records_the_date_and_drops_it_later(lenient_demo):
    run, _ = fix_prod(lenient_demo)
    first = prod_env(lenient_demo)["SECRET_KEY"]
    run, document = fix_prod(lenient_demo, "--rotate-secret-key")
    assert secret_key_fix(document) == ("changed", "SECRET_KEY rotated; the old key kept in SECRET_KEY_FALLBACKS")
    second = prod_env(lenient_demo)["SECRET_KEY"]
    assert prod_env(lenient_demo)["SECRET_KEY_FALLBACKS"] == first and strong(second)
    data = record(lenient_demo)
    assert list(data["added"].values()) == [datetime.datetime.now(datetime.timezone.utc).date().isoformat()]
    assert first not in (lenient_demo / RECORD).read_text()

    run2, document = fix_prod(lenient_demo, "--rotate-secret-key", "--drop-fallbacks-older-than", "0")
    assert secret_key_fix(document) == (
        "changed", "SECRET_KEY rotated; the old key kept in SECRET_KEY_FALLBACKS; 0 fallback(s) older than 0 days dropped")
    third = prod_env(lenient_demo)["SECRET_KEY"]
    assert prod_env(lenient_demo)["SECRET_KEY_FALLBACKS"] == f"{second},{first}"
    assert len(record(lenient_demo)["added"]) == 2

    data = record(lenient_demo)
    old = (datetime.date.today() - datetime.timedelta(days=10)).isoformat()
    fp_first = next(fp for fp, day in data["added"].items())  # sorted: fake one of them, the other stays today's
    data["added"][fp_first] = old
    (lenient_demo / RECORD).write_text(json.dumps(data))
    run3, document = fix_prod(lenient_demo, "--drop-fallbacks-older-than", "7")
    assert secret_key_fix(document) == ("changed", "SECRET_KEY is strong; kept; 1 fallback(s) older than 7 days dropped")
    kept = prod_env(lenient_demo)["SECRET_KEY_FALLBACKS"]
    assert kept in (first, second) and len(record(lenient_demo)["added"]) == 1
    before = tree_digest(lenient_demo)
    run4, document = fix_prod(lenient_demo, "--drop-fallbacks-older-than", "7")
    assert secret_key_fix(document)[0] == "ok"
    assert {k: v for k, v in tree_digest(lenient_demo).items() if not k.startswith(".remediation/runs")} == \
        {k: v for k, v in before.items() if not k.startswith(".remediation/runs")}
    assert leaked("\n".join(r.output for r in (run, run2, run3, run4)), [first, second, third]) == []


def test_a_fallback_added_by_hand_has_no_date_and_is_kept(lenient_demo):
    fix_prod(lenient_demo)
    env = lenient_demo / ".env.production"
    by_hand = "PLANTEDhand" + "Zx9Yw8Vu7T" * 5
    env.write_text(env.read_text() + f"SECRET_KEY_FALLBACKS={by_hand}\n")
    before = env.read_bytes()
    run, document = fix_prod(lenient_demo, "--drop-fallbacks-older-than", "0")
    assert secret_key_fix(document) == ("ok", "SECRET_KEY is strong; kept; 0 fallback(s) older than 0 days dropped, "
                                              "1 kept with no recorded date (added by hand: remove it yourself)")
    assert env.read_bytes() == before
    assert leaked(run.output, [by_hand]) == []


def test_rotation_is_refused_when_the_settings_do_not_read_the_fallbacks(lenient_demo):
    fix_prod(lenient_demo)
    settings = lenient_demo / "backend" / "config" / "settings.py"
    settings.write_text(settings.read_text().replace('SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")\n', ""))
    key = prod_env(lenient_demo)["SECRET_KEY"]
    run, document = fix_prod(lenient_demo, "--rotate-secret-key")
    status, message = secret_key_fix(document)
    assert status == "failed"
    assert message.startswith("SECRET_KEY not rotated: the settings do not read SECRET_KEY_FALLBACKS from the env, "
                              "so sessions and signatures made with the old key would stop working")
    assert prod_env(lenient_demo)["SECRET_KEY"] == key and "SECRET_KEY_FALLBACKS" not in prod_env(lenient_demo)
    assert not (lenient_demo / RECORD).exists()
    assert run.returncode == 1 and leaked(run.output, [key]) == []


def test_a_malformed_fallback_record_is_one_line_and_nothing_written(lenient_demo):
    fix_prod(lenient_demo)
    (lenient_demo / RECORD).write_text('{"version": 1, "salt": "zz", "added": {}}')
    before = tree_digest(lenient_demo)
    run, _ = fix_prod(lenient_demo, "--rotate-secret-key")
    assert run.returncode == 2
    assert run.stderr == (f"error: {lenient_demo / RECORD}: not a SECRET_KEY fallback record (version, salt, added: "
                          "fingerprint -> YYYY-MM-DD); fix or remove it\n")
    assert tree_digest(lenient_demo) == before


def fleet_inventory(tmp_path, project, group="thebot"):
    inventory = {"hosts": {"web1": {"address": "127.0.0.1", "port": 9, "project": str(project)},
                           "web2": {"address": "127.0.0.1", "port": 9, "project": str(project)}},
                 "groups": {"web": {"hosts": ["web1", "web2"], "vars": {"secret_key_group": group}}}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path


@pytest.mark.parametrize("args, error", [
    (["--drop-fallbacks-older-than", "abc"], "--drop-fallbacks-older-than: 'abc' is not a whole number of days (0 or more)"),
    (["--drop-fallbacks-older-than", "-1"], "--drop-fallbacks-older-than: '-1' is not a whole number of days (0 or more)"),
    (["--store-in-vault", "vault.yml"], "--store-in-vault stores the key of a secret_key_group: pass -i INVENTORY too"),
])
def test_bad_key_options(lenient_demo, args, error):
    before = tree_digest(lenient_demo)
    run, _ = fix_prod(lenient_demo, *args)
    assert (run.returncode, run.stderr) == (2, f"error: {error}\n")
    assert tree_digest(lenient_demo) == before


@pytest.mark.parametrize("group, args, error", [
    ([1, 2], [], "web1: secret_key_group must be a name (letters, digits, '.', '_', '-'; at most 64), not list"),
    ("a b", [], "web1: secret_key_group must be a name (letters, digits, '.', '_', '-'; at most 64), not 'a b'"),
    ("thebot", ["--rotate-secret-key", "-l", "web1"],
     "--rotate-secret-key rotates whole sets: --limit leaves out web2 of secret_key_group thebot"),
])
def test_bad_fleet_input_is_one_line_before_any_host_is_touched(lenient_demo, tmp_path, group, args, error):
    inventory = fleet_inventory(tmp_path, lenient_demo, group)
    before = tree_digest(lenient_demo)
    run = invoke("fix-prod", "-i", str(inventory), *args)
    assert (run.returncode, run.stderr) == (2, f"error: {error}\n")
    assert tree_digest(lenient_demo) == before
    if not args:
        audit = invoke("audit", "-i", str(inventory))
        assert (audit.returncode, audit.stderr) == (2, f"error: {error}\n")


def test_rollback_restores_the_key_and_the_fallback_record(lenient_demo):
    fix_prod(lenient_demo)
    env_before = (lenient_demo / ".env.production").read_bytes()
    run, document = fix_prod(lenient_demo, "--rotate-secret-key")
    assert secret_key_fix(document)[0] == "changed" and (lenient_demo / RECORD).exists()
    rotated = prod_env(lenient_demo)["SECRET_KEY"]
    undo = invoke("rollback", "--project", str(lenient_demo))
    assert undo.returncode == 0, undo.stderr
    assert (lenient_demo / ".env.production").read_bytes() == env_before
    assert not (lenient_demo / RECORD).exists(), "the record the run created is removed with it"
    assert leaked(run.output + undo.output, [prod_env(lenient_demo)["SECRET_KEY"], rotated]) == []
