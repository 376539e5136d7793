"""Commitments carry their case's organisation (issue #9: the dashboard reads only the
viewer's organisation's commitments, through the new index)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_organisation(apps, schema_editor):  # type: ignore[no-untyped-def]
    Conference = apps.get_model("conferences", "Conference")
    Commitment = apps.get_model("conferences", "Commitment")
    Commitment.objects.using(schema_editor.connection.alias).update(
        organisation_id=Subquery(
            Conference.objects.filter(pk=OuterRef("conference_id")).values("case__organisation_id")[
                :1
            ]
        )
    )
    if schema_editor.connection.vendor == "postgresql":
        # Check the new foreign keys now: the ALTER TABLE that follows refuses to run
        # with deferred checks still pending in the transaction.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_backup_codes"),
        ("conferences", "0005_report"),
    ]

    operations = [
        migrations.AddField(
            model_name="commitment",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.organisation",
            ),
        ),
        migrations.RunPython(fill_organisation, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="commitment",
            name="organisation",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.organisation",
            ),
        ),
        migrations.AddIndex(
            model_name="commitment",
            index=models.Index(
                fields=["organisation", "status", "due_on"], name="conf_commitment_org_due"
            ),
        ),
    ]
