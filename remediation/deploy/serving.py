"""From what the audit learned about the release to the services that run it: the ``ServiceSpec``
(services.py renders and restarts from it), and whether the project has Celery at all."""

from __future__ import annotations

from ..changes import ChangeFailed
from . import services


def dotted_to_gunicorn(path: str) -> str:
    """``config.asgi.application`` -> ``config.asgi:application``."""
    module, _, name = path.rpartition(".")
    return f"{module}:{name}" if module else path


def settings_package(facts) -> str:
    module = (facts.probe or {}).get("settings_module") or "config.settings"
    return module.split(".")[0]


def celery_app(facts) -> str | None:
    """The Celery app module (``celery -A``): the settings package, when the settings configure Celery."""
    settings = facts.settings or {}
    return settings_package(facts) if any(settings.get(k) for k in ("CELERY_BROKER_URL",)) else None


def runs_worker(facts) -> bool:
    return celery_app(facts) is not None


def spec_for(config, facts, manage_rel: str, beat: bool):
    try:
        return _spec_for(config, facts, manage_rel, beat)
    except services.ServiceSpecError as exc:
        raise ChangeFailed(f"services: {exc}") from None


def _spec_for(config, facts, manage_rel: str, beat: bool):
    settings = facts.settings or {}
    asgi = bool(settings.get("ASGI_APPLICATION"))
    app_module = dotted_to_gunicorn(settings.get("ASGI_APPLICATION") if asgi else
                                    settings.get("WSGI_APPLICATION") or f"{settings_package(facts)}.wsgi.application")
    return services.ServiceSpec(
        app=config.app, deploy_to=config.deploy_to, user=config.app_user, group=config.app_user,
        manage_rel=manage_rel, asgi=asgi, app_module=app_module, bind=config.app_bind,
        celery_app=celery_app(facts), beat=beat and celery_app(facts) is not None,
        process_manager=config.process_manager, supervisorctl=config.supervisorctl,
        supervisor_conf_dir=config.supervisor_conf_dir, env_file=config.env_file)


def install_and_restart(transport, spec, release_dir: str) -> str:
    try:
        changed = services.install(transport, spec)
        results = services.restart(transport, spec, release_dir)
    except (services.ServiceError, services.ServiceSpecError) as exc:
        raise ChangeFailed(str(exc)) from None
    failed = [r for r in results if r.get("status") != "ok"]
    if failed:
        raise ChangeFailed("; ".join(f"{r['service']}: {r.get('detail') or r.get('status')}" for r in failed))
    installed = f"installed {', '.join(changed)}; " if changed else ""
    return installed + "restarted " + ", ".join(f"{r['service']} ({r.get('seconds', 0):.1f}s)" for r in results)
