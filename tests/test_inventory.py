"""Inventories: our YAML, Ansible INI and YAML, vars folders, precedence, --limit, masking, errors.

Pure: files only, no host is contacted."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from remediation.inventory import (
    Host,
    InventoryError,
    Vaulted,
    load_inventory,
    masked,
    select,
)

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DATA = TESTS / "data" / "inventories"
HOME = os.path.expanduser("~")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def error_of(path: Path) -> str:
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def names(hosts) -> list[str]:
    return [host.name for host in hosts]


# --- our format --------------------------------------------------------------------------------


def test_our_format_parses_to_the_exact_hosts():
    inventory = load_inventory(DATA / "ours.yml")
    assert inventory.format == "yaml"
    assert inventory.warnings == []
    assert inventory.hosts == [
        Host(
            name="web1",
            address="127.0.0.2",
            port=2201,
            user="deploy",
            key_file=f"{HOME}/.ssh/id_ed25519",
            local=False,
            vars={
                "python": "/usr/bin/python3",
                "env_file": "/srv/thebot/.env.web1",
                "domains": ["thebot.example.com"],
                "project": "/srv/thebot",
            },
            groups=["prod", "web"],
        ),
        Host(
            name="web2",
            address="127.0.0.3",
            port=2202,
            user="admin",
            key_file=None,
            local=False,
            vars={
                "python": "/usr/bin/python3",
                "env_file": "/srv/thebot/.env.production",
                # canary is a child of web: the child's vars win, the comma string is split
                "domains": ["canary.thebot.example.com", "www.canary.thebot.example.com"],
                "project": "/srv/thebot",
                "database_url": "postgres://thebot:s3cr3t-db-pw@db.internal:5432/thebot",
            },
            groups=["canary", "prod", "web"],
        ),
        Host(
            name="localhost",
            address="localhost",
            port=None,
            user="deploy",
            key_file=None,
            local=True,
            vars={"python": str(DATA / ".venv/bin/python"), "project": str(REPO / "examples" / "thebot")},
            groups=["ungrouped"],
        ),
        Host(
            name="box",
            address="box",
            port=None,
            user="deploy",
            key_file=None,
            local=True,
            vars={"python": "/usr/bin/python3", "project": "/opt/thebot", "env_file": str(DATA / ".env.box")},
            groups=["ungrouped"],
        ),
        Host(
            name="ansible-style",
            address="10.0.0.9",
            port=2209,  # "2209" in quotes is still a port
            user="root",
            key_file=None,
            local=False,
            vars={"python": "/opt/py/bin/python"},
            groups=["ungrouped"],
        ),
    ]
    web2 = inventory["web2"]
    assert web2.project == "/srv/thebot"
    assert web2.python == "/usr/bin/python3"
    assert web2.env_file == "/srv/thebot/.env.production"
    assert web2.domains == ["canary.thebot.example.com", "www.canary.thebot.example.com"]
    assert web2.database_url.startswith("postgres://thebot:")
    assert inventory["ansible-style"].domains == [] and inventory["ansible-style"].project is None


def test_our_format_groups():
    inventory = load_inventory(DATA / "ours.yml")
    assert set(inventory.groups) == {"all", "ungrouped", "prod", "web", "canary"}
    assert inventory.groups["prod"].hosts == ["web1", "web2"]
    assert inventory.groups["prod"].children == ["web"]
    assert inventory.groups["web"].children == ["canary"]
    assert inventory.groups["canary"].hosts == ["web2"]
    assert inventory.groups["ungrouped"].hosts == ["localhost", "box", "ansible-style"]
    assert inventory.groups["all"].hosts == names(inventory)
    assert inventory.groups["all"].vars == {"python": "/usr/bin/python3", "user": "deploy"}


def test_remote_paths_are_kept_as_written(tmp_path):
    path = write(
        tmp_path,
        "inv.yml",
        """
        hosts:
          remote: {address: 10.0.0.1, project: srv/thebot, env_file: ~/.env, python: .venv/bin/python}
          here: {connection: local, project: ~/thebot}
          notlocal: {connection: ssh, address: 127.0.0.1}
          localhost: {connection: ssh}
        """,
    )
    inventory = load_inventory(path)
    remote = inventory["remote"]
    assert (remote.project, remote.env_file, remote.python) == ("srv/thebot", "~/.env", ".venv/bin/python")
    assert inventory["here"].local and inventory["here"].project == f"{HOME}/thebot"
    assert not inventory["notlocal"].local
    assert not inventory["localhost"].local  # an explicit connection wins over the name


def test_a_bare_interpreter_name_is_not_a_path(tmp_path):
    path = write(tmp_path, "inv.yml", "hosts:\n  localhost: {python: python3}\n")
    assert load_inventory(path)["localhost"].python == "python3"


def test_a_file_without_extension_in_our_format(tmp_path):
    path = write(tmp_path, "hosts", "hosts:\n  localhost:\n")
    inventory = load_inventory(path)
    assert inventory.format == "yaml" and names(inventory) == ["localhost"]


# --- Ansible INI and YAML ------------------------------------------------------------------------

ANSIBLE_HOSTS = [
    ("bastion", "198.51.100.1", None, None, False, ["ungrouped"]),
    ("localhost", "localhost", None, None, True, ["ungrouped"]),
    ("web01", "web01", None, "deploy", False, ["app", "web"]),
    ("web02", "web02", None, "deploy", False, ["app", "web"]),
    ("web03", "web03", None, "deploy", False, ["app", "web"]),
    ("web04", "10.0.0.4", 2204, None, False, ["app", "web"]),
    ("db-a.internal", "db-a.internal", None, None, False, ["app", "db"]),
    ("db-b.internal", "db-b.internal", None, None, False, ["app", "db"]),
    ("db-c.internal", "db-c.internal", 5022, None, False, ["app", "db"]),
]
APP_VARS = {
    "env_file": "/srv/app/.env",
    "project": "/srv/app",
    "python": "/usr/bin/python3.11",
    "flag": "true",  # lower-case true is not a Python literal: a string, as in Ansible
    "count": "07",  # not a valid Python int: a string
}


@pytest.mark.parametrize("name, fmt", [("ansible.ini", "ansible-ini"), ("ansible.yml", "ansible-yaml")])
def test_ansible_inventories_parse_to_the_exact_hosts(name, fmt):
    inventory = load_inventory(DATA / name)
    assert inventory.format == fmt
    assert [
        (host.name, host.address, host.port, host.user, host.local, host.groups) for host in inventory
    ] == ANSIBLE_HOSTS
    assert inventory["bastion"].vars == {"env_file": "/srv/app/.env"}
    assert inventory["localhost"].vars == {"env_file": "/srv/app/.env"}
    assert inventory["web01"].vars == {**APP_VARS, "domains": ["web.example.com"]}
    assert inventory["web04"].vars == {**APP_VARS, "domains": ["a.example.com", "b.example.com"]}
    assert inventory["db-a.internal"].vars == APP_VARS
    assert inventory["db-c.internal"].vars == {
        **APP_VARS,
        "backup": True,
        "retries": 3,
        "ratio": 0.5,
        "tags": ["x", "y"],
        "note": "quoted value",
        "empty": "",
    }
    assert inventory.groups["app"].children == ["web", "db"]
    assert inventory.groups["web"].hosts == ["web01", "web02", "web03", "web04"]
    assert inventory.groups["ungrouped"].hosts == ["bastion", "localhost"]
    assert set(inventory.groups) == {"all", "ungrouped", "web", "db", "app"}


def test_ini_and_yaml_give_the_same_inventory():
    assert load_inventory(DATA / "ansible.ini").hosts == load_inventory(DATA / "ansible.yml").hosts


def test_ini_sections_in_any_order_and_hosts_in_several_groups(tmp_path):
    path = write(
        tmp_path,
        "inv.ini",
        """
        [top:children]
        mid
        [mid:vars]
        x=mid
        [mid:children]
        leaf
        [leaf]
        h1
        [other]
        h1 extra=1
        h2
        [all]
        h3
        """,
    )
    inventory = load_inventory(path)
    assert names(inventory) == ["h1", "h2", "h3"]
    assert inventory["h1"].groups == ["leaf", "mid", "other", "top"]
    assert inventory["h1"].vars == {"x": "mid", "extra": 1}
    assert inventory["h3"].groups == ["ungrouped"]


def test_ini_ranges_ports_and_ipv6(tmp_path):
    path = write(
        tmp_path,
        "inv.ini",
        """
        [r]
        n[1:5:2]
        z[08:10]-[a:b]
        [2001:db8::1]:2200
        2001:db8::2
        10.0.0.5:2222
        """,
    )
    inventory = load_inventory(path)
    assert names(inventory) == [
        "n1", "n3", "n5", "z08-a", "z08-b", "z09-a", "z09-b", "z10-a", "z10-b", "2001:db8::1", "2001:db8::2", "10.0.0.5",
    ]  # fmt: skip
    assert inventory["2001:db8::1"].port == 2200
    assert inventory["2001:db8::2"].port is None
    assert inventory["10.0.0.5"].port == 2222


def test_hosts_do_not_share_mutable_vars(tmp_path):
    path = write(tmp_path, "inv.yml", "all:\n  vars: {tags: [a], opts: {x: 1}}\n  hosts: {h1: , h2: }\n")
    h1, h2 = load_inventory(path).hosts
    h1.vars["tags"].append("b")
    h1.vars["opts"]["x"] = 2
    assert h2.vars == {"tags": ["a"], "opts": {"x": 1}}
    assert type(h2.vars["tags"]) is list and type(h2.vars["opts"]) is dict


def test_ansible_inventories_ignore_our_short_connection_names(tmp_path):
    """In an Ansible inventory, ``port: 8000`` is the app's port, not SSH's."""
    path = write(
        tmp_path,
        "inv.yml",
        """
        all:
          vars: {port: 8000, user: www-data, key: abc, address: x}
          hosts:
            web1: {ansible_port: 2201}
        """,
    )
    web1 = load_inventory(path)["web1"]
    assert (web1.address, web1.port, web1.user, web1.key_file) == ("web1", 2201, None, None)
    assert web1.vars == {"port": 8000, "user": "www-data", "key": "abc", "address": "x"}


def test_ansible_yaml_without_all_and_string_sections(tmp_path):
    path = write(
        tmp_path,
        "inv.yaml",
        """
        web:
          hosts: web1
          children: canary
        canary:
          hosts:
            web2:
        """,
    )
    inventory = load_inventory(path)
    assert inventory.format == "ansible-yaml"
    assert names(inventory) == ["web1", "web2"]
    assert inventory.groups["web"].hosts == ["web1", "web2"]
    assert inventory["web2"].groups == ["canary", "web"]


def test_ini_without_extension_and_connection_local(tmp_path):
    path = write(tmp_path, "hosts", "box ansible_connection=local project=thebot\n")
    inventory = load_inventory(path)
    assert inventory.format == "ansible-ini"
    box = inventory["box"]
    assert box.local and box.project == str(tmp_path / "thebot")


# --- precedence and vars folders ---------------------------------------------------------------------


def test_precedence_and_vars_folders():
    inventory = load_inventory(DATA / "layered" / "hosts")
    assert inventory.format == "ansible-ini"
    web1, web2, db1 = inventory.hosts
    # all < parent (app) < child (web) < host inline
    assert (web1.vars["level"], web2.vars["level"], db1.vars["level"]) == ("web", "inline-host", "app")
    assert web1.vars["from_all"] == "all" and web1.vars["from_app"] == "app" and web1.vars["from_web"] == "web"
    # group_vars/all < group_vars/app < group_vars/web < host_vars
    assert (web1.vars["shared"], web2.vars["shared"], db1.vars["shared"]) == ("hv-web1", "gv-web", "hv-db1-json")
    assert (web1.vars["level_gv"], db1.vars["level_gv"]) == ("web", "app")
    assert web1.vars["from_gv_all"] is True
    # as in Ansible, group_vars/all beats the vars of every group written in the inventory file
    assert web1.vars["gotcha"] == "gv-all"
    # host_vars: yml, no extension, json
    assert web1.address == "10.0.0.1"
    assert web2.port == 2202
    assert db1.python == "/opt/py/bin/python3"
    # a folder of files read in order, hidden files skipped, vault-encrypted files skipped and said
    assert db1.vars["db_port"] == 5432
    assert inventory.warnings == [
        f"{DATA / 'layered' / 'group_vars' / 'db' / '30-secrets.yml'}: encrypted with ansible-vault, skipped: "
        "give --vault-password-file, --vault-id or --ask-vault-pass to read it"
    ]
    # the web host ungrouped at the top of the file then put in [web] is not ungrouped
    assert web1.groups == ["app", "web"]
    assert inventory.groups["ungrouped"].hosts == []


def test_vars_files_in_our_format_and_first_extension_wins(tmp_path):
    path = write(tmp_path, "inv.yml", "groups:\n  web: {hosts: [web1]}\nhosts:\n  web1: {}\n")
    write(tmp_path, "group_vars/web.yml", "user: deploy\nport: 2200\n")
    write(tmp_path, "group_vars/web.yaml", "user: never-read\n")
    write(tmp_path, "host_vars/web1.yml", "domains: a.example.com\n")
    web1 = load_inventory(path)["web1"]
    assert (web1.user, web1.port, web1.domains) == ("deploy", 2200, ["a.example.com"])


def test_group_priority_breaks_ties_between_siblings(tmp_path):
    text = "[a]\nh1\n[b]\nh1\n[a:vars]\nx=a\n{priority}\n[b:vars]\nx=b\n"
    by_name = write(tmp_path, "one.ini", text.format(priority=""))
    assert load_inventory(by_name)["h1"].vars == {"x": "b"}  # same depth, same priority: by name
    by_priority = write(tmp_path, "two.ini", text.format(priority="ansible_group_priority=10"))
    assert load_inventory(by_priority)["h1"].vars == {"x": "a"}


def test_host_vars_win_over_inline_and_alias_ranks(tmp_path):
    path = write(
        tmp_path,
        "inv.ini",
        "web1 ansible_host=1.1.1.1 ansible_ssh_host=2.2.2.2 ansible_python_interpreter=/a python=/b\n",
    )
    write(tmp_path, "host_vars/web1.yml", "ansible_python_interpreter: /c\n")
    web1 = load_inventory(path)["web1"]
    assert web1.address == "1.1.1.1"  # ansible_host over the legacy ansible_ssh_host
    assert web1.python == "/c"  # host_vars over the inline vars, whatever the alias
    assert "ansible_python_interpreter" not in web1.vars


# --- --limit ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ansible_inventory():
    return load_inventory(DATA / "ansible.ini")


WEB = ["web01", "web02", "web03", "web04"]
DB = ["db-a.internal", "db-b.internal", "db-c.internal"]


@pytest.mark.parametrize(
    "limit, expected",
    [
        (None, ["bastion", "localhost", *WEB, *DB]),
        ("all", ["bastion", "localhost", *WEB, *DB]),
        ("*", ["bastion", "localhost", *WEB, *DB]),
        ("web02", ["web02"]),
        ("web", WEB),
        ("web*", WEB),
        ("db-*", DB),
        ("*.internal", DB),
        ("web04,bastion", ["bastion", "web04"]),  # inventory order, not pattern order
        ("web,web01,app", [*WEB, *DB]),  # no duplicates
        ("app:!db", WEB),
        ("app,!db", WEB),
        ("!web", ["bastion", "localhost", *DB]),
        ("all:!app:!localhost", ["bastion"]),
        ("app:&web", WEB),
        ("&db,app", DB),
        ("!web03,web", ["web01", "web02", "web04"]),  # exclusions apply last, wherever written
        ("ungrouped", ["bastion", "localhost"]),
        ("~web0[12]", ["web01", "web02"]),
        ("web[0]", ["web01"]),
        ("web[-1]", ["web04"]),
        ("web[1:2]", ["web02", "web03"]),
        ("web[2:]", ["web03", "web04"]),
        (" web01 , db-c.internal ", ["web01", "db-c.internal"]),
    ],
)
def test_limit_patterns(ansible_inventory, limit, expected):
    assert names(select(ansible_inventory, limit)) == expected


def test_limit_returns_the_hosts_themselves(ansible_inventory):
    assert select(ansible_inventory, "web04") == [ansible_inventory["web04"]]


@pytest.mark.parametrize(
    "limit, message",
    [
        ("web,nosuch", "--limit: no host or group matches 'nosuch' in"),
        ("web:!webz", "--limit: no host or group matches 'webz' in"),  # a typo must not widen the run
        ("&nope", "no host or group matches 'nope'"),
        ("nope1,nope*", "no host or group matches 'nope1', 'nope*'"),
        ("", "--limit '': empty pattern"),
        (" , ", "empty pattern"),
        ("web:&db", "--limit 'web:&db' selects no host"),
        ("web[9]", "web[9] is out of range (4 hosts)"),
    ],
)
def test_limit_errors(ansible_inventory, limit, message):
    with pytest.raises(InventoryError, match=None) as caught:
        select(ansible_inventory, limit)
    assert message in str(caught.value)


def test_limit_on_ipv6_and_colon_names(tmp_path):
    path = write(tmp_path, "inv.ini", "[v6]\n2001:db8::1\nplain\n")
    inventory = load_inventory(path)
    assert names(select(inventory, "2001:db8::1")) == ["2001:db8::1"]
    assert names(select(inventory, "v6:!plain")) == ["2001:db8::1"]


# --- masking ---------------------------------------------------------------------------------------

PLANTED = ["s3cr3t-db-pw", "Hunter2-become", "ssh-pass-XYZ", "tok-123456", "vault-cipher-666", "nested-pw-777"]


def test_masked_hides_every_planted_secret(tmp_path):
    path = write(
        tmp_path,
        "inv.yml",
        """
        all:
          hosts:
            web1:
              ansible_host: 10.0.0.1
              ansible_ssh_private_key_file: ~/.ssh/deploy
              database_url: postgres://thebot:s3cr3t-db-pw@db.internal:5432/thebot
              ansible_become_password: Hunter2-become
              ansible_ssh_pass: ssh-pass-XYZ
              github_token: tok-123456
              vault_password_file: /etc/ansible/vault-pass
              api: !vault |
                vault-cipher-666
              credentials: {user: admin, password: nested-pw-777}
              notes: "restore with DATABASE_URL=postgres://thebot:s3cr3t-db-pw@backup/thebot"
              project: /srv/thebot
        """,
    )
    host = load_inventory(path)["web1"]
    assert isinstance(host.vars["api"], Vaulted)
    assert host.vars["ansible_become_password"] == "Hunter2-become"  # the Host keeps the value
    shown = masked(host)
    text = json.dumps(shown)
    for secret in PLANTED:
        assert secret not in text
        assert secret not in repr(shown)
    assert shown["vars"]["database_url"] == "postgres://thebot:****@db.internal:5432/thebot"
    assert shown["vars"]["ansible_become_password"] == "****"
    assert shown["vars"]["ansible_ssh_pass"] == "****"
    assert shown["vars"]["github_token"] == "****"
    assert shown["vars"]["api"] == "****"
    assert shown["vars"]["credentials"] == "****"
    assert shown["vars"]["notes"] == "restore with DATABASE_URL=postgres://thebot:****@backup/thebot"
    # not secrets: paths to files, the project, the connection
    assert shown["vars"]["vault_password_file"] == "/etc/ansible/vault-pass"
    assert shown["vars"]["project"] == "/srv/thebot"
    assert shown["key_file"] == f"{HOME}/.ssh/deploy"
    assert shown["address"] == "10.0.0.1" and shown["name"] == "web1" and shown["local"] is False


def test_masked_ini_and_fixture_hosts(tmp_path):
    path = write(
        tmp_path,
        "inv.ini",
        "web1 ansible_become_password=Hunter2-become database_url=postgres://u:s3cr3t-db-pw@h/db\n",
    )
    text = json.dumps(masked(load_inventory(path)["web1"]))
    assert "Hunter2-become" not in text and "s3cr3t-db-pw" not in text
    web2 = load_inventory(DATA / "ours.yml")["web2"]
    assert "s3cr3t-db-pw" not in json.dumps(masked(web2))
    assert masked(web2)["vars"]["database_url"] == "postgres://thebot:****@db.internal:5432/thebot"


# --- malformed inventories: one line, file:line ---------------------------------------------------------


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("[web]\nweb1\n\n# comment\n\nweb2\nweb1 ansible_port\n", 7,
         "cannot parse 'web1 ansible_port' (expected key=value, got 'ansible_port')"),
        ("[web]\nweb1 ansible_port=abc\n", 2, "host 'web1': port must be an integer, got 'abc'"),
        ("[web]\nweb1\n[web:vars]\nansible_port=99999\n", 4, "host 'web1': port 99999 is out of range 1-65535"),
        ("[web:hosts]\nweb1\n[web:foo]\n", 3, "unknown section type 'foo' in '[web:foo]'"),
        ("[web servers]\nweb1\n", 1, "cannot parse '[web servers]'"),
        ("[web]\nweb1\n[app:children]\nweb\nmissing\n", 5, "[app:children] includes undefined group 'missing'"),
        ("[web]\nweb1\n[ghost:vars]\nx=1\n", 3, "[ghost:vars] for undefined group 'ghost'"),
        ("[web]\nweb1\n[web:vars]\nnovalue\n", 4, "cannot parse 'novalue' (expected key=value in [web:vars])"),
        ("web1 note='unclosed\n", 1, "cannot parse \"web1 note='unclosed\" (No closing quotation)"),
        ("[web]\nweb[3:1]\n", 2, "cannot parse 'web[3:1]' (the host range [3:1] is empty)"),
        ("[web]\nweb[01:3]\n", 2, "must have equal-length start and end"),
        ("[web]\nweb1:\n", 2, "cannot parse 'web1:' (nothing after ':' (reserved for a port))"),
        ("[web]\nweb1:ssh\n", 2, "cannot parse 'web1:ssh' (a port after ':' must be a number)"),
        ("[a:children]\nb\n[b:children]\na\n", 1, "groups contain each other: a -> b -> a"),
        ("[web]\nweb1 domains=5\n", 2, "host 'web1': domains must be a list or a comma-separated string, got int"),
        ("[web]\nweb1\n[web:vars]\nansible_group_priority=high\n", 4,
         "ansible_group_priority of group 'web' must be an integer"),
    ],
)  # fmt: skip
def test_malformed_ini(tmp_path, text, line, message):
    path = tmp_path / "bad.ini"
    path.write_text(text)
    got = error_of(path)
    assert got.startswith(f"{path}:{line}: "), got
    assert message in got


def test_the_message_names_the_path_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "inventories/bad.ini", "[web]\nweb1\n\n\n\n\nweb1 ansible_port\n")
    assert error_of(Path("inventories/bad.ini")).startswith("inventories/bad.ini:7: cannot parse 'web1 ansible_port'")


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("hosts:\n  web1: {address: [unclosed\n", 3, "expected ',' or ']', but got '<stream end>'"),
        ("hosts:\n  web1:\n    address: x\n   port: 2\n", 4, "expected <block end>, but found '<block mapping start>'"),
        ("vars: {}\nhostz:\n  web1:\n", 2, "unknown key 'hostz' (expected vars, groups, hosts)"),
        ("hosts:\n  web1:\n    address: 10.0.0.1\n    port: twenty-two\n", 4,
         "host 'web1': port must be an integer, got 'twenty-two'"),
        ("hosts:\n  web1:\n    port: true\n", 3, "host 'web1': port must be an integer, got True"),
        ("groups:\n  web:\n    vars:\n      port: 22.5\n    hosts: [web1]\nhosts:\n  web1:\n", 4,
         "host 'web1': port must be an integer, got 22.5"),
        ("groups:\n  web:\n    hosts: [web1]\n    children:\n      - apps\nhosts:\n  web1:\n", 5,
         "group 'web' has unknown child group 'apps'"),
        ("groups:\n  web:\n    hosts:\n      - web1\n      - web3\nhosts:\n  web1:\n", 5,
         "group 'web' lists unknown host 'web3' (define it under 'hosts:')"),
        ("groups:\n  web:\n    host: [web1]\nhosts:\n  web1:\n", 3,
         "group 'web': unknown key 'host' (expected hosts, vars, children)"),
        ("groups:\n  all: {vars: {a: 1}}\nhosts: {}\n", 2, "group 'all' is implicit"),
        ("hosts:\n  web1: {}\n  web2: {}\n  web1: {}\n", 4, "duplicate key 'web1'"),
        ("hosts:\n  web1: 10.0.0.1\n", 2, "host 'web1' must be a mapping of settings, got str"),
        ("hosts: [web1, web2]\n", 1, "'hosts' must map host names to their settings, got a list"),
        ("- web1\n- web2\n", 1, "an inventory is a mapping (vars, groups, hosts, or Ansible groups), got a list"),
        ("hosts:\n  web1: {project: [a, b]}\n", 2, "host 'web1': project must be a string, got a list"),
        ("hosts:\n  web1: {tag: !python/object:os.system x}\n", 2, "could not determine a constructor"),
    ],
)  # fmt: skip
def test_malformed_our_yaml(tmp_path, text, line, message):
    path = tmp_path / "bad.yml"
    path.write_text(text)
    got = error_of(path)
    assert got.startswith(f"{path}:{line}: "), got
    assert message in got


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("all:\n  hosts:\n    web1:\n  host:\n    web2:\n", 4,
         "group 'all': unexpected key 'host' (expected hosts, children, vars)"),
        ("all:\n  hosts: [web1]\n", 2, "group 'all': 'hosts' must be a mapping, got a list"),
        ("all:\n  children:\n    web: [web1]\n", 3, "group 'web' must be a mapping with hosts, children, vars"),
        ("all:\n  hosts:\n    web1: {ansible_port: '22a'}\n", 3, "host 'web1': port must be an integer, got '22a'"),
        ("all:\n  hosts:\n    web[1:x]:\n", 3, "cannot parse 'web[1:x]'"),
        ("plugin: aws_ec2\n", 1, "inventory plugin configurations are not supported"),
    ],
)  # fmt: skip
def test_malformed_ansible_yaml(tmp_path, text, line, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    got = error_of(path)
    assert got.startswith(f"{path}:{line}: "), got
    assert message in got


def test_malformed_vars_file_names_that_file(tmp_path):
    path = write(tmp_path, "inv.ini", "[web]\nweb1\n")
    shown = tmp_path / "group_vars" / "web.yml"
    write(tmp_path, "group_vars/web.yml", "a: 1\nb: [\n")
    assert error_of(path).startswith(f"{shown}:3: ")
    write(tmp_path, "group_vars/web.yml", "- a\n- b\n")
    assert error_of(path) == f"{shown}:1: a vars file must be a mapping of variable names to values, got a list"
    write(tmp_path, "group_vars/web.yml", "ansible_port: nope\n")
    assert error_of(path) == f"{shown}:1: host 'web1': port must be an integer, got 'nope'"


def test_missing_empty_and_folder_inventories(tmp_path):
    assert error_of(tmp_path / "nope.yml") == f"{tmp_path / 'nope.yml'}: no such inventory file"
    assert error_of(tmp_path) == f"{tmp_path}: is a folder; give the inventory file inside it"
    empty = write(tmp_path, "empty.yml", "# nothing\n\n")
    assert error_of(empty) == f"{empty}: empty inventory"


def test_no_extension_yaml_syntax_error_is_reported_as_yaml(tmp_path):
    path = write(tmp_path, "hosts", "hosts:\n  web1: {address: [x\n")
    assert error_of(path).startswith(f"{path}:3: ")


# --- the bundled examples --------------------------------------------------------------------------


def test_example_local_inventory_runs_the_bundled_demo():
    inventory = load_inventory(REPO / "inventories" / "local.yml")
    assert names(inventory) == ["localhost"]
    host = inventory["localhost"]
    assert host.local and host.project == str(REPO / "examples" / "thebot")
    assert (Path(host.project) / "backend" / "manage.py").is_file()
    assert select(inventory, None) == [host]


def test_example_staging_inventory():
    inventory = load_inventory(REPO / "inventories" / "staging.yml")
    assert inventory.format == "yaml"
    assert [(h.name, h.address, h.port, h.user, h.local) for h in inventory] == [
        ("staging-web1", "127.0.0.2", 2201, "deploy", False),
        ("staging-worker1", "127.0.0.3", 2202, "deploy", False),
    ]
    web, worker = inventory.hosts
    assert web.domains == ["staging.thebot.example.com"] and worker.domains == []
    assert (web.env_file, worker.env_file) == ("/srv/thebot/.env.staging", "/srv/thebot/.env.worker")
    assert web.key_file == f"{HOME}/.ssh/id_ed25519"
    assert names(select(inventory, "staging_web")) == ["staging-web1"]


def test_example_production_inventory():
    inventory = load_inventory(REPO / "inventories" / "production.ini")
    assert inventory.format == "ansible-ini" and inventory.warnings == []
    assert names(inventory) == [
        "web1.prod.thebot.example.com",
        "web2.prod.thebot.example.com",
        "web3.prod.thebot.example.com",
        "prod-worker1",
    ]
    web3, worker = inventory["web3.prod.thebot.example.com"], inventory["prod-worker1"]
    assert (web3.address, web3.port, web3.user) == ("203.0.113.12", 2222, "deploy")
    assert web3.key_file == f"{HOME}/.ssh/thebot_production"
    assert web3.python == "/srv/thebot/.venv/bin/python"
    assert web3.domains == ["thebot.example.com", "www.thebot.example.com"]
    assert web3.database_url == "postgres://thebot@db.production.internal:5432/thebot"  # group_vars/
    assert worker.env_file == "/srv/thebot/.env.worker"  # host_vars/
    assert names(select(inventory, "production:!prod_workers")) == names(inventory)[:3]
    # the vars folders are shared by the examples: they change nothing for the others
    staging = load_inventory(REPO / "inventories" / "staging.yml")
    assert staging["staging-web1"].database_url == "postgres://thebot@db.staging.internal:5432/thebot"
