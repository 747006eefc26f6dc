"""Let's Encrypt certificates through certbot's webroot mode, when certbot is on the host.

The nginx site serves ``/.well-known/acme-challenge/`` from the webroot on plain HTTP (everything
else redirects), so certbot never touches nginx's configuration: ``certbot certonly --webroot``
writes the challenge file, Let's Encrypt fetches it, the certificate lands in
/etc/letsencrypt/live/<first domain>/ (``--cert-name`` pins that folder). ``--deploy-hook`` makes
every renewal reload nginx, which would otherwise keep serving the old certificate.

Renewal is certbot's own job (its package installs a systemd timer or a cron file); we check that
one of them is there and say so when neither is. By hand: this is certbot's documented command
line, nothing more.
"""

from __future__ import annotations

import posixpath
import shlex

from ..transport import TransportError
from .edge import EMAIL, EdgeError

LIVE = "/etc/letsencrypt/live"
CRON = "/etc/cron.d/certbot"
TIMEOUT = 300


def argv_of(host_vars: dict) -> list[str]:
    value = host_vars.get("certbot") or "certbot"
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else shlex.split(str(value))


def present(transport, argv: list[str]) -> bool:
    try:
        result = transport.run([*argv, "--version"], timeout=60)
    except TransportError:
        return False
    return result.returncode == 0


def live_paths(domain: str) -> tuple[str, str]:
    folder = posixpath.join(LIVE, domain)
    return posixpath.join(folder, "fullchain.pem"), posixpath.join(folder, "privkey.pem")


def plan(domains: list[str], cert_exists: bool, email: str | None) -> str:
    """"use" (the certificate is there) or "obtain"; a one-line EdgeError when certbot cannot."""
    if not domains:
        raise EdgeError("certbot's webroot mode cannot prove wildcard names or addresses: set the host var "
                        "domains to plain names, or tls_cert and tls_key")
    if cert_exists:
        return "use"
    if not email:
        raise EdgeError(f"certbot: no certificate for {domains[0]} yet and no letsencrypt_email host var: set it "
                        "(Let's Encrypt's account email) and run again")
    if not EMAIL.match(email):
        raise EdgeError(f"letsencrypt_email {email!r} is not an email address")
    return "obtain"


def command(argv: list[str], webroot: str, domains: list[str], email: str, nginx_argv: list[str]) -> list[str]:
    return [*argv, "certonly", "--webroot", "-w", webroot, "--cert-name", domains[0],
            *[arg for domain in domains for arg in ("-d", domain)],
            "--non-interactive", "--agree-tos", "-m", email,
            "--deploy-hook", shlex.join([*nginx_argv, "-s", "reload"])]


def obtain(transport, argv: list[str]) -> str:
    try:
        result = transport.run(argv, timeout=TIMEOUT)
    except TransportError as exc:
        raise EdgeError(f"certbot: {exc}") from None
    if result.returncode != 0:
        lines = [line.strip() for line in f"{result.stdout}\n{result.stderr}".splitlines() if line.strip()]
        reason = next((line for line in lines if "Detail:" in line or "Error" in line), lines[-1] if lines else "")
        raise EdgeError(f"certbot certonly failed: {reason[:300] or f'exit status {result.returncode}'}")
    return "certificate obtained from Let's Encrypt"


def renewal(transport, cron: str = CRON) -> str:
    """Who renews: certbot's systemd timer, or its cron file; a one-line EdgeError when neither is there."""
    why = ""
    try:
        timers = transport.run(["systemctl", "list-timers", "certbot.timer", "--all", "--no-legend"], timeout=60)
        if timers.returncode == 0 and any("certbot.timer" in line.split() for line in timers.stdout.splitlines()):
            return "renewal: certbot.timer (systemd)"
        if timers.returncode != 0:
            why = " (systemctl: " + ((timers.stderr or timers.stdout).strip().splitlines() or ["no answer"])[0][:120] + ")"
    except TransportError as exc:
        why = f" ({exc})"
    if transport.lstat(cron) is not None:
        return f"renewal: {cron}"
    raise EdgeError(f"certbot's renewal is not scheduled: no certbot.timer{why} and no {cron}; "
                    "the certificate expires in 90 days (install certbot's package timer, or a cron entry for certbot renew)")
