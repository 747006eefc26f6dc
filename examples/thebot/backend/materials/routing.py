from channels.security.websocket import WebsocketDenier
from django.urls import path, re_path

from .consumers import MaterialChatConsumer

websocket_urlpatterns = [
    path("ws/chat/material/<int:material_id>/", MaterialChatConsumer.as_asgi()),
    # Any other WebSocket path is refused (403) rather than left to Channels' "No route found"
    # ValueError: a 500 and an error report for every stray handshake (django/channels#2147).
    re_path(r"", WebsocketDenier.as_asgi()),
]
