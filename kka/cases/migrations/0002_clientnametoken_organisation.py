"""Name-search tokens carry their client's organisation (issue #9: a name search reads
only the searcher's organisation's tokens, through the new index)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_organisation(apps, schema_editor):  # type: ignore[no-untyped-def]
    Client = apps.get_model("cases", "Client")
    ClientNameToken = apps.get_model("cases", "ClientNameToken")
    ClientNameToken.objects.using(schema_editor.connection.alias).update(
        organisation_id=Subquery(
            Client.objects.filter(pk=OuterRef("client_id")).values("organisation_id")[:1]
        )
    )
    if schema_editor.connection.vendor == "postgresql":
        # Check the new foreign keys now: the ALTER TABLE that follows refuses to run
        # with deferred checks still pending in the transaction.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_backup_codes"),
        ("cases", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="clientnametoken",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.organisation",
            ),
        ),
        migrations.RunPython(fill_organisation, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="clientnametoken",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.organisation",
            ),
        ),
        migrations.RemoveIndex(
            model_name="clientnametoken",
            name="cases_clien_token_7717c2_idx",
        ),
        migrations.AddIndex(
            model_name="clientnametoken",
            index=models.Index(
                fields=["organisation", "token", "client"], name="cases_nametoken_org_token"
            ),
        ),
    ]
