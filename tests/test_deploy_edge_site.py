"""The nginx site and its install, without a deployed world: the spec refuses project text that
would be nginx syntax, a real nginx (Debian's, own prefix, loopback ports) runs every rendered site,
serves a built front end with its SPA fallback, and the install's failure paths (a configuration
nginx already refuses, a folder nginx does not include, a run killed before the reload, nginx not
running) each end in one line. The app server behind nginx is a stdlib HTTP server that echoes the
headers it received. certbot: what can be tested without Let's Encrypt (see the last tests).
"""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from types import SimpleNamespace

import httpx
import pytest

from deploy_world import DOMAIN, cleanup_tree, free_port, world_root
from edge_box import NginxBox, make_tls
from remediation.deploy import certbot, edge, nginx
from remediation.deploy.layout import Layout
from remediation.transport import Local
from sshd import ssh_client_key, ssh_host, ssh_hosts  # noqa: F401 (fixtures)

SETTINGS = {"ALLOWED_HOSTS": [DOMAIN, "localhost"], "STATIC_URL": "/static/", "STATIC_ROOT": "/srv/thebot/releases/x/backend/staticfiles",
            "MEDIA_URL": "/media/", "MEDIA_ROOT": "/srv/thebot/releases/x/backend/media", "ASGI_APPLICATION": "config.asgi.application",
            "SECURE_HSTS_SECONDS": 31536000, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
            "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"], "X_FRAME_OPTIONS": "DENY"}


def config(**changes):
    return SimpleNamespace(app="thebot", app_bind="127.0.0.1:8000", layout=Layout("/srv/thebot"), **changes)


def spec(host_vars=None, settings=None, **kwargs):
    return edge.spec_for(config(), host_vars or {}, {**SETTINGS, **(settings or {})}, frontend_dir=kwargs.pop("frontend_dir", None),
                         tls_cert="/etc/ssl/site.pem", tls_key="/etc/ssl/site.key", **kwargs)


# --- the spec: values from settings and host vars, checked before they reach the file -------------


def test_the_spec_comes_from_settings_and_host_vars():
    made = spec()
    assert made.server_names == [DOMAIN]  # localhost is not a name the site serves
    assert (made.static_url, made.static_dir) == ("/static/", "/srv/thebot/shared/static")
    assert (made.media_url, made.media_dir) == ("/media/", "/srv/thebot/shared/media")
    assert made.http_listen == ["80", "[::]:80"] and made.https_listen == ["443", "[::]:443"]
    assert made.ws_paths == ["/ws/"] and made.acme_webroot == "/srv/thebot/shared/acme"
    assert made.hsts == "max-age=31536000; includeSubDomains"
    other = spec({"domains": "a.example.com, b.example.com", "https_port": "127.0.0.1:8443", "client_max_body_size": "100m"},
                 {"STATIC_ROOT": "/var/www/static", "STATIC_URL": "https://cdn.example.com/static/"})
    assert other.server_names == ["a.example.com", "b.example.com"] and other.https_listen == ["127.0.0.1:8443"]
    assert other.static_url is None and other.redirect_port == ":8443"
    text = edge.render(other)
    assert "client_max_body_size 100m;" in text and "location /static/" not in text


@pytest.mark.parametrize("host_vars, settings, line", [
    ({}, {"ALLOWED_HOSTS": ["evil.example.com; include /etc/shadow"]},
     "server name 'evil.example.com; include /etc/shadow' is not a host name nginx can match: set the host var domains"),
    ({}, {"ALLOWED_HOSTS": ["*"]}, "ALLOWED_HOSTS is '*': set the host var domains to the names nginx serves"),
    ({}, {"ALLOWED_HOSTS": []}, "no server name: set the host var domains (or ALLOWED_HOSTS in the production env)"),
    ({}, {"MEDIA_URL": "/media/\"; return 200 \"x"}, "MEDIA_URL '/media/\"; return 200 \"x/': a path like /static/ is needed for nginx to serve it"),
    ({"client_max_body_size": "25m; root /"}, {}, "client_max_body_size '25m; root /': a size like 25m"),
    ({"https_port": "443 ssl; listen 80"}, {}, "listen '443 ssl; listen 80': a port or ADDRESS:PORT"),
    ({"acme_webroot": "/srv/acme {"}, {}, "acme_webroot '/srv/acme {': an absolute path of plain characters (letters, digits, _@+,.=-)"),
    ({"ws_paths": "/ws"}, {}, "location '/ws': a path like /ws/ (slash first and last, plain characters)"),
])
def test_project_text_is_data_never_nginx_syntax(host_vars, settings, line):
    with pytest.raises(edge.EdgeError) as refused:
        spec(host_vars, settings)
    assert str(refused.value) == line


def test_hsts_is_what_the_settings_say_or_a_year():
    assert edge.hsts_value({}) == "max-age=31536000; includeSubDomains"
    assert edge.hsts_value({"SECURE_HSTS_SECONDS": 300}) == "max-age=300"
    assert edge.hsts_value({"SECURE_HSTS_SECONDS": 63072000, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
                            "SECURE_HSTS_PRELOAD": True}) == "max-age=63072000; includeSubDomains; preload"


@pytest.mark.parametrize("settings, line", [
    ({}, "SECURE_PROXY_SSL_HEADER: unknown (the settings could not be read); refusing to guess"),
    ({"DEBUG": False}, "SECURE_PROXY_SSL_HEADER is not set: behind nginx Django would see every request as HTTP; "
                       "set it to ('HTTP_X_FORWARDED_PROTO', 'https')"),
    ({"SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "on"]},
     "SECURE_PROXY_SSL_HEADER is ('HTTP_X_FORWARDED_PROTO', 'on') but nginx sends X-Forwarded-Proto ($scheme): "
     "set it to ('HTTP_X_FORWARDED_PROTO', 'https')"),
])
def test_the_proxy_header_must_be_the_one_nginx_sends(settings, line):
    with pytest.raises(edge.EdgeError) as refused:
        edge.check_proxy_header(settings)
    assert str(refused.value) == line
    assert edge.check_proxy_header(SETTINGS) == "SECURE_PROXY_SSL_HEADER matches nginx's X-Forwarded-Proto"


# --- real nginx ---------------------------------------------------------------------------------------


class Echo(http.server.BaseHTTPRequestHandler):
    """The app server: answers with the request line and headers it received, and its own HSTS header."""

    def do_GET(self):
        body = json.dumps({"path": self.path, "headers": dict(self.headers)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Strict-Transport-Security", "max-age=5")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def box():
    root = world_root("edge-site")
    made = NginxBox(root / "nginx")
    made.start()
    app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    made.root, made.tls, made.app_port = root, make_tls(root / "tls", [DOMAIN]), app.server_address[1]
    made.http_port, made.https_port = free_port(), free_port()
    try:
        yield made
    finally:
        app.shutdown()
        made.stop()
        cleanup_tree(root)


def site_spec(box, **changes) -> edge.EdgeSpec:
    values = dict(app="thebot", server_names=[DOMAIN], http_listen=[f"127.0.0.1:{box.http_port}"],
                  https_listen=[f"127.0.0.1:{box.https_port}"], https_port=box.https_port,
                  app_bind=f"127.0.0.1:{box.app_port}", acme_webroot=str(box.root / "acme"),
                  tls_cert=str(box.tls["cert"]), tls_key=str(box.tls["key"]), ws_paths=["/ws/"])
    return edge.EdgeSpec(**{**values, **changes})


def install(box, made, transport=None) -> str:
    return nginx.install(transport or Local(), box.command.split(), str(box.sites / "thebot.conf"), edge.render(made),
                         str(box.root / "state"))


def get(box, path, **headers) -> httpx.Response:
    context = ssl.create_default_context(cafile=str(box.tls["ca"]))
    with httpx.Client(verify=context, timeout=10) as client:
        return client.get(f"https://127.0.0.1:{box.https_port}{path}", headers={"Host": DOMAIN, **headers},
                          extensions={"sni_hostname": DOMAIN})


def test_the_front_end_with_its_spa_fallback_and_the_api_behind_it(box):
    front = box.root / "release" / "frontend" / "dist"
    (front / "assets").mkdir(parents=True)
    (front / "index.html").write_text("<div id=root></div>")
    (front / "assets" / "index-4f3a9c2b.js").write_text("console.log(1)")
    assert install(box, site_spec(box, frontend_dir=str(front))).endswith("reloaded (new workers; open connections "
                                                                         "finish on the old ones)")
    route = get(box, "/materials/12")  # a client-side route: index.html
    assert route.status_code == 200 and route.text == "<div id=root></div>" and route.headers["cache-control"] == "no-cache"
    asset = get(box, "/assets/index-4f3a9c2b.js")
    assert asset.text == "console.log(1)" and asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert route.headers.get_list("strict-transport-security") == ["max-age=31536000; includeSubDomains"]
    api = get(box, "/api/health/", **{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"})
    seen = api.json()["headers"]
    # what Django reads: nginx's scheme and the client's address, never what the client claims
    assert (seen["Host"], seen["X-Forwarded-Proto"], seen["X-Forwarded-For"]) == (DOMAIN, "https", "127.0.0.1")
    assert api.headers.get_list("strict-transport-security") == ["max-age=31536000; includeSubDomains"]  # one, nginx's


def test_the_plain_http_site_a_first_certificate_needs(box):
    """Before certbot's first certificate there is none to name: the site is HTTP only (the challenge
    path served, everything else redirected), then the full site replaces it."""
    install(box, site_spec(box, tls=False, tls_cert=None, tls_key=None))
    token = box.root / "acme" / ".well-known" / "acme-challenge" / "abc"
    token.parent.mkdir(parents=True)
    token.write_text("abc.key")
    plain = f"http://127.0.0.1:{box.http_port}"
    assert httpx.get(f"{plain}/.well-known/acme-challenge/abc", headers={"Host": DOMAIN}).text == "abc.key"
    moved = httpx.get(f"{plain}/admin/", headers={"Host": DOMAIN})
    assert (moved.status_code, moved.headers["location"]) == (301, f"https://{DOMAIN}:{box.https_port}/admin/")
    with pytest.raises(httpx.ConnectError):
        get(box, "/api/x")
    assert install(box, site_spec(box)).endswith("reloaded (new workers; open connections finish on the old ones)")
    assert get(box, "/api/x").status_code == 200


def test_nginx_already_refusing_its_configuration_is_not_blamed_on_the_site(box):
    (box.sites / "other.conf").write_text("server { listen 127.0.0.1:1; unknown_directive on; }\n")
    with pytest.raises(edge.EdgeError) as refused:
        install(box, site_spec(box))
    assert str(refused.value).startswith('nginx -t fails with or without the new site: unknown directive "unknown_directive"')
    assert str(refused.value).endswith("; the new file is removed")
    assert not (box.sites / "thebot.conf").exists()


def test_a_broken_live_site_can_be_fixed(box):
    install(box, site_spec(box))
    box.tls["cert"].rename(box.root / "moved.pem")  # the live site's certificate is gone: nginx -t fails
    fixed = install(box, site_spec(box, tls_cert=str(box.root / "moved.pem")))
    assert fixed.endswith("reloaded (new workers; open connections finish on the old ones)")
    assert get(box, "/api/x").status_code == 200


def test_a_certificate_nginx_cannot_load_puts_the_previous_site_back(box):
    install(box, site_spec(box))
    before = (box.sites / "thebot.conf").read_bytes()
    with pytest.raises(edge.EdgeError) as refused:
        install(box, site_spec(box, tls_cert="/nonexistent/fullchain.pem"))
    assert str(refused.value).startswith('nginx -t refused the new site: cannot load certificate "/nonexistent/fullchain.pem"')
    assert str(refused.value).endswith("; the previous site is back")
    assert (box.sites / "thebot.conf").read_bytes() == before
    assert (box.root / "state" / "thebot.conf.previous").read_bytes() == before
    assert get(box, "/api/x").status_code == 200


def test_a_site_nginx_does_not_include_is_taken_back(box):
    elsewhere = box.prefix / "sites-available"
    elsewhere.mkdir()
    with pytest.raises(edge.EdgeError) as refused:
        nginx.install(Local(), box.command.split(), str(elsewhere / "thebot.conf"), edge.render(site_spec(box)),
                      str(box.root / "state"))
    assert str(refused.value) == (f"nginx's configuration does not include {elsewhere}/thebot.conf (its include lines "
                                  "decide where sites go); the new file is removed")
    assert not (elsewhere / "thebot.conf").exists()


def test_a_run_killed_before_the_reload_is_finished_by_the_next(box):
    text = edge.render(site_spec(box))
    (box.sites / "thebot.conf").write_text(text)  # renamed into place, then the run died: never tested, never reloaded
    workers = box.workers()
    assert install(box, site_spec(box)).endswith("reloaded (new workers; open connections finish on the old ones)")
    assert box.workers() - workers  # new workers: the master took the configuration
    assert get(box, "/api/x").status_code == 200
    assert install(box, site_spec(box)) == f"{box.sites}/thebot.conf unchanged"


def test_nginx_not_running_is_one_line(box):
    box.stop()
    with pytest.raises(edge.EdgeError) as refused:
        install(box, site_spec(box))
    assert str(refused.value).startswith("nginx -s reload failed (is nginx running?): ")
    assert "nginx.pid" in str(refused.value)


def test_over_ssh_the_same_install(box, ssh_host, tmp_path):
    from remediation.ssh import Ssh

    known, ssh_config = tmp_path / "known_hosts", tmp_path / "ssh_config"
    known.write_text(ssh_host.known_hosts_line + "\n")
    ssh_config.write_text("")
    with Ssh(ssh_host.name, ssh_host.address, port=ssh_host.port, key_file=str(ssh_host.client_key),
             known_hosts=str(known), ssh_config=str(ssh_config)) as ssh:
        first = install(box, site_spec(box), ssh)
        broken = site_spec(box, tls_key=str(box.tls["other_key"]))
        with pytest.raises(edge.EdgeError) as refused:
            install(box, broken, ssh)
        again = install(box, site_spec(box), ssh)
    assert first.endswith("reloaded (new workers; open connections finish on the old ones)")
    assert str(refused.value).startswith("nginx -t refused the new site: SSL_CTX_use_PrivateKey(")
    assert str(refused.value).endswith("key values mismatch); the previous site is back")
    assert again == f"{box.sites}/thebot.conf unchanged"
    assert get(box, "/api/x").status_code == 200


# --- certbot: what is tested here, and what is not -------------------------------------------------------
# Not tested (Let's Encrypt cannot be reached from here): certbot obtaining a certificate, its renewal
# configuration keeping the deploy hook, a systemd timer listing on a host that boots with systemd.


def test_the_certbot_command_line():
    assert certbot.command(["certbot"], "/srv/thebot/shared/acme", ["thebot.example.com", "www.thebot.example.com"],
                           "ops@example.com", ["nginx"]) == [
        "certbot", "certonly", "--webroot", "-w", "/srv/thebot/shared/acme", "--cert-name", "thebot.example.com",
        "-d", "thebot.example.com", "-d", "www.thebot.example.com", "--non-interactive", "--agree-tos",
        "-m", "ops@example.com", "--deploy-hook", "nginx -s reload"]
    assert certbot.live_paths("thebot.example.com") == ("/etc/letsencrypt/live/thebot.example.com/fullchain.pem",
                                                         "/etc/letsencrypt/live/thebot.example.com/privkey.pem")


def test_certbot_needs_an_email_for_a_first_certificate():
    with pytest.raises(edge.EdgeError) as refused:
        certbot.plan(["thebot.example.com"], cert_exists=False, email=None)
    assert str(refused.value) == ("certbot: no certificate for thebot.example.com yet and no letsencrypt_email host var: "
                                  "set it (Let's Encrypt's account email) and run again")
    assert certbot.plan(["thebot.example.com"], cert_exists=True, email=None) == "use"
    assert certbot.plan(["thebot.example.com"], cert_exists=False, email="ops@example.com") == "obtain"
    with pytest.raises(edge.EdgeError):
        certbot.plan(edge.certbot_domains(["*.example.com", "203.0.113.7"]), cert_exists=False, email="ops@example.com")


def test_the_renewal_check_on_this_host(tmp_path):
    """This machine's real systemctl (no systemd running: it cannot list timers) and a cron file."""
    cron = tmp_path / "certbot"
    with pytest.raises(edge.EdgeError) as refused:
        certbot.renewal(Local(), cron=str(cron))
    assert str(refused.value).startswith("certbot's renewal is not scheduled: no certbot.timer (systemctl: ")
    assert f"and no {cron};" in str(refused.value)
    cron.write_text("0 */12 * * * root certbot -q renew\n")
    assert certbot.renewal(Local(), cron=str(cron)) == f"renewal: {cron}"
