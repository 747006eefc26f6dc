"""Fleet-wide SECRET_KEY over real sshd hosts: one key per secret_key_group, proven by fingerprint,
rotated on every host in one run with the old key kept (and working) as a fallback, old fallbacks
dropped, disagreement and unreachable members reported without a key being picked or printed."""

from __future__ import annotations

import datetime
import json

from conftest import copy_demo, make_lenient, tree_digest
from fleetkeys_helpers import (GROUP, RECORD, finding_states, fix_prod, fix_status, hosts_of, leaked, prod_env, record,
                               sign, validates, write_inventory)
from sshd import ssh_client_key, ssh_hosts  # noqa: F401  (fixtures)

from remediation.fixes.secret_key import strong


def projects_for(tmp_path, hosts):
    return [make_lenient(copy_demo(tmp_path / f"{h.name}-thebot")) for h in hosts]


def plant_dev_key(project, key):
    env = project / ".env"
    lines = [f"SECRET_KEY={key}" if line.startswith("SECRET_KEY=") else line for line in env.read_text().splitlines()]
    env.write_text("\n".join(lines) + "\n")


def test_one_key_per_set_rotated_and_dropped_on_every_host(ssh_hosts, tmp_path):
    hosts = ssh_hosts(2)
    projects = projects_for(tmp_path, hosts)
    # the hosts start apart: each its own insecure development key
    dev_keys = ["django-insecure-web1^k2m!x9e3r_p0w8t+z5c1n4b6y-h@s%j=a3d7f0g2l8u1",
                "django-insecure-web2^k2m!x9e3r_p0w8t+z5c1n4b6y-h@s%j=a3d7f0g2l8u1"]
    for project, key in zip(projects, dev_keys):
        plant_dev_key(project, key)
    inventory, known = write_inventory(tmp_path, hosts, projects)
    outputs, keys = [], set(dev_keys)

    before = [tree_digest(p) for p in projects]
    run, document = fix_prod(inventory, known, "-C", "-D")
    outputs.append(run.output)
    assert {h: fix_status(d)[0] for h, d in hosts_of(document).items()} == {"web1": "changed", "web2": "changed"}
    assert fix_status(hosts_of(document)["web1"])[1] == f"SECRET_KEY generated for secret_key_group {GROUP} (web1, web2)"
    assert "+SECRET_KEY=****" in hosts_of(document)["web1"]["changes"][0]["diff"]
    assert [tree_digest(p) for p in projects] == before, "--check writes nothing on any host"
    assert [h.accepted() for h in hosts] == [1, 1], "the set's read and the run share one connection per host"

    run, document = fix_prod(inventory, known)
    outputs.append(run.output)
    result = hosts_of(document)
    assert {h: d["status"] for h, d in result.items()} == {"web1": "ok", "web2": "ok"}, run.stderr
    assert {h: fix_status(d)[0] for h, d in result.items()} == {"web1": "changed", "web2": "changed"}
    key = prod_env(projects[0])["SECRET_KEY"]
    keys.add(key)
    assert strong(key) and prod_env(projects[1])["SECRET_KEY"] == key, "one key on both hosts"
    # the proof: the audit before saw two keys, the audit after one fingerprint on both
    assert {h: finding_states(d)["drift.secret_key"] for h, d in result.items()} == {"web1": "fixed", "web2": "fixed"}
    fingerprints = {h: d["audit"]["facts"]["probe"]["settings"]["SECRET_KEY"]["fingerprint"] for h, d in result.items()}
    assert fingerprints["web1"] == fingerprints["web2"] and len(fingerprints["web1"]) == 16

    env_bytes = [(p / ".env.production").read_bytes() for p in projects]
    run, document = fix_prod(inventory, known)
    outputs.append(run.output)
    assert {h: fix_status(d) for h, d in hosts_of(document).items()} == {
        h: ("ok", f"SECRET_KEY is secret_key_group {GROUP}'s; kept") for h in ("web1", "web2")}
    assert [(p / ".env.production").read_bytes() for p in projects] == env_bytes, "a second run changes nothing"
    assert not (projects[0] / RECORD).exists(), "no fallback yet, no record"

    signed = [sign(p) for p in projects]  # a signature and a session cookie made with the old key, on each host
    run, document = fix_prod(inventory, known, "--rotate-secret-key")
    outputs.append(run.output)
    assert {h: fix_status(d) for h, d in hosts_of(document).items()} == {
        h: ("changed", f"SECRET_KEY rotated for secret_key_group {GROUP} (web1, web2); the old key kept in "
                       "SECRET_KEY_FALLBACKS") for h in ("web1", "web2")}
    new = prod_env(projects[0])["SECRET_KEY"]
    keys.add(new)
    assert new != key and strong(new)
    assert [(prod_env(p)["SECRET_KEY"], prod_env(p)["SECRET_KEY_FALLBACKS"]) for p in projects] == [(new, key)] * 2
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    records = [record(p) for p in projects]
    assert [list(r["added"].values()) for r in records] == [[today], [today]]
    assert key not in json.dumps(records) and oct((projects[0] / RECORD).stat().st_mode & 0o777) == "0o600"
    for project in projects:  # the old key's signatures still validate on every host: the fallback works
        for made in signed:
            assert validates(project, made)
    assert validates(projects[1], sign(projects[0])), "the new key is shared too"

    env_bytes = [(p / ".env.production").read_bytes() for p in projects]
    run, document = fix_prod(inventory, known, "--drop-fallbacks-older-than", "30")
    outputs.append(run.output)
    assert fix_status(hosts_of(document)["web2"]) == (
        "ok", f"SECRET_KEY is secret_key_group {GROUP}'s; kept; 0 fallback(s) older than 30 days dropped")
    assert [(p / ".env.production").read_bytes() for p in projects] == env_bytes, "a fallback of today is kept"

    for project in projects:  # the record says the fallback was added 31 days ago
        data = record(project)
        data["added"] = {fp: (datetime.date.fromisoformat(today) - datetime.timedelta(days=31)).isoformat()
                         for fp in data["added"]}
        (project / RECORD).write_text(json.dumps(data))
    run, document = fix_prod(inventory, known, "--drop-fallbacks-older-than", "30")
    outputs.append(run.output)
    assert {h: fix_status(d)[0] for h, d in hosts_of(document).items()} == {"web1": "changed", "web2": "changed"}
    assert [(prod_env(p)["SECRET_KEY"], prod_env(p)["SECRET_KEY_FALLBACKS"]) for p in projects] == [(new, "")] * 2
    assert [record(p)["added"] for p in projects] == [{}, {}]
    assert not validates(projects[0], signed[0]), "the dropped key no longer signs in"

    env_bytes = [(p / ".env.production").read_bytes() for p in projects]
    run, document = fix_prod(inventory, known, "--drop-fallbacks-older-than", "30")
    outputs.append(run.output)
    assert {h: fix_status(d)[0] for h, d in hosts_of(document).items()} == {"web1": "ok", "web2": "ok"}
    assert [(p / ".env.production").read_bytes() for p in projects] == env_bytes, "dropping is idempotent"
    assert leaked("\n".join(outputs), keys) == []


def plant_production_key(project, key):
    """A production env as an earlier per-host fix-prod left it: its own strong key."""
    text = (project / ".env").read_text()
    lines = [f"SECRET_KEY={key}" if line.startswith("SECRET_KEY=") else line for line in text.splitlines()]
    (project / ".env.production").write_text("\n".join(lines) + "\n")
    (project / ".env.production").chmod(0o600)


def audit_json(inventory, known):
    from conftest import invoke

    run = invoke("audit", "-i", str(inventory), "--known-hosts", str(known), "--format", "json", timeout=300)
    return run, hosts_of(json.loads(run.stdout))


def test_hosts_that_disagree_are_named_by_fingerprint_and_rotation_joins_them(ssh_hosts, tmp_path):
    hosts = ssh_hosts(2)
    projects = projects_for(tmp_path, hosts)
    old = ["PLANTEDone" + "a1B2c3D4e5" * 6, "PLANTEDtwo" + "f6G7h8J9k0" * 6]
    for project, key in zip(projects, old):
        plant_production_key(project, key)
    inventory, known = write_inventory(tmp_path, hosts, projects, env_file=".env.production")
    outputs = []

    run, audited = audit_json(inventory, known)
    outputs.append(run.output)
    drift = {h: next(f for f in d["findings"] if f["id"] == "drift.secret_key") for h, d in audited.items()}
    fps = {h: d["facts"]["probe"]["settings"]["SECRET_KEY"]["fingerprint"] for h, d in audited.items()}
    assert fps["web1"] != fps["web2"]
    assert drift["web1"]["detail"] == drift["web2"]["detail"] == (
        f"secret_key_group {GROUP}: the hosts hold different keys (web1: key {fps['web1']}, web2: key {fps['web2']}); "
        "sessions and signatures made on one host fail on the others: fix-prod -i INVENTORY gives the set one key")
    assert (drift["web1"]["severity"], drift["web1"]["fix"]) == ("high", "secret_key")

    run, document = fix_prod(inventory, known)
    outputs.append(run.output)
    result = hosts_of(document)
    status, message = fix_status(result["web1"])
    assert status == "failed" and fix_status(result["web2"]) == (status, message)
    assert message.startswith(f"secret_key_group {GROUP}: the hosts hold different SECRET_KEYs (web1: key ")
    assert message.endswith("; nothing changed on any host: run with --rotate-secret-key to give the set one new key "
                            "(every old key kept in SECRET_KEY_FALLBACKS)")
    shown = message.split("(", 1)[1].split(")")[0]  # "web1: key X; web2: key Y"
    assert [side.split(": key ")[0] for side in shown.split("; ")] == ["web1", "web2"]
    assert len({side.split(": key ")[1] for side in shown.split("; ")}) == 2, "two fingerprints, no key"
    assert [prod_env(p)["SECRET_KEY"] for p in projects] == old, "no key picked for them"
    assert {h: finding_states(d)["drift.secret_key"] for h, d in result.items()} == {"web1": "still open",
                                                                                   "web2": "still open"}
    assert run.returncode == 1

    signed = [sign(p) for p in projects]
    run, document = fix_prod(inventory, known, "--rotate-secret-key")
    outputs.append(run.output)
    assert {h: fix_status(d)[0] for h, d in hosts_of(document).items()} == {"web1": "changed", "web2": "changed"}
    new = prod_env(projects[0])["SECRET_KEY"]
    assert [(prod_env(p)["SECRET_KEY"], prod_env(p)["SECRET_KEY_FALLBACKS"]) for p in projects] == \
        [(new, ",".join(old))] * 2, "every old key of the set kept on every host"
    for project in projects:  # behind one load balancer: a session made on either host works on both
        assert all(validates(project, made) for made in signed)
    run, audited = audit_json(inventory, known)
    outputs.append(run.output)
    assert [f for d in audited.values() for f in d["findings"] if f["id"] == "drift.secret_key"] == []
    assert leaked("\n".join(outputs), [*old, new]) == []


def test_an_unreachable_member_changes_the_key_of_no_host(ssh_hosts, tmp_path):
    hosts = ssh_hosts(1)
    projects = projects_for(tmp_path, hosts)
    down = {"address": "127.0.0.1", "port": 9, "user": hosts[0].user, "key": str(hosts[0].client_key),
            "project": str(projects[0]), "python": "python3"}
    inventory, known = write_inventory(tmp_path, hosts, projects, extra_hosts={"web9": down})
    run, document = fix_prod(inventory, known)
    result = hosts_of(document)
    assert result["web9"]["status"] == "unreachable"
    status, message = fix_status(result["web1"])
    assert status == "failed"
    assert message.startswith(f"secret_key_group {GROUP}: web9 could not be read (web9: unreachable: web9 (127.0.0.1:9)")
    assert message.endswith("; the set's key was not changed on any host")
    assert prod_env(projects[0])["SECRET_KEY"].startswith("django-insecure-"), "no key of its own either"
    assert finding_states(result["web1"])["env.secret_key"] == "still open"
    assert run.returncode == 1


def test_a_host_outside_limit_is_read_not_written_and_a_new_host_adopts_the_key(ssh_hosts, tmp_path):
    hosts = ssh_hosts(2)
    projects = projects_for(tmp_path, hosts)
    inventory, known = write_inventory(tmp_path, hosts, projects)
    untouched = tree_digest(projects[1])
    run, document = fix_prod(inventory, known, "-l", "web1")
    assert list(hosts_of(document)) == ["web1"]
    assert fix_status(hosts_of(document)["web1"]) == (
        "changed", f"SECRET_KEY generated for secret_key_group {GROUP} (web1, web2)")
    assert hosts_of(document)["web1"]["notes"][-1] == (
        f"secret_key_group {GROUP}: web2 outside --limit: read for the set's key, not written, not compared")
    assert tree_digest(projects[1]) == untouched, "read, never written"
    key = prod_env(projects[0])["SECRET_KEY"]
    again, document = fix_prod(inventory, known, "-l", "web2")
    assert fix_status(hosts_of(document)["web2"]) == ("changed", f"SECRET_KEY of secret_key_group {GROUP} adopted from web1")
    assert prod_env(projects[1])["SECRET_KEY"] == key
    assert leaked(run.output + again.output, [key]) == []
