"""Seed section 3: the env file and the values production needs, including external services.

The variables the settings really read (recorded by the probe, ``Facts.env_reads``) decide the
external services and the public URLs checked here, not a list of THE_BOT's names.
"""

import re

from ..probe.settings_facts import INSECURE_PREFIX
from .base import CRITICAL, DJANGO, HIGH, MANUAL, MEDIUM, applies_when, django_ready, finding_for, reported
from .integrations import OTHER, is_local_public_url, missing_inputs

finding = finding_for("env")
DATABASE_VARIABLE = re.compile(r"^(DJANGO_)?(DATABASE_URL$|DB_|DATABASE_|POSTGRES_|MYSQL_)")
ENVIRONMENT_VARIABLES = ("ENVIRONMENT", "APP_ENV", "APP_ENVIRONMENT", "DJANGO_ENV", "DJANGO_ENVIRONMENT", "ENV")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", "backend", "web", "app"}


def env_file_missing(facts):
    if facts.env.exists:
        return []
    return [finding(id="env.missing", severity=MEDIUM, title="No env file",
                    detail=f"no .env at {facts.root} or {facts.manage_dir}; configuration comes from the process environment only",
                    fix="env_file", applies_from="staging")]


@applies_when((lambda facts: facts.env.exists, "no env file"))
def env_file_malformed(facts):
    if not facts.env.errors:
        return []
    return [finding(id="env.malformed", severity=HIGH, title="Env file has lines that cannot be parsed",
                    detail="; ".join(facts.env.errors), fix=MANUAL, applies_from="development")]


@applies_when(DJANGO)
def debug_on(facts):
    if not django_ready(facts) or not facts.settings.get("DEBUG"):
        return []
    return [finding(id="env.debug", severity=CRITICAL, title="DEBUG is True",
                    detail="DEBUG=True shows tracebacks and settings to anyone; must be False in production",
                    fix="env_file", django_ids=reported(facts, "security.W018"))]


@applies_when(DJANGO)
def secret_key(facts):
    if not django_ready(facts):
        return []
    key = facts.settings.get("SECRET_KEY") or {}
    problems = []
    if not key.get("set"):
        problems.append("not set")
    else:
        if key.get("insecure_prefix"):
            problems.append(f"starts with {INSECURE_PREFIX!r}")
        if key.get("length", 0) < 50:
            problems.append(f"{key.get('length')} characters (50 or more needed)")
        if key.get("unique", 0) < 5:
            problems.append(f"{key.get('unique')} unique characters (5 or more needed)")
    if not problems:
        return []
    return [finding(id="env.secret_key", severity=CRITICAL, title="SECRET_KEY is insecure",
                    detail="SECRET_KEY " + ", ".join(problems), fix="secret_key",
                    django_ids=reported(facts, "security.W009"))]


@applies_when(DJANGO)
def allowed_hosts(facts):
    if not django_ready(facts):
        return []
    hosts = facts.settings.get("ALLOWED_HOSTS") or []
    if "*" in hosts:
        return [finding(id="env.allowed_hosts", severity=HIGH, title="ALLOWED_HOSTS accepts any host",
                        detail="ALLOWED_HOSTS contains '*'; host header attacks are possible",
                        fix="env_file", needs=("--domain",))]
    public = [h for h in hosts if h.lstrip(".") not in LOCAL_HOSTS]
    if public:
        return []
    detail = f"only local hosts: {', '.join(hosts)}" if hosts else "ALLOWED_HOSTS is empty"
    return [finding(id="env.allowed_hosts", severity=HIGH, title="ALLOWED_HOSTS has no public domain",
                    detail=detail, fix="env_file", needs=("--domain",),
                    django_ids=reported(facts, "security.W020"))]


@applies_when(DJANGO)
def environment_name(facts):
    """ENVIRONMENT (the setting), or the variable the settings read to name their environment (APP_ENV, ...)."""
    if not django_ready(facts):
        return []
    name, value = "ENVIRONMENT", facts.settings.get("ENVIRONMENT") or facts.env.get("ENVIRONMENT") or None
    if value is None:
        for variable, read in (facts.env_reads or {}).items():
            if variable in ENVIRONMENT_VARIABLES:
                name, value = variable, facts.env.get(variable) if read.get("set") else read.get("default")
                break
    if not value or str(value).lower() in ("production", "prod"):
        return []
    return [finding(id="env.environment", severity=MEDIUM, title=f"{name} is not production",
                    detail=f"{name}={value}", fix="env_file")]


@applies_when(DJANGO)
def database_url(facts):
    """SQLite because the database variables the settings read (DATABASE_URL or a DB_* family) are unset."""
    if not django_ready(facts) or facts.database.get("vendor") != "sqlite" or facts.env.get("DATABASE_URL"):
        return []
    reads = facts.env_reads or {}
    family = [name for name in reads if DATABASE_VARIABLE.match(name)]
    if "DATABASE_URL" in family or not family:
        detail = "DATABASE_URL unset, so the settings fall back to SQLite"
    else:
        unset = [name for name in family if not reads[name].get("set")]
        if not unset:
            return []  # the settings were told to use SQLite: database.sqlite says what that means
        detail = f"{', '.join(unset)} unset, so the settings fall back to SQLite"
    return [finding(id="env.database_url", severity=MEDIUM, title="Database variables are not set",
                    detail=detail, fix="database", needs=("--database-url",), applies_from="staging")]


@applies_when(DJANGO, (lambda facts: facts.env_reads is not None, "the settings' environment reads were not recorded"))
def external_services(facts):
    """One finding per service the settings read credentials of that are not set (external.<service>)."""
    reads = facts.env_reads
    if not django_ready(facts) or reads is None:
        return []
    found = []
    for service, keys in sorted(missing_inputs(reads).items(), key=lambda item: item[0] is OTHER):
        places = sorted({reads[k]["where"] for k in keys if reads[k].get("where")})
        title = f"{service.title} not configured" if service is not OTHER else "Credentials the settings read are not set"
        found.append(finding(id=f"external.{service.key}", severity=HIGH, title=title,
                             detail="missing: " + ", ".join(keys) + (f" (read at {', '.join(places)})" if places else ""),
                             fix="external", needs=tuple(keys)))
    return found


def local_public_urls(facts) -> list[tuple[str, str, dict]]:
    """(name, value, read) of each site or public base URL the settings read that is still local."""
    found = []
    for name, read in (facts.env_reads or {}).items():
        value = facts.env.values.get(name) if read.get("set") else read.get("default")
        if is_local_public_url(name, value):
            found.append((name, value, read))
    return found


@applies_when(DJANGO)
def local_public_url(facts):
    """A site or public base URL the settings read, still http://localhost... (set, or by default)."""
    if not django_ready(facts):
        return []
    local = [f"{name}={value}" + ("" if read.get("set") else f" (the default at {read.get('where')})")
             for name, value, read in local_public_urls(facts)]
    if not local:
        return []
    return [finding(id="env.local_url", severity=HIGH, title="Public URL points at this machine",
                    detail="; ".join(local) + ": links, redirects and e-mails would send users to localhost",
                    fix="env_file", needs=("--domain",))]


CHECKS = (env_file_missing, env_file_malformed, debug_on, secret_key, allowed_hosts, environment_name, database_url, external_services,
          local_public_url)
