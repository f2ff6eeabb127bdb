"""The admin's "view on site" shortcut, ``/admin/r/<content type id>/<object id>/``.

Django's own (``contenttypes.views.shortcut``) looks the object up by primary key through
the model's base manager, for any content type: a malformed id of a model with a UUID key
(the task results) was a 500, and the lookup ignores the member's tenant. This one answers
404 unless the model is registered in the admin, the user may view it, the id is well
formed and the object is in the user's own queryset of that admin (a member's tenant); a
model without ``get_absolute_url`` is a 404 as in Django. Only then does Django's shortcut
redirect.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.http import Http404, HttpRequest, HttpResponse


def view_on_site(request: HttpRequest, content_type_id: str, object_id: str) -> HttpResponse:
    try:
        model = ContentType.objects.get_for_id(int(content_type_id)).model_class()
    except (ValueError, ContentType.DoesNotExist):
        raise Http404("No such content type.") from None
    try:
        model_admin = admin.site.get_model_admin(model) if model is not None else None
    except NotRegistered:
        model_admin = None
    if model_admin is None or not model_admin.has_view_permission(request):
        raise Http404("No such object.")
    obj = model_admin.get_object(request, unquote(object_id))  # None when malformed or not ours
    if obj is None or not hasattr(obj, "get_absolute_url"):
        raise Http404("No such object, or it has no page on the site.")
    return shortcut(request, content_type_id, object_id)
