"""The opportunity's event log becomes the CRM's one audit trail: opportunities,
conversations and contacts, each entry with its actor's kind (rep, agent, integration,
system). Existing entries were all made by reps through the desk."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

OLD, NEW = "opportunityevent", "auditentry"


def actors_and_permissions(apps, schema_editor):
    AuditEntry = apps.get_model("crm", "AuditEntry")
    for entry in AuditEntry._base_manager.exclude(actor=None).select_related("actor"):
        user = entry.actor
        name = (f"{user.first_name} {user.last_name}".strip() or user.username)[:150]
        AuditEntry._base_manager.filter(pk=entry.pk).update(actor_kind="rep", actor_name=name)
    # The content type follows the rename; the permissions' codenames do not by themselves.
    Permission = apps.get_model("auth", "Permission")
    for permission in Permission.objects.filter(
        content_type__app_label="crm", codename__endswith=f"_{OLD}"
    ):
        permission.codename = permission.codename.replace(OLD, NEW)
        permission.name = permission.name.replace("opportunity event", "audit entry")
        permission.save(update_fields=["codename", "name"])


def permissions_back(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for permission in Permission.objects.filter(
        content_type__app_label="crm", codename__endswith=f"_{NEW}"
    ):
        permission.codename = permission.codename.replace(NEW, OLD)
        permission.name = permission.name.replace("audit entry", "opportunity event")
        permission.save(update_fields=["codename", "name"])


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0008_message_delivery_retry"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name="opportunityevent", name="oppevent_opp_created"),
        migrations.RenameModel(old_name="OpportunityEvent", new_name="AuditEntry"),
        migrations.AlterModelOptions(
            name="auditentry",
            options={
                "ordering": ["created_at", "pk"],
                "verbose_name": "audit entry",
                "verbose_name_plural": "audit trail",
            },
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(help_text="What happened, as a dotted name.", max_length=64),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                help_text="The user who made the change (empty for the agent, an integration "
                "or the system, or a removed user).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="opportunity",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="audit_entries",
                to="crm.leadopportunity",
            ),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="actor_kind",
            field=models.CharField(
                choices=[
                    ("rep", "Sales rep"),
                    ("agent", "AI agent"),
                    ("integration", "Integration"),
                    ("system", "System"),
                ],
                default="system",
                max_length=16,
                verbose_name="by",
            ),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="actor_name",
            field=models.CharField(
                blank=True,
                help_text="Who it was as shown then: the rep's name, the integration's name…",
                max_length=150,
            ),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="conversation",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="audit_entries",
                to="crm.conversation",
            ),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="contact",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="audit_entries",
                to="crm.contact",
            ),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="changes",
            field=models.JSONField(
                blank=True, default=dict, help_text="Every field changed: {field: [before, after]}."
            ),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="note",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["opportunity", "created_at"], name="audit_opp_created"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["conversation", "created_at"], name="audit_conv_created"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["contact", "created_at"], name="audit_contact_created"),
        ),
        migrations.RunPython(actors_and_permissions, permissions_back),
    ]
