import logging

from django.conf import settings
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import CsrfExemptSessionAuthentication
from accounts.permissions import IsTutor

from .models import Invoice
from .payments import PaymentConfigurationError, create_payment
from .serializers import InvoiceSerializer
from .tasks import send_invoice_notification

logger = logging.getLogger(__name__)


class InvoiceViewSet(viewsets.ModelViewSet):
    serializer_class = InvoiceSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        user = self.request.user
        qs = Invoice.objects.select_related("tutor", "parent", "student", "enrollment__subject")
        if user.is_staff:
            return qs
        return qs.filter(Q(tutor=user) | Q(parent=user))

    def get_permissions(self):
        if self.action in ("create", "partial_update", "send"):
            return [IsTutor()]
        return super().get_permissions()

    def perform_create(self, serializer):
        serializer.save(tutor=self.request.user)

    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        invoice = self.get_object()
        if invoice.status != Invoice.Status.DRAFT:
            return Response(
                {"success": False, "error": "Only draft invoices can be sent"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        invoice.status = Invoice.Status.SENT
        invoice.sent_at = timezone.now()
        invoice.save(update_fields=["status", "sent_at", "updated_at"])
        send_invoice_notification.delay(invoice.pk)
        return Response(self.get_serializer(invoice).data)


class PayInvoiceView(APIView):
    authentication_classes = [CsrfExemptSessionAuthentication]
    throttle_scope = "payment"

    def post(self, request, pk):
        invoice = get_object_or_404(Invoice, pk=pk, parent=request.user)
        if invoice.status == Invoice.Status.PAID:
            return Response({"success": False, "error": "Invoice already paid"}, status=400)
        try:
            payment_id, payment_url = create_payment(
                invoice, return_url=f"{settings.FRONTEND_URL}/invoices/{invoice.pk}"
            )
        except PaymentConfigurationError as exc:
            logger.error("Cannot create payment for invoice %s: %s", invoice.pk, exc)
            return Response(
                {"success": False, "error": "Payments are temporarily unavailable"},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        invoice.payment_id = payment_id
        invoice.payment_url = payment_url
        invoice.save(update_fields=["payment_id", "payment_url", "updated_at"])
        return Response({"success": True, "payment_url": payment_url})


class YooKassaWebhookView(APIView):
    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_scope = "webhook"

    def post(self, request):
        event = request.data.get("event")
        payment = request.data.get("object") or {}
        invoice_id = (payment.get("metadata") or {}).get("invoice_id")
        if event != "payment.succeeded" or not invoice_id:
            return Response({"status": "ignored"})

        invoice = Invoice.objects.filter(pk=invoice_id, payment_id=payment.get("id")).first()
        if invoice is None:
            logger.warning("Webhook for unknown invoice %s / payment %s", invoice_id, payment.get("id"))
            return Response({"status": "unknown"}, status=status.HTTP_404_NOT_FOUND)
        if invoice.status != Invoice.Status.PAID:
            invoice.mark_paid()
        return Response({"status": "ok"})
