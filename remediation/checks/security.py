"""Seed section 13: the security flags Django's deploy checks ask for, read from the settings."""

from .base import DJANGO, CRITICAL, HIGH, LOW, MEDIUM, django_ready, finding_for, reported

finding = finding_for("security")


def _flag(finding_id, django_id, severity, title, failing, detail):
    """A check that fails when ``failing(settings)`` is true, carrying Django's id when it reported it."""

    def check(facts):
        if not django_ready(facts) or not failing(facts.settings):
            return []
        return [finding(id=finding_id, severity=severity, title=title, detail=detail(facts.settings),
                        fix="security_flags", django_ids=reported(facts, django_id))]

    check.__name__ = finding_id.replace(".", "_")
    check.applies = (DJANGO,)
    return check


ssl_redirect = _flag("security.ssl_redirect", "security.W008", CRITICAL, "HTTPS not forced",
                     lambda s: not s.get("SECURE_SSL_REDIRECT"), lambda s: "SECURE_SSL_REDIRECT is not True")
hsts = _flag("security.hsts", "security.W004", CRITICAL, "HSTS not configured",
             lambda s: not s.get("SECURE_HSTS_SECONDS"), lambda s: "SECURE_HSTS_SECONDS is not set")
hsts_subdomains = _flag("security.hsts_subdomains", "security.W005", LOW, "HSTS does not cover subdomains",
                        lambda s: s.get("SECURE_HSTS_SECONDS") and not s.get("SECURE_HSTS_INCLUDE_SUBDOMAINS"),
                        lambda s: "SECURE_HSTS_INCLUDE_SUBDOMAINS is not True")
hsts_preload = _flag("security.hsts_preload", "security.W021", LOW, "HSTS preload not requested",
                     lambda s: s.get("SECURE_HSTS_SECONDS") and not s.get("SECURE_HSTS_PRELOAD"),
                     lambda s: "SECURE_HSTS_PRELOAD is not True")
session_cookie = _flag("security.session_cookie_secure", "security.W012", HIGH, "Session cookie sent over HTTP",
                       lambda s: not s.get("SESSION_COOKIE_SECURE"), lambda s: "SESSION_COOKIE_SECURE is not True")
csrf_cookie = _flag("security.csrf_cookie_secure", "security.W016", HIGH, "CSRF cookie sent over HTTP",
                    lambda s: not s.get("CSRF_COOKIE_SECURE"), lambda s: "CSRF_COOKIE_SECURE is not True")
nosniff = _flag("security.content_type_nosniff", "security.W006", MEDIUM, "X-Content-Type-Options not sent",
                lambda s: s.get("SECURE_CONTENT_TYPE_NOSNIFF") is False, lambda s: "SECURE_CONTENT_TYPE_NOSNIFF is False")

CHECKS = (ssl_redirect, hsts, hsts_subdomains, hsts_preload, session_cookie, csrf_cookie, nosniff)
