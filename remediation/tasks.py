"""invoke tasks: parse flags, call remediation.cli, turn its status into the exit code.

The namespace `ns` is what the checkout's tasks.py, a project's own tasks.py and the console script load."""

import sys

from invoke import Collection, Exit, Task, task

from .config import configured


class AnsibleFlags(Task):
    """Short flags chosen, not assigned by letter order: Ansible's -i, -l, -f, -C, -D, plus -p."""

    SHORT = {"project": "p", "inventory": "i", "limit": "l", "forks": "f", "check": "C", "diff": "D"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, auto_shortflags=False, **kwargs)

    def arg_opts(self, name, default, taken_names):
        opts = super().arg_opts(name, default, taken_names)
        if name in self.SHORT:
            opts["names"].append(self.SHORT[name])
        return opts


FLEET_HELP = {
    "inventory": "inventory file (ours, or Ansible INI/YAML): run on its hosts instead of --project",
    "limit": "hosts and groups to run on, as Ansible's --limit (names, groups, globs, !name, &group)",
    "forks": "hosts at a time (default 5)",
    "accept-new-host-keys": "record unknown host keys in known_hosts (trust on first use); changed keys are always refused",
    "known-hosts": "known_hosts file (default: ~/.ssh/known_hosts)",
    "ask-become-pass": "prompt once for the sudo password of hosts with `become` (else REMEDIATION_SUDO_PASSWORD)",
}


def format_help(names: str) -> str:
    return (f"{names}; repeatable: FORMAT:PATH writes that format to a file (--format text "
            "--format sarif:audit.sarif --format junit:audit.xml); at most one goes to stdout")


DEPLOY_HELP_INVENTORY = "inventory whose hosts have deploy_to (and python, app_bind, process_manager...: see the README)"

PROBE_HELP = {"probe-timeout": "seconds the project's Django may take before its probe is killed and reported as "
                               "django.settings_timeout (default 60; host var probe_timeout)"}


VAULT_HELP = {
    "vault-password-file": "vault password file, repeatable (an executable file is run and its output used), "
                           "as Ansible's; also ANSIBLE_VAULT_PASSWORD_FILE",
    "vault-id": "LABEL@SOURCE, repeatable: SOURCE a password file, a script or `prompt`, as Ansible's --vault-id; "
                "also ANSIBLE_VAULT_IDENTITY_LIST",
    "ask-vault-pass": "prompt for the vault password",
}
VAULT_ITERABLE = ["vault_password_file", "vault_id"]


def _exit(code: int) -> None:
    if code:
        raise Exit(code=code)


def _vault(vault_password_file, vault_id, ask_vault_pass):
    """The run's vault secrets, read before anything else as Ansible does; bad ones end the run (exit 2)."""
    from remediation import cli

    secrets, code = cli.vault_secrets(list(vault_password_file or []), ask_vault_pass, list(vault_id or []))
    _exit(code)
    return secrets


def _ssh(accept_new_host_keys, known_hosts, ask_become_pass=False):
    from remediation.fleet import SshOptions

    return SshOptions(known_hosts=known_hosts, accept_new_host_keys=accept_new_host_keys, ask_become_pass=ask_become_pass)


@task(
    klass=AnsibleFlags,
    iterable=["live", "format"] + VAULT_ITERABLE,
    help={
        "live": "URL of the deployed project to verify too (repeatable): the live area, and where settings "
                "and responses disagree (trust: the system store or SSL_CERT_FILE)",
        "project": "Django project folder (manage.py here or one level down); default: the one in the current folder, else the bundled demo",
        "python": "interpreter of the project (default: $VIRTUAL_ENV, else the project's .venv/venv/env, else this one)",
        "env-file": "env file to audit (default: .env at the project root or beside manage.py)",
        "format": format_help("text, markdown, json, junit or sarif"),
        "output": "write the report (the one --format without :PATH) to this file instead of stdout",
        "fail-level": "lowest severity that blocks production: critical, high, medium, low, info",
        **FLEET_HELP,
        **PROBE_HELP,
        **VAULT_HELP,
    }
)
@configured("audit")
def audit(c, project=None, python=None, env_file=None, format=None, output=None, fail_level=None,
          inventory=None, limit=None, forks="5", accept_new_host_keys=False, known_hosts=None, ask_become_pass=False,
          probe_timeout=None, live=None, vault_password_file=None, vault_id=None, ask_vault_pass=False):
    """Audit a Django project's production readiness (exit 0 ready, 1 blocked, 2 bad input)."""
    from remediation import cli

    _exit(cli.audit(project, python=python, env_file=env_file, fmt=list(format or []), output=output, fail_level=fail_level,
                    inventory=inventory, limit=limit, forks=forks, probe_timeout=probe_timeout,
                    ssh=_ssh(accept_new_host_keys, known_hosts, ask_become_pass), live=list(live or []),
                    vault=_vault(vault_password_file, vault_id, ask_vault_pass)))


@task(klass=AnsibleFlags, iterable=VAULT_ITERABLE,
      help={"inventory": FLEET_HELP["inventory"], "limit": FLEET_HELP["limit"], **VAULT_HELP})
@configured("inventory")
def inventory(c, inventory=None, limit=None, vault_password_file=None, vault_id=None, ask_vault_pass=False):
    """Print the hosts an inventory resolves to, with their vars (secrets and vaulted values masked)."""
    from remediation import cli

    _exit(cli.inventory_command(inventory, limit, vault=_vault(vault_password_file, vault_id, ask_vault_pass)))


@task(
    klass=AnsibleFlags,
    iterable=["domain", "format"] + VAULT_ITERABLE,
    help={
        "project": "Django project folder; default: the one in the current folder, else the bundled demo (use a copy: invoke demo --dest DIR)",
        "python": "interpreter of the project (default: $VIRTUAL_ENV, else the project's .venv/venv/env, else this one)",
        "env-file": "production env file to write (default: .env.production beside the development .env)",
        "domain": "production domain (repeatable): ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, CORS_ALLOWED_ORIGINS",
        "database-url": "postgres://USER:PASSWORD@HOST:PORT/NAME to switch to",
        "create-database": "create the role and database of --database-url when missing",
        "copy-data": "copy the SQLite data into --database-url and compare every table's row count",
        "secrets": "dotenv file with values only a person can supply (external service credentials); "
                   "it may be vault-encrypted (decrypted in memory with the vault flags)",
        "check": "change nothing; report what would change",
        "diff": "show what would change (or changed), secrets masked",
        "push": "push unpushed commits (never done without this flag)",
        "allow-dirty": "run even when the git work tree has uncommitted changes",
        "no-backup": "migrate without a database backup first",
        "no-rehearsal": "migrate without rehearsing the migrations on a scratch copy of the database first",
        "rotate-secret-key": "replace a strong SECRET_KEY too, keeping the old one in SECRET_KEY_FALLBACKS (with -i: "
                             "one new key per secret_key_group, on every host of it in one run)",
        "drop-fallbacks-older-than": "remove the SECRET_KEY_FALLBACKS fix-prod added more than DAYS days ago "
                                     "(undated ones are kept)",
        "store-in-vault": "with -i: write each secret_key_group's new key vaulted into this vars file "
                          "(variable vault_secret_key_<group>; {group} in the path: one file per group)",
        "format": format_help("text, json, junit or sarif (junit and sarif: the audit after, and junit each fix)"),
        "output": "write the report (the one --format without :PATH) to this file",
        "fail-level": "lowest severity that blocks production afterwards (exit 1)",
        **FLEET_HELP,
        **PROBE_HELP,
        **VAULT_HELP,
    },
)
@configured("fix_prod")
def fix_prod(c, project=None, python=None, env_file=None, domain=None, database_url=None, create_database=False,
             copy_data=False, secrets=None, check=False, diff=False, push=False, allow_dirty=False, no_backup=False,
             no_rehearsal=False, rotate_secret_key=False, drop_fallbacks_older_than=None, store_in_vault=None,
             format=None, output=None, fail_level=None, inventory=None,
             limit=None, forks="5", accept_new_host_keys=False, known_hosts=None, ask_become_pass=False, probe_timeout=None,
             vault_password_file=None, vault_id=None, ask_vault_pass=False):
    """Repair what blocks production, then audit again (exit 0 ready, 1 still blocked, 2 bad input)."""
    from remediation import cli
    from remediation.fixes.base import Options

    options = Options(project=project, python=python, env_file=env_file, domains=list(domain or []),
                      database_url=database_url, create_database=create_database, copy_data=copy_data,
                      secrets_file=secrets, check=check, diff=diff, push=push, allow_dirty=allow_dirty,
                      no_backup=no_backup, no_rehearsal=no_rehearsal,
                      rotate_secret_key=rotate_secret_key, drop_fallbacks_older_than=drop_fallbacks_older_than,
                      store_in_vault=store_in_vault, vault=_vault(vault_password_file, vault_id, ask_vault_pass))
    _exit(cli.fix_prod(options, fmt=list(format or []), output=output, fail_level=fail_level, inventory=inventory, limit=limit,
                       forks=forks, probe_timeout=probe_timeout, ssh=_ssh(accept_new_host_keys, known_hosts, ask_become_pass)))


@task(klass=AnsibleFlags, optional=["release"], iterable=VAULT_ITERABLE,
      help={"project": "Django project folder (default: the bundled demo)",
            "database": "fix-prod: restore the databases backed up before migrate too; with --release: restore "
                        "the backup taken before the current release migrated (asks first)",
            "release": "roll a deploy back: to the previous good release, or to --release ID",
            "force": "with --release: roll back even when the target release lacks applied migrations",
            "yes": "with --release --database: do not ask before restoring the database",
            **FLEET_HELP, **VAULT_HELP})
@configured("rollback")
def rollback(c, project=None, database=False, inventory=None, limit=None, forks="5", accept_new_host_keys=False,
             known_hosts=None, ask_become_pass=False, release=None, force=False, yes=False, vault_password_file=None,
             vault_id=None, ask_vault_pass=False):
    """Undo the last fix-prod run (files from their backups; --database: the database), or with
    --release switch a deploy back to the previous good release."""
    from remediation import cli

    ssh = _ssh(accept_new_host_keys, known_hosts, ask_become_pass)
    vault = _vault(vault_password_file, vault_id, ask_vault_pass)
    if release:
        _exit(cli.deploy_rollback(inventory, limit, None if release is True else release, force, database, yes, ssh,
                                  project=project, vault=vault))
        return
    _exit(cli.rollback(project, database=database, inventory=inventory, limit=limit, forks=forks, ssh=ssh, vault=vault))


@task(klass=AnsibleFlags, iterable=VAULT_ITERABLE, help={"inventory": DEPLOY_HELP_INVENTORY, "limit": FLEET_HELP["limit"],
                                                         "format": "text or json", **VAULT_HELP})
@configured("releases")
def releases(c, inventory=None, limit=None, format="text", accept_new_host_keys=False, known_hosts=None,
             vault_password_file=None, vault_id=None, ask_vault_pass=False):
    """List each host's releases: id, state (current, previous, failed, old), commit, time, who deployed."""
    from remediation import cli

    _exit(cli.releases(inventory, limit, format, _ssh(accept_new_host_keys, known_hosts),
                       vault=_vault(vault_password_file, vault_id, ask_vault_pass)))


@task(help={"dest": "folder to copy the bundled demo project into"})
def demo(c, dest):
    """Copy the bundled THE_BOT demo project somewhere to try audit and fix-prod on it."""
    from remediation import cli

    _exit(cli.demo(dest))


DEPLOY_HELP = {
    "inventory": DEPLOY_HELP_INVENTORY,
    "limit": FLEET_HELP["limit"],
    "project": "local git checkout of the Django project to deploy (default: the bundled demo)",
    "ref": "commit, branch or tag to deploy (default: the current branch's HEAD); it must be pushed",
    "serial": "hosts per batch: a number or a percentage (default: all at once)",
    "max-fail-percentage": "go on while at most this percentage of hosts failed (default: stop on the first)",
    "check": "run the gate and print the plan per host; change nothing",
    "keep": "good releases to keep per host (default 5; current and previous always stay)",
    "allow-blocked": "deploy even when the audit of the release blocks production",
    "allow-unsafe-migrations": "deploy even when a migration is one the running release cannot survive",
    "fetch-backup": "copy each pre-deploy database backup to this folder on the controller",
    "frontend": "auto (build with npm ci when there is a lockfile) or skip",
    "format": "text or json",
    "output": "write the report to this file",
    "accept-new-host-keys": FLEET_HELP["accept-new-host-keys"],
    "known-hosts": FLEET_HELP["known-hosts"],
    "ask-become-pass": FLEET_HELP["ask-become-pass"],
    "setup": "ship no release: install the nginx site and service files for the live release, then health check",
    **VAULT_HELP,
}


@task(klass=AnsibleFlags, iterable=VAULT_ITERABLE, help=DEPLOY_HELP)
@configured("deploy")
def deploy(c, inventory=None, limit=None, project=None, ref=None, serial=None, max_fail_percentage=None, check=False,
           keep="5", allow_blocked=False, allow_unsafe_migrations=False, fetch_backup=None, frontend="auto",
           format="text", output=None, accept_new_host_keys=False, known_hosts=None, ask_become_pass=False,
           setup=False, vault_password_file=None, vault_id=None, ask_vault_pass=False):
    """Ship a commit to the inventory's hosts: gate, migrate once, switch in batches, health check, roll back."""
    from remediation import cli

    _exit(cli.deploy(inventory, limit, dict(project=project, ref=ref, serial=serial,
                                             max_fail_percentage=max_fail_percentage, check=check, keep=keep,
                                             allow_blocked=allow_blocked,
                                             allow_unsafe_migrations=allow_unsafe_migrations,
                                             fetch_backup=fetch_backup, frontend=frontend, setup=setup),
                     fmt=format, output=output, ssh=_ssh(accept_new_host_keys, known_hosts, ask_become_pass),
                     vault=_vault(vault_password_file, vault_id, ask_vault_pass)))


@task(positional=["action", "file"], auto_shortflags=False, iterable=VAULT_ITERABLE + ["new_vault_password_file", "new_vault_id"], help={
    "action": "encrypt, decrypt, view, edit, rekey or encrypt-string (ansible-vault's verbs)",
    "file": "the file to act on; encrypt-string: the file holding the value exactly, or - for stdin "
            "(a hidden prompt on a terminal)",
    "name": "encrypt-string: the variable name to print before !vault",
    "output": "encrypt, decrypt, encrypt-string: write here instead (decrypt: - for stdout)",
    "new-vault-password-file": "rekey: the new password's file (or script)",
    "new-vault-id": "rekey: the new LABEL@SOURCE",
    "encrypt-vault-id": "encrypt, encrypt-string: the vault id to encrypt with when several are given",
    **VAULT_HELP,
})
def vault(c, action, file, vault_password_file=None, vault_id=None, ask_vault_pass=False, name=None, output=None,
          new_vault_password_file=None, new_vault_id=None, encrypt_vault_id=None):
    """Ansible Vault files and values, compatible with ansible-vault both ways (exit 0 done, 2 bad input or a
    wrong password, every file as it was). `edit` decrypts into a private 0600 temp file (in /dev/shm when
    there is one), runs $EDITOR on it, removes it afterwards, and re-encrypts only if the text changed."""
    from remediation import cli

    _exit(cli.vault(action, file, password_files=list(vault_password_file or []), ask=ask_vault_pass,
                    vault_ids=list(vault_id or []), name=name, output=output,
                    new_password_files=list(new_vault_password_file or []), new_vault_ids=list(new_vault_id or []),
                    encrypt_vault_id=encrypt_vault_id))


@task(iterable=["host"], help={"ca": "folder of the local CA (created once: ca.crt, ca.key; hosts/NAME.crt, .key)",
                               "host": "a name (DNS or IP) for the host certificate, repeatable: one certificate "
                                       "for all, named after the first",
                               "days": "validity of a new host certificate (default 90)"})
def tls(c, ca=None, host=None, days="90"):
    """A local certificate authority and host certificates for staging and tests (idempotent)."""
    from remediation import cli

    _exit(cli.tls(ca, list(host or []), days))


@task(positional=["urls"], iterable=["url", "resolve", "format"], help={
    "urls": "URL to verify (several: separate them with spaces inside one quoted argument)",
    "url": "one more URL to verify, repeatable",
    "format": format_help("text, markdown, json, junit or sarif"),
    "output": "write the report (the one --format without :PATH) to this file instead of stdout",
    "fail-level": "lowest severity that blocks production: critical, high, medium, low, info",
    "ca-file": "PEM bundle of a CA to trust besides the system's store (SSL_CERT_FILE works too)",
    "timeout": "seconds per request (default 5)",
    "ws-path": "WebSocket path that must complete an upgrade handshake (default /ws/; none to skip)",
    "health-path": "path that must answer 200 (default: not checked)",
    "admin-path": "page whose stylesheet proves static files are served (default /admin/login/; none to skip)",
    "resolve": "NAME:ADDRESS (or NAME:PORT:ADDRESS), repeatable: connect to ADDRESS for NAME, as curl --resolve; "
               "the URL, Host, SNI and certificate check keep NAME",
})
@configured("verify")
def verify(c, urls, url=None, format=None, output=None, fail_level=None, ca_file=None, timeout=None, ws_path="/ws/",
           health_path=None, admin_path="/admin/login/", resolve=None):
    """Verify what a browser receives from deployed URLs (exit 0 clean, 1 findings at the fail level, 2 bad input)."""
    from remediation import cli

    _exit(cli.verify(str(urls).split() + list(url or []), fmt=list(format or []), output=output, fail_level=fail_level, ca_file=ca_file,
                     timeout=timeout, ws_path=ws_path, health_path=health_path, admin_path=admin_path,
                     resolve=list(resolve or [])))


ns = Collection.from_module(sys.modules[__name__], name="remediation")  # as a sub-collection: remediation.audit
