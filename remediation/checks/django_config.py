"""Seed section 7: whether Django starts, its own system checks, static and media, CORS."""

from .base import CRITICAL, DJANGO, HIGH, INFO, LOW, MANUAL, MEDIUM, app_installed, applies_when, django_ready, finding_for, installed_app, shown_path
from .mapping import MAPPED_DJANGO_IDS

finding = finding_for("django")
LEVELS = {"CRITICAL": CRITICAL, "ERROR": HIGH, "WARNING": MEDIUM, "INFO": INFO, "DEBUG": INFO}
LOCAL_ORIGIN_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def origin_host(origin: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(origin).hostname or ""
    except ValueError:
        return ""


def settings_error(facts):
    error = facts.probe_error
    if not error or error.get("kind") or error.get("stage") not in ("settings", "setup", "probe"):
        return []
    return [finding(id="django.settings_error", severity=CRITICAL, title="Django cannot start",
                    detail=f"{error['type']}: {error['message']} ({error['stage']}, at {error['where']})",
                    fix=MANUAL, applies_from="development")]


PROBE_STAGES = {
    "start": "before Django was imported",
    "settings": "while importing the settings",
    "setup": "while loading the apps (django.setup)",
    "read_settings": "while reading the settings",
    "database": "while connecting to the database",
    "checks": "while running Django's system checks",
    "migrations": "while loading the migrations",
    "static": "while looking for static files",
    "redis": "while pinging Redis",
    "urls": "while importing the URLconf",
}


def probe_interrupted(facts):
    error = facts.probe_error
    if not error or error.get("kind") not in ("timeout", "killed"):
        return []
    stage = PROBE_STAGES.get(error.get("stage"), f"in stage {error.get('stage')}")
    where = f"; last seen at {error['where']}" if error.get("where") else ""
    if error["kind"] == "timeout":
        limit = facts.probe.get("probe_timeout")
        title = f"Django did not answer within {limit:g}s" if isinstance(limit, (int, float)) else "Django did not answer in time"
        return [finding(id="django.settings_timeout", severity=CRITICAL, title=title,
                        detail=f"{error['message']} ({stage}{where}); raise the limit with --probe-timeout "
                               "or the `probe_timeout` host var if the project is only slow",
                        fix=MANUAL, applies_from="development")]
    return [finding(id="django.probe_killed", severity=CRITICAL, title="The probe was killed before it could report",
                    detail=f"{error['message']} ({stage})", fix=MANUAL, applies_from="development")]



@applies_when((lambda facts: bool(facts.checks), "Django's system checks did not run"))
def check_framework_failed(facts):
    error = facts.checks.get("error")
    if not error:
        return []
    return [finding(id="django.checks_failed", severity=HIGH, title="Django's system checks crashed",
                    detail=f"{error['type']}: {error['message']} at {error['where']}",
                    fix=MANUAL, applies_from="development")]


@applies_when((lambda facts: bool(facts.checks), "Django's system checks did not run"))
def django_messages(facts):
    """Every message of Django's check framework that no dedicated check covers, under its own id."""
    found = []
    for message in facts.checks.get("messages", []):
        message_id = message["id"]
        if message_id in MAPPED_DJANGO_IDS or message_id.startswith("drf_spectacular."):
            continue
        severity = LEVELS.get(message["level_name"], MEDIUM)
        deploy_only = message_id.startswith("security.")
        where = f" ({message['obj']})" if message.get("obj") else ""
        found.append(finding(id=message_id, severity=severity, title=f"Django check {message_id}",
                             detail=f"{message['msg']}{where}".replace("\n", " "), fix=MANUAL,
                             applies_from="production" if deploy_only else "development",
                             django_ids=(message_id,)))
    return found


@applies_when(DJANGO)
def static_root(facts):
    static = facts.probe.get("static") or {}
    if not django_ready(facts) or not static.get("enabled") or static.get("static_root"):
        return []
    return [finding(id="django.static_root", severity=HIGH, title="STATIC_ROOT is not set",
                    detail="collectstatic has nowhere to put files", fix=MANUAL)]


@applies_when((lambda facts: bool(facts.probe.get("static")), "static files were not looked at"))
def static_not_collected(facts):
    static = facts.probe.get("static") or {}
    if not static.get("static_root") or not static.get("missing"):
        return []
    where = "does not exist" if not static.get("exists") else f"lacks {static['missing']} of {static['source_files']} files"
    return [finding(id="django.static_not_collected", severity=MEDIUM, title="Static files not collected",
                    detail=f"STATIC_ROOT {shown_path(facts, static['static_root'])} {where}", fix="collectstatic")]


@applies_when(DJANGO)
def media_storage(facts):
    if not django_ready(facts) or not facts.settings.get("MEDIA_ROOT"):
        return []
    backend = (facts.settings.get("STORAGES") or {}).get("default") or "django.core.files.storage.FileSystemStorage"
    if "FileSystemStorage" not in backend:
        return []
    return [finding(id="django.media_local", severity=MEDIUM, title="Media files on the local disk",
                    detail=f"uploads go to MEDIA_ROOT {shown_path(facts, facts.settings['MEDIA_ROOT'])} through {backend.rsplit('.', 1)[-1]}; "
                           "they need a persistent volume or object storage and a backup",
                    fix=MANUAL)]


@applies_when(DJANGO, app_installed("corsheaders"))
def cors(facts):
    if not django_ready(facts) or not installed_app(facts, "corsheaders"):
        return []
    settings = facts.settings
    if settings.get("CORS_ALLOW_ALL_ORIGINS") or settings.get("CORS_ORIGIN_ALLOW_ALL"):
        return [finding(id="django.cors_allow_all", severity=CRITICAL, title="CORS allows every origin",
                        detail="CORS_ALLOW_ALL_ORIGINS is True", fix="env_file", needs=("--domain",))]
    origins = settings.get("CORS_ALLOWED_ORIGINS") or []
    public = [o for o in origins if origin_host(o) not in LOCAL_ORIGIN_HOSTS]
    if public:
        return []
    detail = f"only local origins: {', '.join(origins)}" if origins else "CORS_ALLOWED_ORIGINS is empty"
    return [finding(id="django.cors_local", severity=HIGH, title="CORS allows no production origin",
                    detail=detail, fix="env_file", needs=("--domain",))]


@applies_when(DJANGO)
def debug_toolbar(facts):
    if not django_ready(facts) or not installed_app(facts, "debug_toolbar"):
        return []
    return [finding(id="django.debug_toolbar", severity=LOW, title="django-debug-toolbar installed",
                    detail="debug_toolbar is in INSTALLED_APPS", fix=MANUAL)]


CHECKS = (settings_error, probe_interrupted, check_framework_failed, django_messages, static_root, static_not_collected, media_storage, cors, debug_toolbar)
