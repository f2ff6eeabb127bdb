"""Roles of tenant members and the Django groups that carry their permissions.

The groups and their permissions are created by migrations (each app adds the
permissions of its own models); a member's group follows their role through
``tenants.services.membership_set_role``.
"""

from tenants.models import Membership

ROLE_GROUPS: dict[str, str] = {
    Membership.Role.TENANT_ADMIN: "Tenant admins",
    Membership.Role.SALES_REP: "Sales reps",
}
