"""The demo page (to be written)."""

from django.http import HttpRequest, HttpResponse


def demo_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("demo: not implemented", status=501)
