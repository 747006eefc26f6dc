"""audit and fix-prod over SSH: real sshd test hosts on loopback addresses, each with its own copy
of the demo, driven through `invoke ... -i INVENTORY` exactly as a user would."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import yaml
from conftest import REPO, copy_demo, git, invoke, make_git_repo, make_lenient, tree_digest
from gates import gated_python
from dotenv import dotenv_values
from sshd import ssh_client_key, ssh_host, ssh_hosts  # noqa: F401  (fixtures)

DOMAIN = "thebot.example.com"


def write_inventory(tmp_path, hosts, projects, known=None, extra_vars=None, name="inventory.yml"):
    """Our YAML inventory for the sshd hosts, and a known_hosts file holding ``known`` of them."""
    inventory = {"hosts": {}}
    for host, project in zip(hosts, projects):
        inventory["hosts"][host.name] = {
            "address": host.address, "port": host.port, "user": host.user, "key": str(host.client_key),
            "project": str(project), "python": sys.executable, **(extra_vars or {}).get(host.name, {}),
        }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(inventory))
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("".join(h.known_hosts_line + "\n" for h in (hosts if known is None else known)))
    return path, known_hosts


def projects_for(tmp_path, hosts):
    return [copy_demo(tmp_path / f"{h.name}-thebot") for h in hosts]


def run_json(*args):
    run = invoke(*args, "--format", "json")
    return run, json.loads(run.stdout) if run.stdout.strip().startswith("{") else None


def by_host(document):
    return {h["host"]: h for h in document["hosts"]}


def comparable(findings, root):
    return sorted((f["id"], f["severity"], f["detail"].replace(str(root), "<root>")) for f in findings)


def test_remote_audit_gives_the_local_findings_over_one_connection_per_host(ssh_hosts, tmp_path):
    hosts = ssh_hosts(2)
    projects = projects_for(tmp_path, hosts)
    inventory, known = write_inventory(tmp_path, hosts, projects)
    before = [tree_digest(p) for p in projects]
    run, document = run_json("audit", "-i", str(inventory), "--known-hosts", str(known))
    assert run.returncode == 1, run.stderr
    remote = by_host(document)
    assert list(remote) == ["web1", "web2"]
    for host, project in zip(hosts, projects):
        local, local_doc = run_json("audit", "--project", str(project))
        assert comparable(remote[host.name]["findings"], project) == comparable(local_doc["hosts"][0]["findings"], project)
        assert remote[host.name]["status"] == "ok"
        assert host.accepted() == 1, "one SSH connection per host per run"
    assert [tree_digest(p) for p in projects] == before
    assert "web1: ok in" in run.stderr and "[2/2]" in run.stderr


def test_unknown_host_key_stops_that_host_only(ssh_hosts, tmp_path):
    hosts = ssh_hosts(2)
    projects = projects_for(tmp_path, hosts)
    inventory, known = write_inventory(tmp_path, hosts, projects, known=hosts[:1])
    run, document = run_json("audit", "-i", str(inventory), "--known-hosts", str(known))
    assert run.returncode == 1
    result = by_host(document)
    assert result["web1"]["status"] == "ok" and result["web1"]["findings"]
    assert result["web2"]["status"] == "unreachable"
    assert hosts[1].host_key_fingerprint in result["web2"]["error"]
    assert "unknown host key" in result["web2"]["error"]
    assert hosts[1].accepted() == 0, "no command may run on a host whose key is unknown"
    assert known.read_text() == hosts[0].known_hosts_line + "\n"


def test_accept_new_host_keys_records_them_then_checks_them(ssh_hosts, tmp_path):
    hosts = ssh_hosts(2)
    projects = projects_for(tmp_path, hosts)
    inventory, known = write_inventory(tmp_path, hosts, projects, known=[])
    run, document = run_json("audit", "-i", str(inventory), "--known-hosts", str(known), "--accept-new-host-keys")
    assert all(h["status"] == "ok" for h in document["hosts"]), run.stderr
    recorded = known.read_text()
    assert all(h.host_public_key in recorded for h in hosts)
    strict, document = run_json("audit", "-i", str(inventory), "--known-hosts", str(known))
    assert all(h["status"] == "ok" for h in document["hosts"])


def test_changed_host_key_is_refused_even_with_accept_new(ssh_hosts, tmp_path):
    hosts = ssh_hosts(1)
    projects = projects_for(tmp_path, hosts)
    inventory, known = write_inventory(tmp_path, hosts, projects)
    recorded = known.read_text()
    hosts[0].restart(new_host_key=True)
    run, document = run_json("audit", "-i", str(inventory), "--known-hosts", str(known), "--accept-new-host-keys")
    host = by_host(document)["web1"]
    assert host["status"] == "unreachable" and "CHANGED" in host["error"]
    assert hosts[0].host_key_fingerprint in host["error"]
    assert known.read_text() == recorded
    assert hosts[0].accepted() == 0


def test_unreachable_host_and_missing_project_do_not_stop_the_others(ssh_hosts, tmp_path):
    hosts = ssh_hosts(3)
    projects = projects_for(tmp_path, hosts)
    projects[2] = tmp_path / "no-such-project"
    inventory, known = write_inventory(tmp_path, hosts, projects)
    hosts[1].stop()
    run, document = run_json("audit", "-i", str(inventory), "--known-hosts", str(known))
    assert run.returncode == 1
    result = by_host(document)
    assert result["web1"]["status"] == "ok" and result["web1"]["findings"]
    assert result["web2"]["status"] == "unreachable" and "web2" in result["web2"]["error"]
    assert result["web3"]["status"] == "failed"
    assert result["web3"]["error"] == f"{tmp_path / 'no-such-project'}: no such directory"
    text = invoke("audit", "-i", str(inventory), "--known-hosts", str(known))
    assert "RECAP" in text.stdout and "unreachable" in text.stdout


def test_limit_selects_hosts(ssh_hosts, tmp_path):
    hosts = ssh_hosts(2)
    inventory, known = write_inventory(tmp_path, hosts, projects_for(tmp_path, hosts))
    run, document = run_json("audit", "-i", str(inventory), "--known-hosts", str(known), "-l", "web2")
    assert list(by_host(document)) == ["web2"]
    assert hosts[0].accepted() == 0


def test_malformed_inventory(tmp_path):
    bad = tmp_path / "bad.ini"
    bad.write_text("[web]\nweb1 ansible_host=127.0.0.2\nweb2 ansible_port\n")
    run = invoke("audit", "-i", str(bad))
    assert run.returncode == 2
    assert run.stderr.startswith(f"error: {bad}:3:")
    assert len(run.stderr.strip().splitlines()) == 1


def test_inventory_task_masks_secrets(tmp_path):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[web]\nweb1 ansible_host=127.0.0.2 database_url=postgres://u:PLANTEDinv@db/x "
                         "ansible_become_password=PLANTEDbecome\n")
    run = invoke("inventory", "-i", str(inventory))
    assert run.returncode == 0
    assert "PLANTEDinv" not in run.output and "PLANTEDbecome" not in run.output
    assert "postgres://u:****@db/x" in run.stdout


def test_drift_between_hosts(ssh_hosts, tmp_path):
    hosts = ssh_hosts(3)
    projects = projects_for(tmp_path, hosts)
    odd = projects[2]
    env = (odd / ".env").read_text().replace("SECRET_KEY=django-insecure-", "SECRET_KEY=django-insecure-x")
    (odd / ".env").write_text(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "invoices", "--noinput"], cwd=odd / "backend",
                   capture_output=True, check=True)
    inventory, known = write_inventory(tmp_path, hosts, projects)
    run, document = run_json("audit", "-i", str(inventory), "--known-hosts", str(known))
    result = by_host(document)
    drift = {f["id"]: f for f in result["web3"]["findings"] if f["area"] == "drift"}
    assert set(drift) == {"drift.secret_key", "drift.migrations"}
    assert drift["drift.secret_key"]["detail"] == "web3 differs from web1, web2"
    assert not [f for f in result["web1"]["findings"] if f["area"] == "drift"]
    assert "django-insecure-x" not in run.output
    fingerprints = {h: result[h]["facts"]["probe"]["settings"]["SECRET_KEY"]["fingerprint"] for h in result}
    assert fingerprints["web1"] == fingerprints["web2"] != fingerprints["web3"]


def test_remote_fix_prod_makes_the_local_changes(ssh_host, tmp_path):
    # lenient: fix-prod on SQLite (the strict demo stops for a PostgreSQL DATABASE_URL)
    remote_project, local_project = make_lenient(copy_demo(tmp_path / "remote")), make_lenient(copy_demo(tmp_path / "local"))
    inventory, known = write_inventory(tmp_path, [ssh_host], [remote_project],
                                       extra_vars={"web1": {"domains": [DOMAIN]}})
    before = tree_digest(remote_project)
    checked, document = run_json("fix-prod", "-i", str(inventory), "--known-hosts", str(known), "-C", "-D")
    assert {f["name"]: f["status"] for f in by_host(document)["web1"]["fixes"]}["secret_key"] == "changed"
    assert "+DEBUG=False" in by_host(document)["web1"]["changes"][0]["diff"]
    assert tree_digest(remote_project) == before, "check mode over SSH writes nothing"
    run, document = run_json("fix-prod", "-i", str(inventory), "--known-hosts", str(known))
    local, local_doc = run_json("fix-prod", "--project", str(local_project), "--domain", DOMAIN)
    remote = by_host(document)["web1"]
    assert remote["status"] == "ok", remote["error"]

    def summary(host):
        return {f["name"]: f["status"] for f in host["fixes"]}, sorted((f["id"], f["status"]) for f in host["findings"])

    assert summary(remote) == summary(local_doc["hosts"][0])
    remote_env, local_env = dotenv_values(remote_project / ".env.production"), dotenv_values(local_project / ".env.production")
    assert set(remote_env) == set(local_env)
    assert {k: v for k, v in remote_env.items() if k != "SECRET_KEY"} == {k: v for k, v in local_env.items() if k != "SECRET_KEY"}
    assert oct((remote_project / ".env.production").stat().st_mode & 0o777) == "0o600"
    assert remote_env["SECRET_KEY"] not in run.output
    assert ssh_host.accepted() == 2, "one connection per run: the check run and this one"
    again, document = run_json("fix-prod", "-i", str(inventory), "--known-hosts", str(known))
    assert by_host(document)["web1"]["recap"]["changed"] == 0


def test_connection_dropped_during_fix_prod(ssh_host, tmp_path):
    """The network fails while the run is inside migrate, after the env file was written."""
    project = make_lenient(copy_demo(tmp_path / "thebot"))  # fix-prod on SQLite: the strict demo stops earlier
    gate = gated_python(tmp_path)
    inventory, known = write_inventory(tmp_path, [ssh_host], [project], extra_vars={"web1": {"domains": [DOMAIN]}})
    gated = tmp_path / "gated.yml"
    gated.write_text(inventory.read_text().replace(sys.executable, str(gate.python)))
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "fix-prod", "-i", str(gated), "--known-hosts", str(known),
                             "--format", "json"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        gate.wait(proc)
        ssh_host.drop_connections()
        out, err = proc.communicate(timeout=120)
    finally:
        gate.stop.touch()  # the orphaned migrate never runs
    assert proc.returncode == 1, err
    host = by_host(json.loads(out))["web1"]
    assert host["status"] == "unreachable"
    assert host["error"].startswith(f"web1 ({ssh_host.address}:{ssh_host.port}): lost the connection"), host["error"]
    assert not list(project.rglob("*.tmp")), "no half-written temp file may stay behind"
    assert dotenv_values(project / ".env.production")["DEBUG"] == "False", "written whole before migrate"
    run, document = run_json("fix-prod", "-i", str(inventory), "--known-hosts", str(known))
    host = by_host(document)["web1"]
    assert host["status"] == "ok", host["error"]  # the dead run's lock died with its connection
    assert run.returncode == 1  # external credentials still need a person
    assert {f["name"]: f["status"] for f in host["fixes"]}["migrate"] == "changed"
    assert dotenv_values(project / ".env.production")["DEBUG"] == "False"


def test_an_ansible_ini_inventory_works_unchanged(ssh_hosts, tmp_path):
    hosts = ssh_hosts(2)
    projects = projects_for(tmp_path, hosts)
    lines = ["[web]"]
    for host, project in zip(hosts, projects):
        lines.append(f"{host.name} ansible_host={host.address} ansible_port={host.port} project={project}")
    lines += ["", "[web:vars]", f"ansible_user={hosts[0].user}", f"ansible_ssh_private_key_file={hosts[0].client_key}",
              f"ansible_python_interpreter={sys.executable}", ""]
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("\n".join(lines))
    known = tmp_path / "known_hosts"
    known.write_text("".join(h.known_hosts_line + "\n" for h in hosts))
    run, document = run_json("audit", "-i", str(inventory), "--known-hosts", str(known), "-l", "web")
    assert [(h["host"], h["status"]) for h in document["hosts"]] == [("web1", "ok"), ("web2", "ok")], run.stderr
    assert {f["id"] for f in document["hosts"][0]["findings"]} >= {"env.debug", "env.secret_key", "database.sqlite"}


def applied_migrations(project):
    with sqlite3.connect(project / "backend" / "db.sqlite3") as conn:
        return conn.execute("SELECT app, name FROM django_migrations ORDER BY app, name").fetchall()


def test_rollback_over_ssh(ssh_host, tmp_path):
    project = make_lenient(copy_demo(tmp_path / "thebot"))
    dev_env = (project / ".env").read_text()
    migrations_before = applied_migrations(project)
    inventory, known = write_inventory(tmp_path, [ssh_host], [project], extra_vars={"web1": {"domains": [DOMAIN]}})
    run, document = run_json("fix-prod", "-i", str(inventory), "--known-hosts", str(known))
    assert {f["name"]: f["status"] for f in by_host(document)["web1"]["fixes"]}["migrate"] == "changed"
    assert len(applied_migrations(project)) > len(migrations_before)
    assert (project / ".env.production").exists()
    rolled = invoke("rollback", "-i", str(inventory), "--known-hosts", str(known), "--database")
    assert rolled.returncode == 0, rolled.output
    assert "web1: rolled back run" in rolled.stdout
    assert "web1: restored database db.sqlite3 from " in rolled.stdout
    assert applied_migrations(project) == migrations_before, "the database is back where the run found it"
    assert not (project / ".env.production").exists() and (project / ".env").read_text() == dev_env
    again = invoke("rollback", "-i", str(inventory), "--known-hosts", str(known))
    assert again.returncode == 1 and "no fix-prod run to roll back" in again.stdout


def test_remote_git_facts_and_push(ssh_host, tmp_path):
    """A fleet copy that is a git repository with a bare remote: git read on the host, pushed from it."""
    project, origin = copy_demo(tmp_path / "thebot"), tmp_path / "origin.git"
    make_git_repo(project, remote=origin, unpushed=3)
    inventory, known = write_inventory(tmp_path, [ssh_host], [project], extra_vars={"web1": {"domains": [DOMAIN]}})
    run, document = run_json("audit", "-i", str(inventory), "--known-hosts", str(known))
    local_run, local = run_json("audit", "--project", str(project))
    remote_git = by_host(document)["web1"]["facts"]["git"]
    assert remote_git == local["hosts"][0]["facts"]["git"]
    assert (remote_git["branch"], remote_git["upstream"], remote_git["ahead"], remote_git["behind"],
            remote_git["remote_url"]) == ("main", "origin/main", 3, 0, str(origin))
    unpushed = next(f for f in by_host(document)["web1"]["findings"] if f["id"] == "git.unpushed")
    assert unpushed["fix"] == "git_push"

    run, document = run_json("fix-prod", "-i", str(inventory), "--known-hosts", str(known), "--push")
    host = by_host(document)["web1"]
    assert host["status"] == "ok", host["error"]
    assert {f["name"]: f["status"] for f in host["fixes"]}["git_push"] == "changed"
    assert {f["id"]: f["status"] for f in host["findings"]}["git.unpushed"] == "fixed"
    assert git(origin, "rev-parse", "main") == git(project, "rev-parse", "HEAD")
    assert git(project, "rev-list", "--count", "origin/main..HEAD") == "0"


def test_remote_runs_are_pruned_to_the_newest_ten(ssh_host, tmp_path):
    project = copy_demo(tmp_path / "thebot")
    runs = project / ".remediation" / "runs"
    old = [f"20000101T0000{n:02d}-1" for n in range(12)]
    for name in old:
        (runs / name).mkdir(parents=True)
        (runs / name / "manifest.json").write_text("{}")
    inventory, known = write_inventory(tmp_path, [ssh_host], [project], extra_vars={"web1": {"domains": [DOMAIN]}})
    run, document = run_json("fix-prod", "-i", str(inventory), "--known-hosts", str(known))
    run_id = by_host(document)["web1"]["run_id"]
    assert run_id and not run_id.startswith("2000")
    assert sorted(p.name for p in runs.iterdir()) == old[3:] + [run_id]
