"""invoke verify --resolve NAME:ADDRESS against real nginx: the site is verified by a name no DNS
knows (``.test`` never resolves), connected to 127.0.0.1, while the URL, the Host header, SNI and
the certificate check keep the name.

nginx proves each part: on the HTTPS port the default server has a certificate for another name
and only the ``site.test`` server (chosen by SNI) the right one, so a handshake without SNI fails;
the plain-HTTP server redirects to ``https://$host...``, so a Host header other than the name
would be a redirect to another host. TLS is verified against a test CA, never with verification off.
"""

from __future__ import annotations

import json

import pytest
from conftest import invoke
from test_verify import site_body
from verify_servers import (
    GOOD_HEADERS,
    Nginx,
    WebSocketBackend,
    close,
    copy_static,
    free_port,
    need_nginx,
    stdlib_server,
)

from remediation.tls import issue_host

NAME, OTHER = "site.test", "other.test"
pytestmark = pytest.mark.xdist_group("verify-resolve")


def server_block(port: int, name: str, cert, body: str) -> str:
    return f"""
  server {{
    listen 127.0.0.1:{port} ssl;
    server_name {name};
    ssl_certificate {cert.cert};
    ssl_certificate_key {cert.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    server_tokens off;
{body}
  }}"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    need_nginx()
    folder = tmp_path_factory.mktemp("resolve")
    ca_dir = folder / "ca"
    right = issue_host(ca_dir, [NAME])[1]
    default = issue_host(ca_dir, ["default.test"])[1]  # the same CA, another name: only SNI picks the right one
    backend = stdlib_server(WebSocketBackend)
    https, http = free_port(), free_port()
    nginx = Nginx(folder / "nginx")
    body = site_body(GOOD_HEADERS, (), str(copy_static(folder)), ws=f"http://127.0.0.1:{backend.server_address[1]}/ws/ok/",
                     health=200)
    hop = f"    location = /to-other {{ return 301 https://{OTHER}:{https}/; }}\n"
    nginx.server(https, body, (str(default.cert), str(default.key)), extra="ssl_protocols TLSv1.2 TLSv1.3;")
    nginx.servers.append(server_block(https, NAME, right, hop + body))
    nginx.server(http, f"    return 301 https://$host:{https}$request_uri;")
    nginx.start()
    try:
        yield {"https": https, "http": http, "ca": str(ca_dir / "ca.crt")}
    finally:
        nginx.stop()
        close(backend)


def verify(*args: str):
    done = invoke("verify", *args, "--format", "json", timeout=60)
    assert "Traceback" not in done.output
    return done, json.loads(done.stdout) if done.stdout.startswith("{") else None


def test_without_resolve_the_name_does_not_resolve(world):
    done, report = verify(f"https://{NAME}:{world['https']}/", "--ca-file", world["ca"], "--timeout", "3")
    assert done.returncode == 1
    assert [(f["id"], f["detail"]) for f in report["urls"][0]["findings"]] == [
        ("live.unreachable", f"https://{NAME}:{world['https']}/: the host name does not resolve")]


def test_resolve_verifies_the_site_by_its_name(world):
    done, report = verify(f"http://{NAME}:{world['http']}/", "--resolve", f"{NAME}:127.0.0.1", "--ca-file",
                          world["ca"], "--health-path", "/health/")
    assert done.returncode == 0, done.output
    entry = report["urls"][0]
    assert entry["findings"] == []
    observed = entry["observed"]
    # Host kept: nginx built the redirect from the Host header it received
    assert observed["redirect"]["hops"][0] == {"url": f"http://{NAME}:{world['http']}/", "status": 301,
                                               "location": f"https://{NAME}:{world['https']}/"}
    assert observed["page"]["url"] == f"https://{NAME}:{world['https']}/" and observed["page"]["status"] == 200
    assert observed["connected_to"] == "127.0.0.1"
    # SNI and the certificate check kept the name: the default server's certificate is for default.test
    tls = observed["tls"]
    assert (tls["host"], tls["address"], tls["verified"], tls["certificate"]["names"]) == (
        NAME, "127.0.0.1", True, [NAME])
    assert observed["websocket"]["status"] == 101 and observed["websocket"]["accept_ok"] is True
    assert observed["static"]["asset"]["status"] == 200 and observed["health"]["status"] == 200
    rows = {r["component"]: r for r in entry["rows"]}
    assert rows["Reachable"]["detail"] == (f"GET https://{NAME}:{world['https']}/ answered 200 "
                                           "(connected to 127.0.0.1 by --resolve)")


def test_resolve_with_a_port_applies_to_that_port_only(world):
    https = f"https://{NAME}:{world['https']}/"
    done, report = verify(https, "--resolve", f"{NAME}:{world['https']}:127.0.0.1", "--ca-file", world["ca"])
    assert done.returncode == 0, done.output
    assert report["urls"][0]["observed"]["tls"]["verified"] is True
    other_port = world["https"] + 1 if world["https"] < 65535 else world["https"] - 1
    done, report = verify(f"https://{NAME}:{other_port}/", "--resolve", f"{NAME}:{world['https']}:127.0.0.1",
                          "--ca-file", world["ca"], "--timeout", "3")
    assert [f["id"] for f in report["urls"][0]["findings"]] == ["live.unreachable"]
    assert "does not resolve" in report["urls"][0]["findings"][0]["detail"]


def test_the_certificate_is_still_checked_for_the_name(world):
    """Another name resolved to the same address gets nginx's default server and its certificate for
    default.test: refused for that name, as a browser would."""
    done, report = verify(f"https://{OTHER}:{world['https']}/", "--resolve", f"{OTHER}:127.0.0.1", "--ca-file",
                          world["ca"])
    assert done.returncode == 1
    found = {f["id"]: f for f in report["urls"][0]["findings"]}
    assert list(found) == ["live.certificate"]
    detail = found["live.certificate"]["detail"]
    assert detail.startswith(f"TLS handshake with {OTHER}:{world['https']} at 127.0.0.1: Hostname mismatch")
    assert "names default.test" in detail


def test_a_redirect_to_another_name_at_the_same_address_is_checked_for_that_name(world):
    """site.test/to-other redirects to other.test on the same address and port: the connection
    verified for site.test is not reused for other.test (one pool per name), so other.test's
    certificate is checked and refused."""
    done, report = verify(f"https://{NAME}:{world['https']}/to-other", "--resolve", f"{NAME}:127.0.0.1",
                          "--resolve", f"{OTHER}:127.0.0.1", "--ca-file", world["ca"])
    assert done.returncode == 1, done.output
    found = report["urls"][0]["findings"]
    assert [f["id"] for f in found] == ["live.certificate"]
    assert found[0]["detail"].startswith(f"following the redirects: https://{OTHER}:{world['https']}/: certificate "
                                         "not accepted: Hostname mismatch")


@pytest.mark.parametrize("value, message", [
    ("site.test", "error: --resolve: 'site.test' has no address (give NAME:ADDRESS or NAME:PORT:ADDRESS, e.g. "
                  "example.com:203.0.113.10)"),
    ("site.test:", "error: --resolve: 'site.test:' has no address (give NAME:ADDRESS or NAME:PORT:ADDRESS, e.g. "
                   "example.com:203.0.113.10)"),
    ("site_test:127.0.0.1", "error: --resolve: 'site_test:127.0.0.1': 'site_test' is not a host name"),
    ("site.test:99999:127.0.0.1", "error: --resolve: 'site.test:99999:127.0.0.1': the port 99999 is not a number "
                                  "from 1 to 65535"),
    ("site.test:300.1.2.3", "error: --resolve: 'site.test:300.1.2.3': the address is not an IP address or a host "
                            "name (IPv6 in brackets when a port is given)"),
    ("site.test:127.0.0.1;rm", "error: --resolve: 'site.test:127.0.0.1;rm': the address is not an IP address or a "
                               "host name (IPv6 in brackets when a port is given)"),
])
def test_bad_resolve_values_are_one_line_and_exit_2(value, message):
    done = invoke("verify", "https://site.test/", "--resolve", value, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message + "\n")


def test_one_name_with_two_addresses_is_refused():
    done = invoke("verify", "https://site.test/", "--resolve", "site.test:127.0.0.1", "--resolve",
                  "site.test:127.0.0.2", timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", "error: --resolve: site.test is given two addresses (127.0.0.1 and 127.0.0.2)\n")
