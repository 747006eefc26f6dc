"""The deploy's verify step (remediation/deploy/verify_step.py): which URLs it verifies and where it
connects, per host, from the host vars and the release's settings; a verify that finds something
(here a port nothing listens on: a real refused connection) marks the step failed and never the host.
The step against the deployed demo behind real nginx is tests/test_deploy_edge.py."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from remediation.deploy import verify_step
from remediation.deploy.display import Display
from remediation.deploy.hostrun import HostDeploy
from remediation.deploy.hostvars import host_config
from remediation.inventory.model import Host

SETTINGS = {"ALLOWED_HOSTS": ["thebot.example.com", "www.thebot.example.com", "localhost"],
            "ASGI_APPLICATION": "config.asgi.application"}


def run_for(address="127.0.0.1", local=True, settings=SETTINGS, **host_vars) -> HostDeploy:
    values = {"deploy_to": "/srv/thebot", "app": "thebot", "health_path": "/api/health/",
              "nginx_site": "/etc/nginx/sites-enabled/thebot.conf", **host_vars}
    host = Host("web1", address, local=local, vars=values)
    run = HostDeploy(host, host_config(host, "thebot"), Display(["web1"], enabled=False))
    run.facts = SimpleNamespace(settings=settings)
    return run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_local_host_on_other_ports_is_verified_over_https_and_its_redirect():
    found = verify_step.target(run_for(https_port="127.0.0.1:8443", http_port="127.0.0.1:8080"))
    assert found.urls == ["https://thebot.example.com:8443/api/health/", "http://thebot.example.com:8080/api/health/"]
    assert found.resolve == ["thebot.example.com:8443:127.0.0.1", "thebot.example.com:8080:127.0.0.1"]
    assert (found.address, found.ca_file) == ("127.0.0.1", None)


def test_a_remote_host_on_443_is_reached_at_its_address():
    found = verify_step.target(run_for("203.0.113.10", local=False))
    assert found.urls == ["https://thebot.example.com/api/health/"]  # verify checks http://NAME/ on 80 itself
    assert found.resolve == ["thebot.example.com:443:203.0.113.10", "thebot.example.com:80:203.0.113.10"]


def test_the_domains_var_and_ipv6_listen_addresses():
    found = verify_step.target(run_for(domains="app.example.org", https_port="[::1]:8443", http_port="8080"))
    assert found.urls[0] == "https://app.example.org:8443/api/health/"
    assert found.resolve == ["app.example.org:8443:[::1]", "app.example.org:8080:127.0.0.1"]


def test_an_sshd_test_host_on_loopback_reaches_nginx_on_loopback():
    found = verify_step.target(run_for("127.0.0.2", local=False, https_port="127.0.0.1:8443"))
    assert found.address == "127.0.0.1"


@pytest.mark.parametrize("changes, why", [
    ({"address": "203.0.113.10", "local": False, "https_port": "127.0.0.1:443"},
     "not verified: nginx listens on 127.0.0.1 of web1 only: the controller cannot reach it"),
    ({"domains": "*.example.com"}, "not verified: no plain domain name among the site's names (only wildcards) to verify"),
    ({"live_verify": "false"}, "live_verify is false for this host"),
])
def test_what_cannot_be_verified_is_skipped_with_the_reason(changes, why):
    run = run_for(**changes)
    verify_step.step(run)
    assert [(s.name, s.status, s.detail) for s in run.steps] == [("verify", "skipped", why)]
    assert (run.status, run.verify) == ("ok", None)


def test_no_nginx_site_no_step():
    run = run_for(nginx_site="")
    verify_step.step(run)
    assert run.steps == []


def test_a_missing_ca_file_fails_the_step_not_the_host(tmp_path):
    run = run_for(tls_ca_file=str(tmp_path / "ca.pem"))
    verify_step.step(run)
    assert [(s.name, s.status, s.detail) for s in run.steps] == [
        ("verify", "failed", f"tls_ca_file {tmp_path / 'ca.pem'}: no such file on the controller (it is read where "
                             "the deploy runs)")]
    assert (run.status, run.error) == ("ok", "")


def test_findings_at_high_fail_the_step_not_the_host():
    https, http = free_port(), free_port()
    run = run_for(https_port=f"127.0.0.1:{https}", http_port=f"127.0.0.1:{http}")
    verify_step.step(run)
    url = f"https://thebot.example.com:{https}/api/health/"
    assert [(s.name, s.status, s.detail) for s in run.steps] == [
        ("verify", "failed", f"{url} at 127.0.0.1: 2 finding(s) at or above high: live.unreachable; not rolled back "
                             "(the release is live and healthy; this step only reports)")]
    assert (run.status, run.error) == ("ok", "")
    assert (run.verify["clean"], run.verify["blocking"]) == (False, ["live.unreachable"])
    assert sorted(f["detail"] for f in run.verify["findings"]) == [
        f"http://thebot.example.com:{http}/api/health/: connection refused", f"{url}: connection refused"]
    assert run.to_dict()["verify"] == run.verify


def test_the_recap_says_setup_and_the_verify_line():
    from remediation.deploy.commands import recap_text

    host = {"host": "web1", "status": "changed", "error": None, "seconds": 3.0, "steps": [], "release": "20261126T091500Z-abc1234",
            "url": "http://127.0.0.1:8000/api/health/",
            "verify": {"urls": ["https://thebot.example.com/api/health/"], "clean": False, "fail_level": "high",
                       "blocking": ["live.hsts", "live.websocket"]}}
    text = recap_text({"setup": True, "check": False, "release": "", "commit": None, "seconds": 3.04,
                       "hosts": [host], "outcome": "setup: done"})
    assert text == ("DEPLOY SETUP RECAP  the live release, no new one  3.0s\n"
                    "web1 : changed     steps=0 failed=0 3.0s  release 20261126T091500Z-abc1234  "
                    "http://127.0.0.1:8000/api/health/\n"
                    "       verify: live.hsts, live.websocket at or above high (https://thebot.example.com/api/health/); "
                    "not rolled back\n"
                    "setup: done\n")
    host["verify"]["clean"] = True
    assert "       verify: clean at high (https://thebot.example.com/api/health/)\n" in recap_text(
        {"check": False, "release": "r1", "commit": "0123456789abcdef", "seconds": 1, "hosts": [host], "outcome": ""})
