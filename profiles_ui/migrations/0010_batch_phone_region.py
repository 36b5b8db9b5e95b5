"""Each bulk batch reads its phones against a region, chosen on its mapping page, and keeps
a sample of the cells its check converted (as written, as sent)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("profiles_ui", "0009_audit_chain")]

    operations = [
        migrations.AddField(
            model_name="batch",
            name="phone_region",
            field=models.CharField(blank=True, max_length=3),
        ),
        migrations.AddField(
            model_name="batch",
            name="conversion_sample",
            field=models.JSONField(default=list),
        ),
    ]
