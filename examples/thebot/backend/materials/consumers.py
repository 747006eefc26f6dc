from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .models import Material


class MaterialChatConsumer(AsyncJsonWebsocketConsumer):
    """Discussion chat attached to a material, one group per material."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return

        self.material_id = self.scope["url_route"]["kwargs"]["material_id"]
        if not await self.material_exists(self.material_id):
            await self.close(code=4404)
            return

        self.group_name = f"material_chat_{self.material_id}"
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group_name"):
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive_json(self, content, **kwargs):
        text = (content.get("message") or "").strip()
        if not text:
            return
        user = self.scope["user"]
        await self.channel_layer.group_send(
            self.group_name,
            {
                "type": "chat.message",
                "message": text[:2000],
                "user": {"id": user.id, "name": user.get_full_name() or user.username},
            },
        )

    async def chat_message(self, event):
        await self.send_json({"message": event["message"], "user": event["user"]})

    @database_sync_to_async
    def material_exists(self, material_id):
        return Material.objects.filter(pk=material_id).exists()
