"""Django check ids that a dedicated check of ours covers (and carries in ``django_ids``)."""

MAPPED_DJANGO_IDS = {
    "security.W004": "security.hsts",
    "security.W005": "security.hsts_subdomains",
    "security.W006": "security.content_type_nosniff",
    "security.W008": "security.ssl_redirect",
    "security.W009": "env.secret_key",
    "security.W012": "security.session_cookie_secure",
    "security.W016": "security.csrf_cookie_secure",
    "security.W018": "env.debug",
    "security.W020": "env.allowed_hosts",
    "security.W021": "security.hsts_preload",
}
