"""The external services a project uses, found in the environment variables its settings read.

The probe records every variable the settings read (``Facts.env_reads``). A service is used when
the settings read a variable of its family (``STRIPE_*``, ``SENTRY_*``, ``AWS_*``, ...); known
services get their proper names, a family the catalog does not know is grouped as "other". What a
person must supply for production is every secret-named variable the settings read that is not
set, plus the few non-secret keys a known service cannot work without (a YooKassa shop id, an SMTP
host). Variables of the project's own infrastructure (SECRET_KEY, the database, Redis, Celery) are
left to their own checks and fixes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..masking import is_secret_name


@dataclass(frozen=True)
class Service:
    key: str  # the finding is external.<key>
    title: str
    prefixes: tuple[str, ...]
    required: tuple[str, ...] = ()  # non-secret keys the service needs when the settings read them


SERVICES = (
    Service("telegram", "Telegram bot", ("TELEGRAM_",)),
    Service("openrouter", "OpenRouter", ("OPENROUTER_",)),
    Service("yookassa", "YooKassa payments", ("YOOKASSA_",), required=("YOOKASSA_SHOP_ID",)),
    Service("email", "SMTP email", ("EMAIL_",), required=("EMAIL_HOST", "EMAIL_HOST_USER")),
    Service("stripe", "Stripe payments", ("STRIPE_", "DJSTRIPE_")),
    Service("sentry", "Sentry error reporting", ("SENTRY_",)),
    Service("aws", "AWS / S3", ("AWS_", "S3_")),
    Service("openai", "OpenAI", ("OPENAI_",)),
    Service("anthropic", "Anthropic", ("ANTHROPIC_",)),
    Service("google", "Google", ("GOOGLE_", "GCP_", "GS_")),
    Service("twilio", "Twilio", ("TWILIO_",)),
    Service("sendgrid", "SendGrid", ("SENDGRID_",)),
    Service("mailgun", "Mailgun", ("MAILGUN_",)),
    Service("slack", "Slack", ("SLACK_",)),
    Service("github", "GitHub", ("GITHUB_",)),
    Service("paypal", "PayPal", ("PAYPAL_",)),
    Service("cloudinary", "Cloudinary", ("CLOUDINARY_",)),
    Service("recaptcha", "reCAPTCHA", ("RECAPTCHA_",)),
    Service("social_auth", "social login", ("SOCIAL_AUTH_",)),
)
OTHER = Service("other", "other credentials", ())

# The project's own infrastructure: SECRET_KEY (secret_key fix), the database (database fix),
# Redis and Celery (redis fix), Django's own names.
INTERNAL = re.compile(
    r"^(DJANGO_)?(SECRET_KEY|DEBUG|ALLOWED_HOSTS|SETTINGS_MODULE)|^(DJANGO_)?(DB|DATABASE|POSTGRES|PG|MYSQL|REDIS|"
    r"CELERY|BROKER|RABBITMQ|AMQP|CACHE|SESSION|CSRF)(_|$)"
)
LOCAL_HOST = re.compile(r"^https?://(localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[::1\])([:/]|$)", re.I)
# A variable holding the public address of the site: its root, base or front-end URL.
PUBLIC_URL_NAME = re.compile(
    r"^([A-Z0-9]+_)*(SITE|BASE|FRONTEND|FRONT|PUBLIC|APP|WEB|CLIENT|ROOT|ABSOLUTE|EXTERNAL|CALLBACK|REDIRECT|RETURN|"
    r"WEBHOOK|DOMAIN|SERVER)(_[A-Z0-9]+)*_(URL|URI|ORIGIN|ADDRESS)$"
)


def service_of(name: str) -> Service | None:
    """The known service a variable belongs to, OTHER for an unknown one, None for the project's own."""
    bare = name.removeprefix("DJANGO_")  # cookiecutter-django: DJANGO_AWS_ACCESS_KEY_ID, ...
    if INTERNAL.search(name):
        return None
    for service in SERVICES:
        if bare.startswith(service.prefixes):
            return service
    return OTHER


def used_services(reads: dict) -> dict[str, list[str]]:
    """service key -> the variables of it the settings read (only services with a family, not OTHER)."""
    found: dict[str, list[str]] = {}
    for name in reads:
        service = service_of(name)
        if service is not None and service is not OTHER:
            found.setdefault(service.key, []).append(name)
    return found


def missing_inputs(reads: dict) -> dict[Service, list[str]]:
    """Per service, the variables a person must supply: read, not set, and secret-named or required."""
    missing: dict[Service, list[str]] = {}
    for name, read in reads.items():
        service = service_of(name)
        if service is None or read.get("set"):
            continue
        if is_secret_name(name) or name in service.required:
            missing.setdefault(service, []).append(name)
    return missing


def is_local_public_url(name: str, value) -> bool:
    """A site or public base URL still pointing at this machine: wrong for anyone else."""
    if not isinstance(value, str) or INTERNAL.search(name) or service_of(name) not in (OTHER, None):
        return False
    return bool(PUBLIC_URL_NAME.search(name)) and bool(LOCAL_HOST.match(value.strip()))


def read_variables(reads: dict | None, env_values: dict) -> list[dict] | None:
    """The env area's rows: each variable the settings read, whether it is set, secret-named,
    a public URL left local, and the service it belongs to; None when the reads are unknown."""
    if reads is None:
        return None
    rows = []
    for name, read in reads.items():
        value = env_values.get(name) if read.get("set") else read.get("default")
        service = service_of(name)
        rows.append({
            "name": name,
            "set": bool(read.get("set")),
            "secret": is_secret_name(name),
            "local": is_local_public_url(name, value),
            "service": service.key if service not in (None, OTHER) else None,  # a known service only
            "default": read.get("default"),
            "where": read.get("where"),
        })
    return rows
