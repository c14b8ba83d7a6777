"""Job types and real item data: a job names its type and may carry inputs; an item keeps its output (JSON), its
error and its attempts instead of a square."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0004_job_reconciling"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="job_type",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        # Every job before this migration was a demo job, and the demo's types are named after their workloads.
        migrations.RunSQL("UPDATE jobs_job SET job_type = workload", reverse_sql=migrations.RunSQL.noop),
        migrations.AddField(
            model_name="job",
            name="has_inputs",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="job",
            name="retries",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="job",
            name="idempotency_key",
            field=models.CharField(blank=True, max_length=128, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="item",
            name="output",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="item",
            name="error",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="item",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.RunSQL(
            "UPDATE jobs_item SET output = to_jsonb(value), attempts = writes WHERE state <> 0",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveField(
            model_name="item",
            name="value",
        ),
        migrations.CreateModel(
            name="JobItemInput",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("index", models.PositiveIntegerField()),
                ("input", models.JSONField()),
                (
                    "job",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="jobs.job",
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("job", "index"), name="jobs_input_unique_index")],
            },
        ),
    ]
