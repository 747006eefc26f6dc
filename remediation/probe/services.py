"""Static files, every Redis the settings name, and the URL configuration."""

from __future__ import annotations

import os
import socket
from urllib.parse import unquote, urlsplit, urlunsplit

from ..masking import mask_url, url_password
from .common import error_info


def static_facts(probe, settings) -> dict:
    if "django.contrib.staticfiles" not in settings.INSTALLED_APPS:
        return {"enabled": False}
    root = getattr(settings, "STATIC_ROOT", None)
    info = {"enabled": True, "static_root": str(root) if root else None, "exists": False}
    try:
        from django.contrib.staticfiles import finders

        sources = set()
        for finder in finders.get_finders():
            for path, storage in finder.list(["CVS", ".*", "*~"]):
                prefix = getattr(storage, "prefix", None)
                sources.add(os.path.join(prefix, path) if prefix else path)
    except Exception as exc:
        info["error"] = error_info(exc, probe.root)
        return info
    info["source_files"] = len(sources)
    if root and os.path.isdir(root):
        info["exists"] = True
        info["missing"] = sum(1 for p in sources if not os.path.exists(os.path.join(root, p)))
    else:
        info["missing"] = len(sources)
    return info


def redis_facts(probe, settings) -> list:
    """Every Redis the configuration names, and whether it answers PING with its credentials."""
    named: dict = {}

    def add(label, url):
        if isinstance(url, str) and url.startswith(("redis://", "rediss://", "unix://")):
            named.setdefault(url, []).append(label)

    add("REDIS_URL", getattr(settings, "REDIS_URL", None) or os.environ.get("REDIS_URL"))
    add("CELERY_BROKER_URL", getattr(settings, "CELERY_BROKER_URL", None))
    add("CELERY_RESULT_BACKEND", getattr(settings, "CELERY_RESULT_BACKEND", None))
    for alias, cache in (getattr(settings, "CACHES", None) or {}).items():
        if "redis" in (cache.get("BACKEND") or "").lower():
            locations = cache.get("LOCATION")
            for url in locations if isinstance(locations, (list, tuple)) else [locations]:
                add(f"CACHES[{alias}]", url)
    for alias, layer in (getattr(settings, "CHANNEL_LAYERS", None) or {}).items():
        for host in (layer.get("CONFIG") or {}).get("hosts") or []:
            add(f"CHANNEL_LAYERS[{alias}]", host if isinstance(host, str) else None)
    # One PING per server (scheme, credentials, host, port), whatever database number each use picks.
    servers: dict = {}
    for url, labels in named.items():
        parts = urlsplit(url)
        server = urlunsplit((parts.scheme, parts.netloc, parts.path if parts.scheme == "unix" else "", "", ""))
        servers.setdefault(server, []).extend(labels)
    results = []
    for server, labels in servers.items():
        probe.secrets |= {url_password(server) or ""}
        ok, error = redis_ping(server, float(probe.config.get("timeout", 3)))
        results.append({"url": mask_url(server), "used_by": labels, "reachable": ok, "error": error})
    return results


def url_facts(probe) -> dict:
    try:
        from django.urls import URLResolver, get_resolver

        resolver = get_resolver()
        modules, views = [], set()
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                name = pattern.urlconf_name
                modules.append(name if isinstance(name, str) else getattr(name, "__name__", "<list>"))
            else:
                callback = getattr(pattern, "callback", None)
                view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
                if view_class is not None:
                    views.add(f"{view_class.__module__}.{view_class.__name__}")
        return {"patterns": len(resolver.url_patterns), "modules": modules, "views": sorted(views), "error": None}
    except Exception as exc:
        return {"patterns": 0, "modules": [], "views": [], "error": error_info(exc, probe.root)}


def redis_ping(url: str, timeout: float) -> tuple[bool, str | None]:
    """AUTH (when the URL has credentials) and PING over a raw socket: no redis-py needed."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(parts.path)
        else:
            sock = socket.create_connection((parts.hostname or "localhost", parts.port or 6379), timeout=timeout)
            if parts.scheme == "rediss":
                import ssl

                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
        with sock:
            commands = []
            if parts.password:
                auth = ["AUTH", unquote(parts.username), unquote(parts.password)] if parts.username else ["AUTH", unquote(parts.password)]
                commands.append(auth)
            commands.append(["PING"])
            for command in commands:
                payload = f"*{len(command)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in command)
                sock.sendall(payload.encode())
                reply = sock.recv(512).decode(errors="replace").strip()
                if reply.startswith("-"):
                    return False, reply[1:].split("\r\n")[0][:200]
            return reply.startswith("+PONG"), None if reply.startswith("+PONG") else f"unexpected reply {reply[:40]!r}"
    except (OSError, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
