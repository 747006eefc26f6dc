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
