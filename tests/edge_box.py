"""Test parts for the edge: a certificate authority and host certificates made with
``cryptography`` (until remediation/tls.py lands), and a real nginx (/usr/sbin/nginx, Debian's) of
its own: a prefix folder, a main nginx.conf that includes ``sites-enabled/*`` as Debian's does,
started as a daemon and stopped by its pid.
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

NGINX = "/usr/sbin/nginx"

MAIN_CONF = """worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 128; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {prefix}/sites-enabled/*;
}}
"""


def make_tls(folder: Path, names: list[str]) -> dict[str, Path]:
    """A CA, a host certificate for ``names`` signed by it (chain file: host + CA), its key, and a
    second key that matches no certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def pem_key(key) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "remediation edge test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=90))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    host_key = ec.generate_private_key(ec.SECP256R1())
    host = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_name).public_key(host_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=60))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {"ca": folder / "ca.pem", "cert": folder / "fullchain.pem", "key": folder / "privkey.pem",
             "other_key": folder / "other-key.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(host.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(pem_key(host_key))
    paths["other_key"].write_bytes(pem_key(ec.generate_private_key(ec.SECP256R1())))
    for name in ("key", "other_key"):
        paths[name].chmod(0o600)
    return paths


@dataclass
class NginxBox:
    prefix: Path

    @property
    def conf(self) -> Path:
        return self.prefix / "nginx.conf"

    @property
    def sites(self) -> Path:
        return self.prefix / "sites-enabled"

    @property
    def command(self) -> str:
        """The host var ``nginx``."""
        return f"{NGINX} -p {self.prefix}/ -c {self.conf}"

    def start(self) -> None:
        (self.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        self.sites.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(MAIN_CONF.format(prefix=self.prefix))
        done = subprocess.run([NGINX, "-p", f"{self.prefix}/", "-c", str(self.conf)], capture_output=True, text=True,
                              timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"nginx did not start: {done.stderr.strip()}")
        deadline = time.monotonic() + 10
        while self.pid() is None:
            if time.monotonic() > deadline:
                raise RuntimeError("nginx wrote no pid file")
            time.sleep(0.05)

    def pid(self) -> int | None:
        try:
            return int((self.prefix / "nginx.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def workers(self) -> set[int]:
        done = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.pid())], capture_output=True, text=True)
        return {int(w) for w in done.stdout.split()}

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGQUIT)  # graceful: the master waits for its workers
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if not running(pid):
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def running(pid: int) -> bool:
    """Alive and not a zombie (the daemonized master is PID 1's child, reaped whenever PID 1 gets to it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
