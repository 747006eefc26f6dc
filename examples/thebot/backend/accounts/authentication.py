from rest_framework.authentication import SessionAuthentication


class CsrfExemptSessionAuthentication(SessionAuthentication):
    """Session auth for the SPA login/logout endpoints, which post without a CSRF token."""

    def enforce_csrf(self, request):
        return None
