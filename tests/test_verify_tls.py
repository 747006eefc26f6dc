"""invoke tls: a local CA made once, host certificates issued again only when they must be, keys 0600;
a client that trusts the CA (SSL_CERT_FILE) completes a verified handshake with a real server."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

from conftest import invoke
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from remediation.tls import certificate, ensure_ca, issue_host, names_of, write_pair


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_ca_and_host_certificate_once_then_kept(tmp_path):
    ca = tmp_path / "ca"
    first = invoke("tls", "--ca", str(ca), "--host", "localhost", "--host", "127.0.0.1", timeout=60)
    assert first.returncode == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0].startswith(f"CA: created: {ca}/ca.crt, valid until ")
    assert lines[1].startswith(f"localhost: issued: {ca}/hosts/localhost.crt, valid until ")
    assert lines[2] == f"trust it with SSL_CERT_FILE={ca}/ca.crt or --ca-file {ca}/ca.crt"
    assert (mode(ca), mode(ca / "ca.key"), mode(ca / "hosts" / "localhost.key")) == (0o700, 0o600, 0o600)
    before = {p.name: p.read_bytes() for p in (ca / "ca.crt", ca / "ca.key", ca / "hosts" / "localhost.crt")}
    again = invoke("tls", "--ca", str(ca), "--host", "localhost", "--host", "127.0.0.1", timeout=60)
    assert again.returncode == 0
    assert again.stdout.splitlines()[0].startswith("CA: reused:")
    assert again.stdout.splitlines()[1].startswith("localhost: kept:")
    assert {p.name: p.read_bytes() for p in (ca / "ca.crt", ca / "ca.key", ca / "hosts" / "localhost.crt")} == before
    cert = x509.load_pem_x509_certificate((ca / "hosts" / "localhost.crt").read_bytes())
    assert names_of(cert) == ["localhost", "127.0.0.1"]
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == \
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate((ca / "ca.crt").read_bytes()))


def test_host_certificate_reissued_when_names_change_expiry_nears_or_the_ca_differs(tmp_path):
    ca = tmp_path / "ca"
    issue_host(ca, ["app.test"])
    assert issue_host(ca, ["app.test", "www.app.test"])[1].reason == "names changed (was app.test)"
    ca_pair = ensure_ca(ca)[1]
    host = ca / "hosts" / "app.test.crt"
    write_pair(*certificate(["app.test", "www.app.test"], issuer=ca_pair, days=20), host, host.with_suffix(".key"))
    renewed = issue_host(ca, ["app.test", "www.app.test"], days=90)[1]
    assert (renewed.action, renewed.reason) == ("re-issued", "expires within 30 days")
    assert renewed.not_after > datetime.now(timezone.utc) + timedelta(days=80)
    write_pair(*certificate(["app.test", "www.app.test"]), host, host.with_suffix(".key"))  # self-signed
    assert issue_host(ca, ["app.test", "www.app.test"])[1].reason == "signed by another CA"
    assert issue_host(ca, ["app.test", "www.app.test"])[1].action == "kept"


def test_a_client_trusting_the_ca_verifies_a_real_handshake(tmp_path):
    ca = tmp_path / "ca"
    host = issue_host(ca, ["localhost"])[1]
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(host.cert, host.key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        try:
            with server_context.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"hello")
        except (ssl.SSLError, OSError):
            pass

    for trusted in (True, False):
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        env = {**os.environ, "SSL_CERT_FILE": str(ca / "ca.crt") if trusted else str(host.cert)}
        done = subprocess.run([sys.executable, "-c", (
            "import socket, ssl, sys\n"
            "c = ssl.create_default_context()\n"
            f"s = c.wrap_socket(socket.create_connection(('127.0.0.1', {port})), server_hostname='localhost')\n"
            "print(s.version(), s.recv(5).decode())\n")], env=env, capture_output=True, text=True, timeout=30)
        thread.join(10)
        if trusted:
            assert done.returncode == 0, done.stderr
            assert done.stdout.split()[1] == "hello"
        else:
            assert "CERTIFICATE_VERIFY_FAILED" in done.stderr
    listener.close()
