"""invoke verify and invoke tls with bad input: one finding or one clear line each, never a
traceback, never a hang (every run is bounded by the subprocess timeout, which fails the test)."""

from __future__ import annotations

import json
import socket

import pytest
from conftest import invoke
from verify_servers import Gigabytes, Hang, close, free_port, stdlib_server


@pytest.fixture(scope="module")
def hang():
    server = stdlib_server(Hang)
    yield server
    close(server)


@pytest.fixture(scope="module")
def gigabytes():
    server = stdlib_server(Gigabytes)
    yield server
    close(server)


def findings(done) -> list[dict]:
    return json.loads(done.stdout)["urls"][0]["findings"]


def test_a_name_that_does_not_resolve():
    done = invoke("verify", "https://no-such-host.invalid/", "--format", "json", "--timeout", "3", timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.output
    found = findings(done)
    assert [(f["id"], f["detail"]) for f in found] == [
        ("live.unreachable", "https://no-such-host.invalid/: the host name does not resolve")]


def test_a_refused_connection():
    port = free_port()
    done = invoke("verify", f"http://127.0.0.1:{port}/", "--format", "json", timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.output
    assert [(f["id"], f["detail"]) for f in findings(done)] == [
        ("live.unreachable", f"http://127.0.0.1:{port}/: connection refused")]


def test_a_server_that_never_answers_times_out(hang):
    port = hang.server_address[1]
    done = invoke("verify", f"http://127.0.0.1:{port}/", "--timeout", "1", "--format", "json", timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.output
    assert [(f["id"], f["detail"]) for f in findings(done)] == [
        ("live.unreachable", f"http://127.0.0.1:{port}/: no answer within 1s")]


def test_a_response_of_gigabytes_is_read_only_in_part(gigabytes):
    port = gigabytes.server_address[1]
    done = invoke("verify", f"http://127.0.0.1:{port}/", "--timeout", "5", "--format", "json", "--ws-path", "none",
                  timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.output
    large = [f for f in findings(done) if f["id"] == "live.large_response"]
    assert len(large) == 1 and large[0]["detail"] == (f"GET http://127.0.0.1:{port}/ answered 200; only the first "
                                                      "1048576 bytes were read")
    assert gigabytes.sent < 1 << 30  # the server stopped long before a gigabyte: the reads were bounded


def test_tls_refused_by_a_plain_http_server(hang):
    """https:// to a server speaking plain HTTP: one line, no traceback."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        done = invoke("verify", f"https://127.0.0.1:{port}/", "--timeout", "1", "--format", "json", timeout=60)
    finally:
        listener.close()
    assert done.returncode == 1 and "Traceback" not in done.output
    assert [f["id"] for f in findings(done)] == ["live.unreachable"]


@pytest.mark.parametrize("args, message", [
    (["ftp://example.com/"], "error: verify: 'ftp://example.com/' is not an http:// or https:// URL with a host"),
    (["https://"], "error: verify: 'https://' is not an http:// or https:// URL with a host"),
    (["https://example.com:99999/"], "error: verify: 'https://example.com:99999/': the port is not a number from 0 "
                                     "to 65535"),
    (["https://user:hunter2-secret@example.com/"], "error: verify: 'https://user:****@example.com/': a URL with "
                                                   "credentials is not what a browser visits; leave them out"),
    (["https://example.com/", "--timeout", "abc"], "error: --timeout: 'abc' is not a number of seconds"),
    (["https://example.com/", "--timeout", "0"], "error: --timeout: give a number of seconds above 0 (at most 300)"),
    (["https://example.com/", "--ca-file", "/nonexistent/ca.pem"], "error: --ca-file: /nonexistent/ca.pem: no such file"),
    (["https://example.com/", "--format", "xml"], "error: --format: unknown format 'xml' (choose from text, markdown, "
                                                  "json, junit, sarif)"),
    (["https://example.com/", "--fail-level", "severe"], "error: --fail-level: unknown severity 'severe' (choose from "
                                                         "info, low, medium, high, critical)"),
    (["https://example.com/", "--ws-path", "ws"], "error: --ws-path: 'ws' is not a path on the site (it starts with /)"),
    (["https://example.com/", "--output", "/nonexistent-dir/report.txt"],
     "error: --output: /nonexistent-dir: no such directory"),
])
def test_usage_errors_are_one_line_and_exit_2(args, message):
    done = invoke("verify", *args, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message + "\n")
    assert "hunter2" not in done.output


def test_a_ca_file_that_is_not_pem(tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    done = invoke("verify", "https://example.com/", "--ca-file", str(bogus), timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"error: --ca-file: {bogus}: not a PEM certificate bundle") and \
        done.stderr.count("\n") == 1


@pytest.mark.parametrize("args, message", [
    (["--ca", ""], "error: --ca: give the CA's folder (it is created when missing)"),
    (["--ca", "DIR", "--host", "bad name"], "error: --host: 'bad name' is not a host name or an IP address"),
    (["--ca", "DIR", "--host", "localhost", "--days", "x"], "error: --days: 'x' is not a whole number"),
    (["--ca", "DIR", "--host", "localhost", "--days", "0"], "error: --days: give a whole number of days from 1 to 825"),
])
def test_tls_usage_errors(tmp_path, args, message):
    args = [str(tmp_path / "ca") if a == "DIR" else a for a in args]
    done = invoke("tls", *args, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message + "\n")


def test_tls_refuses_a_file_as_the_ca_folder(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    done = invoke("tls", "--ca", str(target), timeout=60)
    assert (done.returncode, done.stderr) == (2, f"error: --ca: {target}: not a directory\n")
