from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

app_name = "invoices"

router = DefaultRouter()
router.register("", views.InvoiceViewSet, basename="invoice")

urlpatterns = [
    path("webhooks/yookassa/", views.YooKassaWebhookView.as_view(), name="yookassa-webhook"),
    path("<int:pk>/pay/", views.PayInvoiceView.as_view(), name="pay"),
    path("", include(router.urls)),
]
