import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


def custom_exception_handler(exc, context):
    """Wrap DRF errors into the {"success": false, "error": ...} envelope used by the frontend."""
    response = exception_handler(exc, context)

    if response is None:
        view = context.get("view")
        logger.exception("Unhandled API error in %s", view.__class__.__name__ if view else "?")
        return Response(
            {"success": False, "error": "Internal server error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, Http404):
        message = "Not found"
    elif isinstance(exc, PermissionDenied):
        message = "Permission denied"
    else:
        detail = getattr(exc, "detail", None)
        if isinstance(detail, str):
            message = detail
        elif isinstance(detail, dict) and "detail" in detail:
            message = str(detail["detail"])
        else:
            message = "Validation error"

    payload = {"success": False, "error": message}
    if isinstance(response.data, dict) and "detail" not in response.data:
        payload["details"] = response.data
    elif isinstance(response.data, list):
        payload["details"] = response.data
    response.data = payload
    return response
