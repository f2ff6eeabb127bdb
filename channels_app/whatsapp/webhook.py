"""WhatsApp webhook (to be written)."""

from django.http import HttpRequest, JsonResponse


async def whatsapp_webhook(request: HttpRequest, key: str) -> JsonResponse:
    return JsonResponse({"error": "not implemented"}, status=501)
