"""Writes and rollback under accident and attack (issue 8, items 3, 4, 9, 12): every write is
recorded before it can be interrupted, rollback writes only where a run wrote, and what the user
wrote (line endings, bytes that are not UTF-8) comes back byte for byte."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, invoke, tree_digest

from remediation.changes import STATE_DIR, ChangeFailed, FileChange, RunRecord, UnsafeState
from remediation.envfile import EnvDocument
from remediation.rollback import RollbackRefused, rollback
from remediation.transport import Local
from sshd import ssh_client_key, ssh_host, ssh_hosts  # noqa: F401  (fixtures)


@pytest.fixture
def demo(lenient_demo):
    """fix-prod on the demo's SQLite without a PostgreSQL URL: the lenient demo (the bundled demo's
    settings refuse SQLite in production, so fix-prod stops there, by design)."""
    return lenient_demo


TEMPLATES = str(REPO / "templates")
DOMAIN = "thebot.example.com"
NOBODY = 65534


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "config").mkdir(parents=True)
    return root


@pytest.fixture(params=["local", "ssh"])
def host(request, tmp_path):
    """The transport the checks run through: this machine, or an sshd test host (same files)."""
    if request.param == "local":
        yield Local()
        return
    from remediation.ssh import Ssh

    sshd = request.getfixturevalue("ssh_host")
    known, config = tmp_path / "known_hosts", tmp_path / "ssh_config"
    known.write_text(sshd.known_hosts_line + "\n")
    config.write_text("")
    ssh = Ssh(sshd.name, sshd.address, port=sshd.port, known_hosts=str(known), ssh_config=str(config),
              key_file=str(sshd.client_key))
    yield ssh
    ssh.close()


def write(root: Path, changes: list[tuple[Path, str, bool]], transport=None) -> RunRecord:
    """Apply (path, new text, is env file) as fix-prod does; returns the run's record."""
    transport = transport or Local()
    record = RunRecord(transport, str(root))
    for path, text, env_file in changes:
        before = transport.read_text(str(path))
        FileChange("t", str(path), before, text, mode=0o600 if env_file else None, env_file=env_file,
                   current_mode=transport.file_mode(str(path))).apply(transport, record)
    return record


def manifest_of(record: RunRecord) -> Path:
    return Path(record.folder) / "manifest.json"


# --- item 9: keep what the user wrote -------------------------------------------------------------


CRLF_ENV = b"# prod \xe9t\xe9 settings\r\nDEBUG=True\r\nGREETING=caf\xe9\r\n\r\nexport ALLOWED_HOSTS=localhost # dev\r\n"


def test_env_edit_keeps_crlf_and_bytes_that_are_not_utf8(tmp_path, host):
    path = tmp_path / ".env.production"
    path.write_bytes(CRLF_ENV)
    text = host.read_text(str(path))
    doc = EnvDocument.parse(text, str(path))
    assert doc.render(TEMPLATES) == text  # nothing planned: nothing changes, byte for byte
    doc.set("DEBUG", "False")
    doc.set("ALLOWED_HOSTS", DOMAIN)
    doc.set("ENVIRONMENT", "production")
    host.write_atomic(str(path), doc.render(TEMPLATES), 0o600)
    assert path.read_bytes() == (b"# prod \xe9t\xe9 settings\r\nDEBUG=False\r\nGREETING=caf\xe9\r\n\r\n"
                                 b"export ALLOWED_HOSTS=thebot.example.com\r\n\r\n"
                                 b"# --- set by django-remediation fix-prod ---\r\nENVIRONMENT=production\r\n")


def test_diff_shows_bytes_that_are_not_utf8_escaped(tmp_path):
    text = CRLF_ENV.decode("utf-8", "surrogateescape")
    change = FileChange("env", "x", text, text.replace("DEBUG=True", "DEBUG=False"), env_file=True)
    diff = change.diff()
    assert " GREETING=caf\\xe9\n" in diff  # a context line, the byte shown escaped
    assert "-DEBUG=True\n+DEBUG=False\n" in diff
    assert diff.encode("utf-8")  # printable: no lone surrogate, no U+FFFD
    assert "\ufffd" not in diff


def test_rollback_restores_backups_byte_identical(tmp_path, host):
    root = project(tmp_path)
    env, settings = root / ".env.production", root / "config" / "settings_production.py"
    env.write_bytes(CRLF_ENV)
    env.chmod(0o640)
    originals = {env: sha(env)}
    record = write(root, [(env, "DEBUG=False\r\n", True), (settings, "DEBUG = False\n", False)], host)
    assert env.read_bytes() == b"DEBUG=False\r\n" and oct(env.stat().st_mode & 0o777) == "0o600"
    lines = rollback(host, str(root))
    assert lines == [f"rolled back run {record.run_id}", f"removed {settings} (created by the run)", f"restored {env}"]
    assert sha(env) == originals[env] and oct(env.stat().st_mode & 0o777) == "0o640"
    assert not settings.exists()


# --- item 4: the intent is recorded before the rename ---------------------------------------------


def test_the_manifest_names_the_write_before_it_happens(tmp_path, monkeypatch):
    """The rename happens, then the process dies before it can say `written`: the manifest
    already holds the path, the backup and both hashes, and rollback restores the file."""
    root = project(tmp_path)
    env = root / ".env.production"
    env.write_bytes(CRLF_ENV)
    original = sha(env)
    real_replace = os.replace

    def replace_then_die(src, dst):
        real_replace(src, dst)
        if Path(dst) == env:
            raise SystemExit("killed right after the rename")

    monkeypatch.setattr(os, "replace", replace_then_die)
    transport, record = Local(), RunRecord(Local(), str(root))
    with pytest.raises(SystemExit):
        FileChange("env", str(env), transport.read_text(str(env)), "DEBUG=False\n", 0o600, env_file=True,
                   current_mode=0o644).apply(transport, record)
    monkeypatch.undo()
    assert env.read_bytes() == b"DEBUG=False\n"
    entry = json.loads(manifest_of(record).read_text())["files"][0]
    assert entry["state"] == "writing" and entry["before"] == original
    assert entry["after"] == hashlib.sha256(b"DEBUG=False\n").hexdigest()
    assert rollback(Local(), str(root))[1] == f"restored {env}"
    assert sha(env) == original


def pause_env(folder: Path, point: str = "renamed", name: str = ".env.production") -> dict:
    os.mkfifo(folder / "release")
    return {"REMEDIATION_TEST_PAUSE": f"{point}:{name}:{folder}"}


def start_fix_prod(project_dir: Path, env: dict) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.Popen([sys.executable, "-m", "invoke", "fix-prod", "--project", str(project_dir), "--domain", DOMAIN,
                             "--format", "json"], cwd=REPO, env={**environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"fix-prod ended before the write ({proc.returncode}): {err[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("fix-prod never reached the write")
        time.sleep(0.05)
    return path.read_text()


def release(folder: Path) -> None:
    with open(folder / "release", "wb"):
        pass


def run_manifest(project_dir: Path) -> dict:
    [path] = (project_dir / STATE_DIR / "runs").glob("*/manifest.json")
    return json.loads(path.read_text())


@pytest.fixture
def prod_env(demo) -> Path:
    """An existing production env file of the user's: CRLF, a byte that is not UTF-8."""
    path = demo / ".env.production"
    text = (demo / ".env").read_bytes().replace(b"\n", b"\r\n")
    path.write_bytes(b"# r\xe9glages de production\r\n" + text)
    path.chmod(0o640)
    return path


def test_sigint_held_inside_the_write_fires_after_the_rename(demo, prod_env, tmp_path):
    """Ctrl-C arrives while the env file is being written (signals held); it fires right after
    the rename, before the manifest says `written`: the run restores the file itself from the
    recorded intent, and rollback has nothing left to do."""
    original = sha(prod_env)
    hook = tmp_path / "hook"
    hook.mkdir()
    proc = start_fix_prod(demo, pause_env(hook))
    reached = wait_for(hook / "reached", proc)
    assert reached == f"renamed {prod_env}\n"
    assert b"DEBUG=False\r\n" in prod_env.read_bytes()  # the rename has happened
    proc.send_signal(signal.SIGINT)  # held: the write blocks SIGINT until it is done
    time.sleep(0.2)
    assert proc.poll() is None
    release(hook)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    document = json.loads(out)
    messages = {f["name"]: f["message"] for f in document["hosts"][0]["fixes"]}
    assert messages["secret_key"] == f"not applied: {prod_env}: interrupted (files restored)"
    assert sha(prod_env) == original and oct(prod_env.stat().st_mode & 0o777) == "0o640"
    assert run_manifest(demo)["files"][0]["state"] == "writing"  # the signal landed inside the write
    run = invoke("rollback", "--project", str(demo))
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "1 file(s) already as before the run"
    assert sha(prod_env) == original
    assert [p for p in demo.rglob("*.tmp")] == []


def test_kill_9_after_the_rename_is_rolled_back(demo, prod_env, tmp_path):
    original = sha(prod_env)
    hook = tmp_path / "hook"
    hook.mkdir()
    proc = start_fix_prod(demo, pause_env(hook))
    wait_for(hook / "reached", proc)
    proc.kill()  # SIGKILL while it waits between the rename and recording it written
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert b"DEBUG=False\r\n" in prod_env.read_bytes() and sha(prod_env) != original
    entry = run_manifest(demo)["files"][0]
    assert entry["state"] == "writing" and entry["after"] == sha(prod_env)
    run = invoke("rollback", "--project", str(demo))
    assert run.returncode == 0, run.stderr
    assert f"restored {prod_env}" in run.stdout.splitlines()
    assert sha(prod_env) == original and oct(prod_env.stat().st_mode & 0o777) == "0o640"


def test_kill_9_before_the_rename_leaves_the_original_and_rollback_clears_the_temp_file(demo, prod_env, tmp_path):
    original = sha(prod_env)
    hook = tmp_path / "hook"
    hook.mkdir()
    proc = start_fix_prod(demo, pause_env(hook, "before-rename"))
    assert wait_for(hook / "reached", proc) == f"before-rename {prod_env}\n"
    proc.kill()  # SIGKILL with the temp file whole and fsynced, not yet renamed
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    [temp] = demo.glob(f".{prod_env.name}.*.tmp")
    assert sha(prod_env) == original
    entry = run_manifest(demo)["files"][0]
    assert entry["state"] == "writing" and entry["after"] == sha(temp)
    run = invoke("rollback", "--project", str(demo))
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[1:] == [f"removed {temp} (a temp file of an interrupted write)",
                                           "1 file(s) already as before the run"]
    assert not temp.exists() and sha(prod_env) == original


def test_fix_prod_keeps_crlf_and_bytes_and_rollback_gives_them_back(demo, prod_env):
    original = sha(prod_env)
    run = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN, "--diff")
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.output
    data = prod_env.read_bytes()
    assert data.startswith(b"# r\xe9glages de production\r\n")
    assert b"\xef\xbf\xbd" not in data  # U+FFFD
    lines = data.split(b"\n")[:-1]
    assert lines and all(line.endswith(b"\r") for line in lines)
    assert b"DEBUG=False\r\n" in data
    back = invoke("rollback", "--project", str(demo))
    assert back.returncode == 0, back.stderr
    assert sha(prod_env) == original


def test_a_byte_that_is_not_utf8_in_the_development_env_stays_that_byte(demo):
    # The demo's settings load .env with python-dotenv (UTF-8), so with such a byte the project
    # itself cannot start and fix-prod rightly writes nothing (below): here a project that does
    # not read .env itself (its environment comes from outside, as under systemd) is used.
    settings = demo / "backend" / "config" / "settings.py"
    settings.write_text(settings.read_text().replace('load_dotenv(BASE_DIR.parent / ".env")', "pass"))
    dev = demo / ".env"
    dev.write_bytes(dev.read_bytes() + b"# d\xe9veloppement\nGREETING=caf\xe9\n")
    before = sha(dev)
    run = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN)
    assert run.returncode == 1 and "Traceback" not in run.output, run.stderr
    production = (demo / ".env.production").read_bytes()
    assert b"# d\xe9veloppement\nGREETING=caf\xe9\n" in production
    assert b"\xef\xbf\xbd" not in production
    assert sha(dev) == before


def test_a_development_env_the_project_cannot_decode_writes_nothing(demo):
    dev = demo / ".env"
    dev.write_bytes(dev.read_bytes() + b"GREETING=caf\xe9\n")
    before = tree_digest(demo)
    run = invoke("fix-prod", "--project", str(demo), "--domain", DOMAIN)
    assert run.returncode == 1 and "Traceback" not in run.output, run.stderr
    assert "UnicodeDecodeError" in run.stdout and "nothing written" in run.stdout
    assert tree_digest(demo) == before


# --- item 3: rollback writes only where a run wrote ----------------------------------------------


def test_rollback_refuses_a_path_outside_the_project(tmp_path, host):
    root = project(tmp_path)
    env, victim = root / ".env.production", tmp_path / "victim"
    env.write_text("DEBUG=True\n")
    victim.write_text("precious\n")
    record = write(root, [(env, "DEBUG=False\n", True)], host)
    manifest = manifest_of(record)
    document = json.loads(manifest.read_text())
    document["files"].append({**document["files"][0], "path": str(victim)})
    document["env_file"] = None
    manifest.write_text(json.dumps(document))
    with pytest.raises(RollbackRefused, match=f"^{victim}: outside the project and not the run's env file; refused$"):
        rollback(host, str(root))
    assert victim.read_text() == "precious\n" and env.read_text() == "DEBUG=False\n"  # nothing written


def test_rollback_refuses_a_manifest_or_folder_of_another_user_or_writable_by_others(tmp_path, host):
    root = project(tmp_path)
    env = root / ".env.production"
    env.write_text("DEBUG=True\n")
    record = write(root, [(env, "DEBUG=False\n", True)], host)
    manifest, folder = manifest_of(record), Path(record.folder)
    runs = folder.parent

    os.chown(manifest, NOBODY, NOBODY)
    with pytest.raises(RollbackRefused, match=f"^{manifest}: owned by uid {NOBODY}, not by the user running this"):
        rollback(host, str(root))
    os.chown(manifest, os.geteuid(), os.getegid())

    os.chown(folder, NOBODY, NOBODY)
    with pytest.raises(RollbackRefused, match=f"^{folder}: owned by uid {NOBODY}"):
        rollback(host, str(root))
    os.chown(folder, os.geteuid(), os.getegid())

    for path, mode in ((folder, 0o707), (runs, 0o777), (runs, 0o770), (manifest, 0o622)):
        old = path.stat().st_mode & 0o777
        path.chmod(mode)
        with pytest.raises(RollbackRefused, match=f"^{path}: mode {oct(mode)} lets others write; refused"):
            rollback(host, str(root))
        path.chmod(old)
    assert env.read_text() == "DEBUG=False\n"
    assert rollback(host, str(root))[1] == f"restored {env}"
    assert env.read_text() == "DEBUG=True\n"


def test_a_symlinked_runs_folder_is_refused_by_fix_prod_and_rollback(tmp_path, host):
    root = project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / STATE_DIR).mkdir(mode=0o700)
    (root / STATE_DIR / "runs").symlink_to(elsewhere)
    env = root / ".env.production"
    env.write_text("DEBUG=True\n")
    with pytest.raises(ChangeFailed, match=r"runs: is a symlink; refused"):
        write(root, [(env, "DEBUG=False\n", True)], host)
    assert env.read_text() == "DEBUG=True\n" and list(elsewhere.iterdir()) == []

    (elsewhere / "20260101T000000-1").mkdir(mode=0o700)
    (elsewhere / "20260101T000000-1" / "manifest.json").write_text(json.dumps(
        {"run_id": "x", "files": [{"path": str(env), "backup": None, "before": None, "after": None, "state": "written"}],
         "databases": []}))
    with pytest.raises(RollbackRefused, match=f"^{root / STATE_DIR / 'runs'}: is a symlink; refused"):
        rollback(host, str(root))
    assert env.read_text() == "DEBUG=True\n"


def test_a_symlinked_env_file_is_written_through_and_rolled_back_through(tmp_path, host):
    """Capistrano-style: the project's .env.production links to shared/; the link stays a link."""
    root = project(tmp_path)
    shared = tmp_path / "shared" / ".env.production"
    shared.parent.mkdir()
    shared.write_bytes(CRLF_ENV)
    link = root / ".env.production"
    link.symlink_to(shared)
    record = write(root, [(link, "DEBUG=False\r\n", True)], host)
    assert link.is_symlink() and os.readlink(link) == str(shared)
    assert shared.read_bytes() == b"DEBUG=False\r\n"
    assert json.loads(manifest_of(record).read_text())["env_file"] == str(shared)
    assert rollback(host, str(root))[1] == f"restored {shared}"
    assert link.is_symlink() and shared.read_bytes() == CRLF_ENV


def test_a_symlink_to_nothing_or_a_device_is_not_written(tmp_path, host):
    root = project(tmp_path)
    link = root / ".env.production"
    link.symlink_to(tmp_path / "missing")
    with pytest.raises(ChangeFailed, match="a symlink to .*missing, which does not exist; not written"):
        write(root, [(link, "DEBUG=False\n", True)], host)
    assert link.is_symlink() and not (tmp_path / "missing").exists()
    fifo = root / "config" / "settings_production.py"
    os.mkfifo(fifo)
    with pytest.raises(ChangeFailed, match="not a regular file; not written"):
        FileChange("t", str(fifo), None, "x\n").apply(host, RunRecord(host, str(root)))


def test_rollback_does_not_follow_a_symlink_planted_after_the_run(tmp_path, host):
    root = project(tmp_path)
    env, outside = root / ".env.production", tmp_path / "outside"
    env.write_text("DEBUG=True\n")
    outside.write_text("DEBUG=False\n")  # even the bytes the run wrote
    write(root, [(env, "DEBUG=False\n", True)], host)
    env.unlink()
    env.symlink_to(outside)
    with pytest.raises(RollbackRefused, match=f"^{env}: is now a symlink; rollback does not write through it$"):
        rollback(host, str(root))
    assert outside.read_text() == "DEBUG=False\n" and env.is_symlink()


def test_rollback_leaves_a_file_changed_since_the_run(tmp_path, host):
    root = project(tmp_path)
    env = root / ".env.production"
    env.write_text("DEBUG=True\n")
    record = write(root, [(env, "DEBUG=False\n", True)], host)
    env.write_text("DEBUG=False\nEDITED=by hand\n")
    with pytest.raises(RollbackRefused, match=r"changed since the run wrote it; left as it is \(its backup: .*\)$"):
        rollback(host, str(root))
    assert env.read_text() == "DEBUG=False\nEDITED=by hand\n"
    assert "rolled_back" not in json.loads(manifest_of(record).read_text())


def test_rollback_refuses_a_tampered_backup(tmp_path, host):
    root = project(tmp_path)
    env = root / ".env.production"
    env.write_text("DEBUG=True\n")
    record = write(root, [(env, "DEBUG=False\n", True)], host)
    backup = Path(json.loads(manifest_of(record).read_text())["files"][0]["backup"])
    backup.write_text("EVIL=1\n")
    with pytest.raises(RollbackRefused, match="not the bytes it backed up"):
        rollback(host, str(root))
    assert env.read_text() == "DEBUG=False\n"


def test_rollback_cli_refusal_is_one_line(tmp_path):
    root = project(tmp_path)
    (root / "manage.py").write_text("")
    env = root / ".env.production"
    env.write_text("DEBUG=True\n")
    record = write(root, [(env, "DEBUG=False\n", True)])
    os.chown(manifest_of(record), NOBODY, NOBODY)
    run = invoke("rollback", "--project", str(root))
    assert run.returncode == 2
    assert run.stderr == (f"error: {manifest_of(record)}: owned by uid {NOBODY}, not by the user running this "
                          f"(uid {os.geteuid()}); refused\n")
    assert env.read_text() == "DEBUG=False\n"


def test_run_folder_that_already_exists_is_refused(tmp_path):
    root = project(tmp_path)
    record = RunRecord(Local(), str(root))
    Path(root, STATE_DIR, "runs", record.run_id).mkdir(parents=True, mode=0o700)
    with pytest.raises(UnsafeState, match="already exists; refused"):
        record.folder


def test_a_file_edited_between_plan_and_write_is_not_overwritten(tmp_path, host):
    root = project(tmp_path)
    env = root / ".env.production"
    env.write_text("DEBUG=True\n")
    change = FileChange("env", str(env), host.read_text(str(env)), "DEBUG=False\n", 0o600, env_file=True, current_mode=0o644)
    env.write_text("DEBUG=True\nEDITED=meanwhile\n")
    record = RunRecord(host, str(root))
    with pytest.raises(ChangeFailed, match=f"^{env}: changed while fix-prod ran; not written"):
        change.apply(host, record)
    assert env.read_text() == "DEBUG=True\nEDITED=meanwhile\n" and record.files == []
