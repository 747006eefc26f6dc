"""Seed section 11: the channel layer and the ASGI server behind WebSockets."""

from .base import DJANGO, HIGH, LOW, MANUAL, app_installed, applies_when, component_used, django_ready, finding_for, installed_app, uses

finding = finding_for("channels")
ASGI_SERVERS = ("daphne", "uvicorn", "hypercorn")


def _channels(facts):
    return django_ready(facts) and installed_app(facts, "channels") and component_used(facts, "channels", True)


@applies_when(DJANGO, app_installed("channels"), uses("channels"))
def channel_layer(facts):
    if not _channels(facts):
        return []
    layers = facts.settings.get("CHANNEL_LAYERS") or {}
    backend = (layers.get("default") or {}).get("BACKEND") or ""
    if backend and "InMemory" not in backend:
        return []
    detail = f"default layer is {backend.rsplit('.', 1)[-1]}" if backend else "CHANNEL_LAYERS is not set"
    return [finding(id="channels.in_memory", severity=HIGH, title="Channel layer is per process",
                    detail=f"{detail}; messages never reach consumers in other workers (use channels_redis)",
                    fix="redis", applies_from="staging")]


@applies_when(DJANGO, app_installed("channels"), uses("channels"))
def asgi_application(facts):
    if not _channels(facts) or facts.settings.get("ASGI_APPLICATION"):
        return []
    return [finding(id="channels.no_asgi_application", severity=HIGH, title="ASGI_APPLICATION not set",
                    detail="channels is installed but ASGI_APPLICATION is unset", fix=MANUAL, applies_from="development")]


@applies_when(DJANGO, app_installed("channels"), uses("channels"))
def asgi_server(facts):
    if not _channels(facts):
        return []
    installed = facts.probe.get("packages") or {}
    servers = [name for name in ASGI_SERVERS if installed.get(name)]
    if not servers:
        return [finding(id="channels.no_asgi_server", severity=HIGH, title="No ASGI server installed",
                        detail="none of daphne, uvicorn, hypercorn is installed; WebSockets cannot be served",
                        fix=MANUAL, applies_from="staging")]
    if "daphne" in servers and not installed_app(facts, "daphne"):
        return [finding(id="channels.daphne_disabled", severity=LOW, title="Daphne installed but disabled",
                        detail=f"daphne {installed['daphne']} is installed but not in INSTALLED_APPS; runserver "
                               "will not serve WebSockets", fix=MANUAL, applies_from="development")]
    return []


CHECKS = (channel_layer, asgi_application, asgi_server)
