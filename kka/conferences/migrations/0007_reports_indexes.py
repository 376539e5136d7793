"""Program reports (issue #10): held KKAs by start, and each KKA's participants,
commitments and evaluations, and the period's follow-ups, read from covering indexes on
PostgreSQL (INCLUDE columns; plain indexes on SQLite). The covering starts_at index
replaces the plain one. Plans: docs/performance.md "Program reports"."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("conferences", "0006_commitment_organisation"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="conference",
            name="conferences_starts__d88e26_idx",
        ),
        migrations.AddIndex(
            model_name="conference",
            index=models.Index(
                fields=["starts_at"],
                include=("id", "status", "case", "bidang"),
                name="conf_starts_cover_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(
                fields=["conference"],
                include=("id", "category", "attendance", "removed_at"),
                name="conf_participant_conf_cover",
            ),
        ),
        migrations.AddIndex(
            model_name="commitment",
            index=models.Index(
                fields=["conference"],
                include=("id", "status", "due_on", "participant"),
                name="conf_commitment_conf_cover",
            ),
        ),
        migrations.AddIndex(
            model_name="evaluation",
            index=models.Index(
                fields=["conference"],
                include=("id", "kind", "due_on", "done_at"),
                name="conf_evaluation_conf_cover",
            ),
        ),
        migrations.AddIndex(
            model_name="followup",
            index=models.Index(
                fields=["created_at"],
                include=("id", "case", "kind", "referral_to"),
                name="conf_followup_created_cover",
            ),
        ),
    ]
