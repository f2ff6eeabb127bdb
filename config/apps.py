from django.contrib.admin.apps import AdminConfig


class SalesAdminConfig(AdminConfig):
    """The Django admin, with the tenant-aware site as the default site."""

    default_site = "config.admin_site.SalesAdminSite"
