import base64
import json
import logging
import uuid
from urllib import request as urlrequest

from django.conf import settings

logger = logging.getLogger(__name__)

YOOKASSA_API_URL = "https://api.yookassa.ru/v3/payments"


class PaymentConfigurationError(Exception):
    pass


def create_payment(invoice, return_url):
    if not settings.YOOKASSA_SHOP_ID or not settings.YOOKASSA_SECRET_KEY:
        raise PaymentConfigurationError("YooKassa credentials are not configured")

    credentials = f"{settings.YOOKASSA_SHOP_ID}:{settings.YOOKASSA_SECRET_KEY}".encode()
    payload = {
        "amount": {"value": f"{invoice.amount:.2f}", "currency": "RUB"},
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": return_url},
        "description": f"Invoice #{invoice.pk}: {invoice.description[:100]}",
        "metadata": {"invoice_id": invoice.pk},
    }
    req = urlrequest.Request(
        YOOKASSA_API_URL,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={
            "Authorization": "Basic " + base64.b64encode(credentials).decode(),
            "Idempotence-Key": str(uuid.uuid4()),
            "Content-Type": "application/json",
        },
    )
    with urlrequest.urlopen(req, timeout=15) as response:
        data = json.loads(response.read())
    logger.info("YooKassa payment %s created for invoice %s", data.get("id"), invoice.pk)
    return data["id"], data["confirmation"]["confirmation_url"]
