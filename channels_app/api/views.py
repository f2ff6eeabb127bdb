"""CRM inbound API (to be written)."""

from django.http import HttpRequest, JsonResponse


async def api_messages(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"error": "not implemented"}, status=501)
