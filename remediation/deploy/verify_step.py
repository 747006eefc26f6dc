"""The ``verify`` step: after a host with an nginx site passed its health check, what a browser
receives from it, by ``invoke verify``'s own code (remediation/verify), from the controller.

The URL is ``https://<first domain>:<https_port><health_path>`` (and ``http://<first domain>:
<http_port><health_path>`` when the ports are not 443 and 80, so the redirect is checked too; on 443
verify checks ``http://NAME/`` itself), connected straight to the address nginx listens on
(``--resolve``: the name kept for Host, SNI and the certificate check), so the host is verified
before DNS points at it and each host of a fleet on its own. Trust: the system's store, plus the
host var ``tls_ca_file`` (a CA file on the controller: a staging or test CA) when set.

The step reports and never rolls back: the release passed its health check and is live; a finding
here (an expiring certificate, a missing header) is rarely the release's doing, and going back would
not fix it. Findings at or above high mark the step failed (not fatal), in one line of their ids;
every finding goes to the JSON report (``verify`` per host). Host var ``live_verify: false`` skips it.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from ..changes import ChangeFailed
from ..findings import Severity
from ..runner import UsageError
from . import edge

FAIL_LEVEL = Severity.HIGH
WILDCARDS = ("0.0.0.0", "::", "[::]", "*")


def wanted(run) -> bool:
    return edge.enabled(run.host.vars) and str(run.host.vars.get("live_verify", "true")).strip().lower() not in (
        "false", "no", "0", "off")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(str(address or "").strip("[]")).is_loopback
    except ValueError:
        return str(address or "").lower() == "localhost"


def connect_address(run, listen: str) -> str:
    """Where the controller reaches this host's nginx: the address nginx listens on when the site
    names one, else 127.0.0.1 for a local host and the host's address for a remote one."""
    address = listen.rpartition(":")[0] if ":" in listen else ""
    host = run.host
    if address and address not in WILDCARDS:
        address = address.strip("[]")
        if _loopback(address) and not host.local and not _loopback(host.address):
            raise Skip(f"nginx listens on {address} of {host.name} only: the controller cannot reach it")
        return address
    return "127.0.0.1" if host.local else str(host.address)


class Skip(Exception):
    """The step cannot verify this host; said as the step's reason, never as clean."""


@dataclass
class Target:
    urls: list[str]  # the HTTPS URL, then the plain-HTTP one when nginx is not on 443/80 (its redirect)
    resolve: list[str]  # --resolve values: NAME:PORT:ADDRESS per listening port
    address: str | None  # where the HTTPS port is reached (None: the name is an address itself)
    ca_file: str | None


def _url(scheme: str, name: str, port: int, path: str) -> str:
    shown = f"[{name}]" if ":" in name else name
    return f"{scheme}://{shown}{'' if port == {'https': 443, 'http': 80}[scheme] else f':{port}'}{path}"


def target(run) -> Target:
    """What to verify and how to reach it; Skip when the controller cannot."""
    host_vars = run.host.vars
    names = [n for n in edge.server_names(host_vars, run.facts.settings) if not n.startswith(("*", "."))]
    names.sort(key=_is_ip)  # a domain first: what a browser would visit
    if not names:
        raise Skip("no plain domain name among the site's names (only wildcards) to verify")
    ca_file = host_vars.get("tls_ca_file")
    if ca_file and not os.path.isfile(os.path.expanduser(str(ca_file))):
        raise ChangeFailed(f"tls_ca_file {ca_file}: no such file on the controller (it is read where the deploy runs)")
    ca_file = str(ca_file) if ca_file else None
    name, path = names[0], run.config.health_path or "/"
    https_listen, https_port = edge.listen(host_vars.get("https_port"), 443)
    http_listen, http_port = edge.listen(host_vars.get("http_port"), 80)
    urls = [_url("https", name, https_port, path)]
    if (https_port, http_port) != (443, 80):  # on 443, verify checks http://NAME/ itself
        urls.append(_url("http", name, http_port, path))
    if _is_ip(name):  # an address as the site's name: the browser connects to it as it is
        return Target(urls, [], None, ca_file)
    address = connect_address(run, https_listen[0])
    resolve = [f"{name}:{port}:{f'[{a}]' if ':' in a else a}"
               for port, a in ((https_port, address), (http_port, connect_address(run, http_listen[0])))]
    return Target(urls, resolve, address, ca_file)


def verify_host(run, found: Target) -> str:
    from ..verify import verify_options, verify_urls

    ws = edge.words(run.host.vars.get("ws_paths")) or (["/ws/"] if edge.uses_channels(run.facts.settings) else [])
    try:
        urls, options = verify_options(found.urls, ca_file=found.ca_file, ws_path=ws[0] if ws else "none",
                                       health_path=run.config.health_path or "/", resolve=found.resolve)
    except UsageError as exc:
        raise ChangeFailed(str(exc)) from None
    reports, secrets = verify_urls(urls, options)
    run.secrets |= secrets
    findings = list({(f.id, f.detail): f for report in reports for f in report.findings}.values())
    high = [f for f in findings if f.severity >= FAIL_LEVEL and f.matters_in("production")]
    blocking = sorted({f.id for f in high})
    lower = sorted({f.id for f in findings} - set(blocking))
    run.verify = {"urls": found.urls, "resolve": found.resolve, "ca_file": found.ca_file,
                  "fail_level": str(FAIL_LEVEL), "clean": not blocking, "blocking": blocking,
                  "findings": [f.to_dict() for f in findings]}
    where = found.urls[0] + (f" at {found.address}" if found.address else "")
    if blocking:
        raise ChangeFailed(f"{where}: {len(high)} finding(s) at or above {FAIL_LEVEL}: {', '.join(blocking)}; "
                           "not rolled back (the release is live and healthy; this step only reports)")
    return f"{where}: clean at {FAIL_LEVEL}" + (f" (lower: {', '.join(lower)})" if lower else "")


def step(run) -> None:
    """The ``verify`` step of a host whose release is live and healthy (never fatal)."""
    if not edge.enabled(run.host.vars):
        return
    if not wanted(run):
        run.skip("verify", "live_verify is false for this host")
        return
    try:
        found = target(run)
    except Skip as exc:
        run.skip("verify", f"not verified: {exc}")
        return
    except Exception as exc:  # a bad value (EdgeError, tls_ca_file): the step says it in one line
        error = exc if isinstance(exc, ChangeFailed) else ChangeFailed(f"{type(exc).__name__}: {exc}")

        def refuse():
            raise error

        run.step("verify", refuse, fatal=False)
        return
    run.step("verify", lambda: verify_host(run, found), fatal=False)
