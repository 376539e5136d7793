"""Program reports (issue #10): the period's cases of the scope's organisations by opening
and by closing day. The INCLUDE columns (PostgreSQL only; plain indexes on SQLite) let the
report's aggregates read the index alone. Plans: docs/performance.md "Program reports"."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_clientnametoken_organisation"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                fields=["organisation", "opened_at"],
                include=("id", "client", "owner", "bidang", "status", "closed_at"),
                name="cases_org_opened_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                fields=["organisation", "closed_at"],
                include=("id", "client", "owner", "bidang", "outcome"),
                name="cases_org_closed_idx",
            ),
        ),
    ]
