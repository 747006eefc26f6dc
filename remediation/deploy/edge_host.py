"""The edge on one host of a deploy: checked at the gate (before any change), installed when the
release goes live (after the services restart, before the health check) or by ``deploy --setup``.

The certificate: the host vars ``tls_cert``/``tls_key`` when set; else certbot's live folder when
certbot is on the host (a first certificate is obtained through the webroot: the plain-HTTP site
goes in first, so that Let's Encrypt can fetch the challenge, then the full site); else the gate
refuses in one line.
"""

from __future__ import annotations

import posixpath

from . import certbot, edge, nginx


def wanted(run) -> bool:
    return edge.enabled(run.host.vars)


def state_dir(run) -> str:
    return posixpath.join(run.layout.state, "nginx")


def certificate(run) -> tuple[str, str, str]:
    """(cert, key, source) where source is "vars", "certbot" or "certbot:obtain"."""
    host_vars = run.host.vars
    cert, key = host_vars.get("tls_cert"), host_vars.get("tls_key")
    if cert or key:
        if not (cert and key):
            raise edge.EdgeError("set both tls_cert and tls_key (the certificate chain and its key)")
        return str(cert), str(key), "vars"
    if not certbot.present(run.transport, certbot.argv_of(host_vars)):
        raise edge.EdgeError("no TLS certificate: set the host vars tls_cert and tls_key, or install certbot "
                             "(and set letsencrypt_email) for Let's Encrypt")
    domains = edge.certbot_domains(edge.server_names(host_vars, run.facts.settings))
    cert, key = certbot.live_paths(domains[0]) if domains else ("", "")
    exists = bool(domains) and run.transport.lstat(cert) is not None
    action = certbot.plan(domains, exists, host_vars.get("letsencrypt_email"))
    return cert, key, "certbot" if action == "use" else "certbot:obtain"


def spec(run, release_dir: str, tls: bool = True) -> tuple[edge.EdgeSpec, str]:
    cert, key, source = certificate(run)
    relative = edge.find_frontend(run.transport, release_dir, run.host.vars)
    frontend = posixpath.join(run.layout.current, relative) if relative else None
    made = edge.spec_for(run.config, run.host.vars, run.facts.settings, frontend_dir=frontend,
                         tls_cert=cert, tls_key=key, tls=tls)
    return made, source


def gate(run, release_dir: str) -> str:
    """Before any change: the site renders from this release's settings, Django reads nginx's
    X-Forwarded-Proto, and a certificate is there or can be obtained (whether nginx accepts the
    certificate and key is nginx -t's to say, when the site is installed)."""
    proxy = edge.check_proxy_header(run.facts.settings)
    made, source = spec(run, release_dir)
    edge.render(made)
    if source == "vars":
        for label, path in (("tls_cert", made.tls_cert), ("tls_key", made.tls_key)):
            if run.transport.lstat(path) is None:
                raise edge.EdgeError(f"{label} {path}: no such file on this host")
    tls = {"vars": "tls_cert", "certbot": "certbot's certificate", "certbot:obtain": "certbot obtains one"}[source]
    front = f"; front end {made.frontend_dir}" if made.frontend_dir else ""
    return f"site for {' '.join(made.server_names)}: {proxy}; TLS: {tls}{front}"


def install(run, release_dir: str) -> str:
    host_vars = run.host.vars
    made, source = spec(run, release_dir)
    site, argv = edge.site_path(host_vars), edge.nginx_argv(host_vars)
    run.transport.makedirs(made.acme_webroot, 0o755)
    done = []
    if source == "certbot:obtain":
        # Let's Encrypt fetches the challenge over plain HTTP. A site of ours already serves it; with
        # no site yet, the plain-HTTP one goes in first (there is no certificate to name). A live site
        # is never replaced by it: if certbot fails, what served before still does.
        if run.transport.lstat(site) is None:
            plain = edge.spec_for(run.config, host_vars, run.facts.settings, frontend_dir=made.frontend_dir,
                                  tls_cert=None, tls_key=None, tls=False)
            done.append("plain-HTTP site for the challenge: " + nginx.install(run.transport, argv, site, edge.render(plain),
                                                                               state_dir(run)))
        command = certbot.command(certbot.argv_of(host_vars), made.acme_webroot, made.certbot_domains,
                                  str(host_vars.get("letsencrypt_email")), argv)
        done.append(certbot.obtain(run.transport, command))
    done.append(nginx.install(run.transport, argv, site, edge.render(made), state_dir(run)))
    return "; ".join(done)


def uses_certbot(run) -> bool:
    host_vars = run.host.vars
    return not (host_vars.get("tls_cert") or host_vars.get("tls_key"))


def steps(run, release_dir: str) -> None:
    """The edge steps of going live: the site (fatal), certbot's renewal (reported, not fatal)."""
    run.step("edge", lambda: install(run, release_dir))
    if uses_certbot(run):
        run.step("certbot renewal", lambda: certbot.renewal(run.transport), fatal=False)
