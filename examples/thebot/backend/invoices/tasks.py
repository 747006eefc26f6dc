import json
import logging
from urllib import request as urlrequest

from celery import shared_task
from django.conf import settings

from .models import Invoice

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=3, default_retry_delay=60)
def send_invoice_notification(self, invoice_id):
    """Notify the parent in Telegram that a new invoice was issued."""
    try:
        invoice = Invoice.objects.select_related("parent", "student").get(pk=invoice_id)
    except Invoice.DoesNotExist:
        logger.warning("Invoice %s not found, skipping notification", invoice_id)
        return False

    if not settings.TELEGRAM_BOT_TOKEN:
        logger.info("TELEGRAM_BOT_TOKEN is not set, skipping notification for invoice %s", invoice_id)
        return False

    chat_id = invoice.parent.telegram_id
    if not chat_id:
        return False

    text = (
        f"Новый счёт #{invoice.pk} на {invoice.amount} ₽\n"
        f"Ученик: {invoice.student.get_full_name()}\n"
        f"Оплатить до {invoice.due_date:%d.%m.%Y}"
    )
    url = f"https://api.telegram.org/bot{settings.TELEGRAM_BOT_TOKEN}/sendMessage"
    req = urlrequest.Request(
        url,
        data=json.dumps({"chat_id": chat_id, "text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urlrequest.urlopen(req, timeout=10):
            pass
    except OSError as exc:
        raise self.retry(exc=exc)
    return True
