"""The edge: the nginx site in front of the app server, from one ``EdgeSpec``.

The spec comes from the host's inventory vars and what the audit read from the release's
settings (ALLOWED_HOSTS, STATIC_URL/ROOT, MEDIA_URL/ROOT, HSTS, SECURE_PROXY_SSL_HEADER); the text
is rendered from templates/deploy/nginx/site.conf.j2 (jinja2). Every value that reaches the file is
checked against a plain-character pattern first: project text is data, never nginx syntax (an
ALLOWED_HOSTS entry like ``x; include /etc/shadow`` is refused in one line, not rendered).

The site never changes between releases: the front end is served through ``DEPLOY_TO/current``
and static and media files from ``shared/``. Installing it (nginx -t, reload, the previous config
restored) is nginx.py; certificates from Let's Encrypt are certbot.py.

Host vars (all optional but ``nginx_site``, which switches the edge on):
    nginx_site            the site file nginx includes, e.g. /etc/nginx/sites-enabled/<app>.conf
    nginx                 nginx's command line (default "nginx"; tests: "nginx -p PREFIX -c CONF")
    domains               server names (default: the production ALLOWED_HOSTS)
    http_port, https_port a port (both IPv4 and IPv6) or ADDRESS:PORT (default 80, 443)
    tls_cert, tls_key     the certificate chain and key (default: certbot's, when certbot is there)
    client_max_body_size  uploads (default 25m)
    acme_webroot          where certbot's challenges are served from (default DEPLOY_TO/shared/acme)
    letsencrypt_email     the Let's Encrypt account email certbot needs for a first certificate
    ws_paths              WebSocket prefixes (default /ws/ for a Channels project)
    proxy_paths           what goes to the app when a front end is served (default /api/ /admin/)
    frontend_root         the built front end inside a release (default: the first of frontend/dist,
                          dist, frontend/build, build holding an index.html)
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import shlex
from dataclasses import dataclass, field

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..changes import ChangeFailed
from .layout import Layout
from .. import resources

TEMPLATES = resources.TEMPLATES / "deploy"
PROXY_SSL_HEADER = ["HTTP_X_FORWARDED_PROTO", "https"]  # what nginx's X-Forwarded-Proto $scheme gives Django
HSTS_DEFAULT_SECONDS = 31536000
# Mozilla's "intermediate" configuration (ssl-config.mozilla.org, guideline 5.7): TLS 1.2 and 1.3,
# these TLS 1.2 suites, the client's preference. The DHE suites take effect only with ssl_dhparam,
# which this site does not set; ECDHE covers every client the guideline supports.
TLS_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
               "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
               "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305")
TLS_CURVES = "X25519:prime256v1:secp384r1"
FRONTEND_CANDIDATES = ("frontend/dist", "dist", "frontend/build", "build")
NOT_SERVED_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}

PATH = re.compile(r"^(?:/[A-Za-z0-9_@+,.=-]+)+$")
URL_PREFIX = re.compile(r"^/(?:[A-Za-z0-9_.~-]+/)*$")
NAME = re.compile(r"^(?:\*\.|\.)?(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                  r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
SIZE = re.compile(r"^[0-9]{1,6}[kKmMgG]?$")
BIND = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")
EMAIL = re.compile(r"^[^@\s;'\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


class EdgeError(ChangeFailed):
    """The edge cannot be built or installed; the message is one line."""


@dataclass
class EdgeSpec:
    app: str
    server_names: list[str]
    http_listen: list[str]
    https_listen: list[str]
    https_port: int
    app_bind: str
    acme_webroot: str
    tls_cert: str | None = None
    tls_key: str | None = None
    tls: bool = True  # False: the plain-HTTP site a first certbot challenge needs
    static_url: str | None = None
    static_dir: str | None = None
    media_url: str | None = None
    media_dir: str | None = None
    ws_paths: list[str] = field(default_factory=list)
    proxy_paths: list[str] = field(default_factory=lambda: ["/api/", "/admin/"])
    frontend_dir: str | None = None
    client_max_body_size: str = "25m"
    hsts: str = f"max-age={HSTS_DEFAULT_SECONDS}; includeSubDomains"
    x_frame_options: str = "DENY"

    def __post_init__(self):
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", self.app or ""):
            raise EdgeError(f"app {self.app!r} is not a plain name")
        if not self.server_names:
            raise EdgeError("no server name: set the host var domains (or ALLOWED_HOSTS in the production env)")
        for name in self.server_names:
            if not NAME.match(name) and not _is_ip(name):
                raise EdgeError(f"server name {name!r} is not a host name nginx can match: set the host var domains")
        if not BIND.match(self.app_bind):
            raise EdgeError(f"app_bind {self.app_bind!r}: HOST:PORT is required for nginx's upstream")
        for label, value in (("tls_cert", self.tls_cert), ("tls_key", self.tls_key), ("acme_webroot", self.acme_webroot),
                             ("static folder", self.static_dir), ("media folder", self.media_dir),
                             ("front end folder", self.frontend_dir)):
            if value is not None and (not PATH.match(value) or "/../" in value + "/"):
                raise EdgeError(f"{label} {value!r}: an absolute path of plain characters (letters, digits, _@+,.=-)")
        if self.tls and not (self.tls_cert and self.tls_key):
            raise EdgeError("no TLS certificate: set the host vars tls_cert and tls_key, or install certbot")
        for label, value in (("STATIC_URL", self.static_url), ("MEDIA_URL", self.media_url)):
            if value is not None and not URL_PREFIX.match(value):
                raise EdgeError(f"{label} {value!r}: a path like /static/ is needed for nginx to serve it")
        for value in [*self.ws_paths, *self.proxy_paths]:
            if not URL_PREFIX.match(value):
                raise EdgeError(f"location {value!r}: a path like /ws/ (slash first and last, plain characters)")
        if not SIZE.match(str(self.client_max_body_size)):
            raise EdgeError(f"client_max_body_size {self.client_max_body_size!r}: a size like 25m")
        if self.x_frame_options not in ("DENY", "SAMEORIGIN"):
            self.x_frame_options = "DENY"

    @property
    def ident(self) -> str:
        """The app's name as an nginx identifier (upstream, map variables, TLS session cache)."""
        return "remediation_" + re.sub(r"[^A-Za-z0-9_]", "_", self.app)

    @property
    def redirect_port(self) -> str:
        return "" if self.https_port == 443 else f":{self.https_port}"

    @property
    def certbot_domains(self) -> list[str]:
        return certbot_domains(self.server_names)


def certbot_domains(names: list[str]) -> list[str]:
    """The names certbot's webroot mode can prove: no wildcard, no IP address."""
    return [n for n in names if not n.startswith(("*", ".")) and not _is_ip(n)]


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def render(spec: EdgeSpec) -> str:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
    static_re = re.escape(spec.static_url) if spec.static_url else ""
    return environment.get_template("nginx/site.conf.j2").render(
        s=spec, ciphers=TLS_CIPHERS, curves=TLS_CURVES, static_re=static_re)


# --- from host vars and settings to the spec -------------------------------------------------------


def enabled(host_vars: dict) -> bool:
    return bool(host_vars.get("nginx_site"))


def site_path(host_vars: dict) -> str:
    path = str(host_vars.get("nginx_site") or "")
    if not PATH.match(path) or "/../" in path + "/":
        raise EdgeError(f"nginx_site {path!r}: the absolute path of the site file nginx includes")
    return posixpath.normpath(path)


def nginx_argv(host_vars: dict) -> list[str]:
    value = host_vars.get("nginx") or "nginx"
    argv = [str(v) for v in value] if isinstance(value, (list, tuple)) else shlex.split(str(value))
    if not argv:
        raise EdgeError("nginx: a command line is required (default nginx)")
    return argv


def words(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [w for w in re.split(r"[\s,]+", str(value)) if w]


def listen(value, default: int) -> tuple[list[str], int]:
    """A port (IPv4 and IPv6) or ADDRESS:PORT -> nginx listen arguments and the port."""
    text = str(value if value is not None else default).strip()
    address, _, port_text = text.rpartition(":") if ":" in text else ("", "", text)
    try:
        port = int(port_text)
    except ValueError:
        port = 0
    if not 0 < port < 65536 or (address and not (_is_ip(address) or NAME.match(address))):
        raise EdgeError(f"listen {text!r}: a port or ADDRESS:PORT")
    return ([f"{address}:{port}"] if address else [str(port), f"[::]:{port}"]), port


def server_names(host_vars: dict, settings: dict) -> list[str]:
    names = words(host_vars.get("domains"))
    if not names:
        allowed = settings.get("ALLOWED_HOSTS") or []
        if "*" in allowed:
            raise EdgeError("ALLOWED_HOSTS is '*': set the host var domains to the names nginx serves")
        names = [n for n in allowed if n not in NOT_SERVED_NAMES]
    return list(dict.fromkeys(names))


def hsts_value(settings: dict) -> str:
    """The one Strict-Transport-Security header, as the settings would have Django send it
    (nginx sends it for every HTTPS response and hides Django's: one header, never two);
    a year with subdomains when the settings do not set it."""
    try:
        seconds = int(settings.get("SECURE_HSTS_SECONDS") or 0)
    except (TypeError, ValueError):
        seconds = 0
    if seconds <= 0:
        return f"max-age={HSTS_DEFAULT_SECONDS}; includeSubDomains"
    value = f"max-age={seconds}"
    if settings.get("SECURE_HSTS_INCLUDE_SUBDOMAINS"):
        value += "; includeSubDomains"
    if settings.get("SECURE_HSTS_PRELOAD"):
        value += "; preload"
    return value


def check_proxy_header(settings: dict) -> str:
    """nginx sends ``X-Forwarded-Proto: $scheme``; Django must read exactly that header as HTTPS,
    else it sees every request as plain HTTP (SECURE_SSL_REDIRECT loops, no HSTS, no Secure)."""
    if not settings:
        raise EdgeError("SECURE_PROXY_SSL_HEADER: unknown (the settings could not be read); refusing to guess")
    found = settings.get("SECURE_PROXY_SSL_HEADER")
    if found is None:
        raise EdgeError("SECURE_PROXY_SSL_HEADER is not set: behind nginx Django would see every request as HTTP; "
                        "set it to ('HTTP_X_FORWARDED_PROTO', 'https')")
    if list(found) != PROXY_SSL_HEADER:
        raise EdgeError(f"SECURE_PROXY_SSL_HEADER is {tuple(found)!r} but nginx sends X-Forwarded-Proto "
                        "($scheme): set it to ('HTTP_X_FORWARDED_PROTO', 'https')")
    return "SECURE_PROXY_SSL_HEADER matches nginx's X-Forwarded-Proto"


def _served(url: str | None, root: str | None, layout: Layout, shared: str) -> tuple[str | None, str | None]:
    """(URL prefix, folder) nginx serves; a root inside a release is served from shared/ (static.py
    links it there), an absolute URL (a CDN) is not served here."""
    if not url or not root or "://" in url or url.startswith("//"):
        return None, None
    url = url if url.startswith("/") else "/" + url
    url = url if url.endswith("/") else url + "/"
    inside = root.startswith(layout.releases.rstrip("/") + "/")
    return url, shared if inside else root.rstrip("/")


def uses_channels(settings: dict) -> bool:
    components = settings.get("COMPONENTS") or {}
    return bool((components.get("channels") or {}).get("used")) or bool(settings.get("ASGI_APPLICATION"))


def spec_for(config, host_vars: dict, settings: dict, *, frontend_dir: str | None, tls_cert: str | None,
             tls_key: str | None, tls: bool = True) -> EdgeSpec:
    """``config``: the host's HostConfig (app, app_bind, deploy_to); certificate paths are decided by
    the caller (host vars, or certbot's live folder)."""
    layout = config.layout
    http_listen, _ = listen(host_vars.get("http_port"), 80)
    https_listen, https_port = listen(host_vars.get("https_port"), 443)
    static_url, static_dir = _served(settings.get("STATIC_URL"), settings.get("STATIC_ROOT"), layout, layout.static)
    media_url, media_dir = _served(settings.get("MEDIA_URL"), settings.get("MEDIA_ROOT"), layout, layout.media)
    ws = words(host_vars.get("ws_paths")) or (["/ws/"] if uses_channels(settings) else [])
    proxy = words(host_vars.get("proxy_paths")) or ["/api/", "/admin/"]
    return EdgeSpec(
        app=config.app, server_names=server_names(host_vars, settings), http_listen=http_listen,
        https_listen=https_listen, https_port=https_port, app_bind=config.app_bind,
        acme_webroot=str(host_vars.get("acme_webroot") or posixpath.join(layout.shared, "acme")),
        tls_cert=tls_cert, tls_key=tls_key, tls=tls, static_url=static_url, static_dir=static_dir,
        media_url=media_url, media_dir=media_dir, ws_paths=ws, proxy_paths=proxy, frontend_dir=frontend_dir,
        client_max_body_size=str(host_vars.get("client_max_body_size") or "25m"), hsts=hsts_value(settings),
        x_frame_options=str(settings.get("X_FRAME_OPTIONS") or "DENY").upper())


def find_frontend(transport, release_dir: str, host_vars: dict) -> str | None:
    """The built front end inside the release (relative), or None: the host var ``frontend_root``,
    else the first usual place holding an index.html (found on the host, the same way by a deploy
    and by --setup, so the site does not change between them)."""
    configured = host_vars.get("frontend_root")
    if configured:
        relative = str(configured).strip("/")
        if not relative or ".." in relative.split("/") or not PATH.match("/" + relative):
            raise EdgeError(f"frontend_root {configured!r}: a folder inside the release, like frontend/dist")
        return relative
    for relative in FRONTEND_CANDIDATES:
        if transport.lstat(posixpath.join(release_dir, relative, "index.html")) is not None:
            return relative
    return None
