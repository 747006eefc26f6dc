"""One venv per requirements content (remediation/deploy/venvs.py), built for real with the host's
``python -m venv`` and pip from the session's wheel cache (tests/demo_venv.py; never the index),
on this machine and on a real sshd test host."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import demo_venv
from conftest import DEMO
from remediation.deploy import venvs
from remediation.deploy.layout import Layout
from remediation.ssh import Ssh
from remediation.transport import Local
from sshd import ssh_client_key, ssh_host, ssh_hosts  # noqa: F401 (fixtures)

PYTHON = sys.executable  # the "host's" interpreter: on the sshd test hosts too (hermetic PATH)
SMALL = "# one small wheel\nsix==1.17.0\n"
DEMO_REQUIREMENTS = (DEMO / "backend" / "requirements.txt").read_text()
MISSING = "six==1.17.0\nno-such-package-xyz==1\n"


@pytest.fixture(scope="module")
def wheels() -> list[str]:
    try:
        return ["--no-index", "--find-links", str(demo_venv.wheel_cache())]
    except demo_venv.BuildError as exc:
        pytest.fail(f"the wheel cache could not be built: {exc}")


@pytest.fixture(scope="module")
def built(tmp_path_factory, wheels):
    """One real venv with the demo's real requirements on this machine, shared by the module:
    (layout, path, created, seconds)."""
    layout = Layout(str(tmp_path_factory.mktemp("deploy") / "app"))
    path, created, seconds = venvs.ensure(Local(), layout, DEMO_REQUIREMENTS, PYTHON, wheels)
    return layout, path, created, seconds


def identity(transport=None) -> str:
    return venvs.python_version(transport or Local(), PYTHON)


def stamps(folder: str) -> dict[str, int]:
    """mtime (ns) of the folder and of everything directly in it: proof that nothing was written."""
    names = [""] + os.listdir(folder)
    return {name: os.lstat(os.path.join(folder, name)).st_mtime_ns for name in names}


def make_fake_venv(layout: Layout, name: str, complete: bool = True) -> str:
    """A folder named and marked like a venv (no interpreter): enough for linking and cleanup."""
    path = Path(layout.venv(name))
    (path / "bin").mkdir(parents=True)
    if complete:
        (path / venvs.COMPLETE).write_text("{}\n")
    return str(path)


# --- the hash ---------------------------------------------------------------------------------


def test_the_hash_ignores_what_pip_ignores_and_nothing_else():
    version = identity()
    same = venvs.requirements_hash("six==1.17.0\n", version)
    assert len(same) == 16 and int(same, 16) >= 0
    assert venvs.requirements_hash("# pinned\r\n\r\n  six==1.17.0   # the only one\r\n", version) == same
    assert venvs.requirements_hash("six==1.16.0\n", version) != same
    reordered = venvs.requirements_hash("idna\nsix==1.17.0\n", version)
    assert venvs.requirements_hash("six==1.17.0\nidna\n", version) != reordered
    assert venvs.requirements_hash("six==1.17.0\n", version.replace("3.", "9.", 1)) != same
    assert venvs.requirements_hash("six==1.17.0#egg\n", version) != same  # '#' inside a token is not a comment


def test_the_python_identity_is_the_version_and_the_real_interpreter():
    assert identity() == f"{sys.version} | {os.path.realpath(sys.executable)}"


# --- on this machine ---------------------------------------------------------------------------


def test_a_venv_is_built_at_its_final_path_and_marked_complete(built):
    layout, path, created, seconds = built
    assert created is True and seconds > 0
    assert path == layout.venv(venvs.requirements_hash(DEMO_REQUIREMENTS, identity()))
    assert os.listdir(layout.venvs) == [os.path.basename(path)]
    assert Path(path, "requirements.txt").read_text() == DEMO_REQUIREMENTS
    assert Path(path, venvs.COMPLETE).exists()
    done = subprocess.run([f"{path}/bin/python", "-c", "import django, sys; print(django.__version__[:2], sys.prefix)"],
                          capture_output=True, text=True, check=True)
    assert done.stdout == f"5. {path}\n"
    print(f"demo requirements venv: {seconds:.1f}s")


def test_the_same_requirements_reuse_the_venv_and_write_nothing(built, wheels):
    layout, path, _, _ = built
    before = stamps(layout.venvs), stamps(path)
    again, created, _ = venvs.ensure(Local(), layout, "# same, other comments\n\n" + DEMO_REQUIREMENTS, PYTHON, wheels)
    assert (again, created) == (path, False)
    assert (stamps(layout.venvs), stamps(path)) == before


def test_a_python_that_does_not_run_is_one_line(built, wheels):
    layout, _, _, _ = built
    with pytest.raises(venvs.VenvError) as caught:
        venvs.ensure(Local(), layout, SMALL, "/nonexistent/python3", wheels)
    assert str(caught.value) == "the host's python does not run: /nonexistent/python3: no such program"


def test_a_release_links_its_venv_relatively(built, tmp_path):
    layout, path, _, _ = built
    release = Path(layout.release_temp("20260101T000000Z-abcdef1"))
    release.mkdir(parents=True)
    venvs.link(Local(), layout, str(release), path)
    assert os.readlink(release / ".venv") == f"../../venvs/{os.path.basename(path)}"
    release.rename(layout.release("20260101T000000Z-abcdef1"))  # still right under its final name
    python = Path(layout.release_python("20260101T000000Z-abcdef1"))
    done = subprocess.run([str(python), "-c", "import django; print(django.__file__)"], capture_output=True, text=True)
    site = f"lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"
    assert (done.returncode, done.stdout) == (0, f"{python.parent.parent}/{site}/django/__init__.py\n")
    assert sorted(os.listdir(layout.release("20260101T000000Z-abcdef1"))) == [".venv"]  # no temp link left


def test_gunicorn_runs_through_the_release_link_from_the_path_it_was_built_at(built):
    layout, path, _, _ = built
    release = layout.release("20260102T000000Z-abcdef2")
    os.makedirs(release)
    venvs.link(Local(), layout, release, path)
    gunicorn = Path(release, ".venv", "bin", "gunicorn")
    assert gunicorn.read_text().splitlines()[0] == f"#!{path}/bin/python"  # the final path: nothing to rewrite
    done = subprocess.run([str(gunicorn), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("gunicorn (version ")


def test_linking_an_incomplete_venv_is_refused(tmp_path):
    layout = Layout(str(tmp_path / "app"))
    incomplete = make_fake_venv(layout, "b" * 16, complete=False)
    release = Path(layout.release("20260101T000000Z-abcdef1"))
    release.mkdir(parents=True)
    with pytest.raises(venvs.VenvError) as caught:
        venvs.link(Local(), layout, str(release), incomplete)
    assert str(caught.value) == f"{incomplete}: not a complete venv of {layout.deploy_to}"
    assert os.listdir(release) == []


def test_relinking_replaces_the_link(tmp_path):
    layout = Layout(str(tmp_path / "app"))
    first, second = make_fake_venv(layout, "a" * 16), make_fake_venv(layout, "c" * 16)
    release = Path(layout.release("20260101T000000Z-abcdef1"))
    release.mkdir(parents=True)
    venvs.link(Local(), layout, str(release), first)
    venvs.link(Local(), layout, str(release), second)
    assert os.readlink(release / ".venv") == "../../venvs/" + "c" * 16


def test_unused_lists_what_no_kept_release_nor_current_links(tmp_path):
    layout = Layout(str(tmp_path / "app"))
    kept, live, old = (make_fake_venv(layout, ch * 16) for ch in "abc")
    incomplete = make_fake_venv(layout, "d" * 16, complete=False)
    leftover = make_fake_venv(layout, ".tmp-" + "e" * 16, complete=False)
    Path(layout.venvs, "notes").mkdir()  # not ours: never listed
    releases = {}
    for rid, venv in (("20260101T000000Z-aaaaaaa", kept), ("20260102T000000Z-bbbbbbb", live),
                      ("20260103T000000Z-ccccccc", old)):
        Path(layout.release(rid)).mkdir(parents=True)
        venvs.link(Local(), layout, layout.release(rid), venv)
        releases[rid] = layout.release(rid)
    os.symlink("releases/20260102T000000Z-bbbbbbb", layout.current)
    found = venvs.unused(Local(), layout, [releases["20260101T000000Z-aaaaaaa"]])
    assert found == [leftover, old, incomplete]
    venvs.remove(Local(), layout, found)
    assert sorted(os.listdir(layout.venvs)) == sorted([os.path.basename(kept), os.path.basename(live), "notes"])
    with pytest.raises(ValueError):
        venvs.remove(Local(), layout, [str(Path(layout.venvs, "notes"))])


# --- on a real sshd host -------------------------------------------------------------------------


def connect(host, tmp_path) -> Ssh:
    known = tmp_path / "known_hosts"
    known.write_text(host.known_hosts_line + "\n")
    config = tmp_path / "ssh_config"
    config.write_text("")
    return Ssh(host.name, host.address, port=host.port, key_file=str(host.client_key), known_hosts=str(known),
               ssh_config=str(config))


def test_over_ssh_a_crashed_build_is_rebuilt_reused_and_a_failing_one_leaves_nothing(ssh_host, tmp_path, wheels):
    layout = Layout(str(tmp_path / "remote" / "app"))
    with connect(ssh_host, tmp_path) as ssh:
        digest = venvs.requirements_hash(SMALL, venvs.python_version(ssh, PYTHON))
        for leftover in (layout.venv(digest), layout.venv_temp(digest)):  # what a killed build leaves
            Path(leftover, "bin").mkdir(parents=True)
            Path(leftover, "bin", "python").write_text("half\n")
        path, created, _ = venvs.ensure(ssh, layout, SMALL, PYTHON, wheels)
        assert (path, created) == (layout.venv(digest), True)
        assert sorted(os.listdir(layout.venvs)) == [digest]
        assert Path(path, venvs.COMPLETE).exists()
        before = stamps(layout.venvs), stamps(path)
        assert venvs.ensure(ssh, layout, SMALL, PYTHON, wheels)[:2] == (path, False)
        assert (stamps(layout.venvs), stamps(path)) == before
        with pytest.raises(venvs.VenvError) as caught:
            venvs.ensure(ssh, layout, MISSING, PYTHON, wheels)
        assert str(caught.value) == ("pip could not install the requirements: "
                                     "No matching distribution found for no-such-package-xyz==1")
        assert os.listdir(layout.venvs) == [digest]
        assert stamps(path) == before[1]
        done = ssh.run([f"{path}/bin/python", "-c", "import six; print(six.__version__)"], timeout=60)
        assert (done.returncode, done.stdout) == (0, "1.17.0\n")


# One worker runs this module, so its module-scoped set-up is built once (pytest runs with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("deploy-venvs")
