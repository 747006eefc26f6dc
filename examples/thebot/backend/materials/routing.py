from django.urls import path

from .consumers import MaterialChatConsumer

websocket_urlpatterns = [
    path("ws/chat/material/<int:material_id>/", MaterialChatConsumer.as_asgi()),
]
