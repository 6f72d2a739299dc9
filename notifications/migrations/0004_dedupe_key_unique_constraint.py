"""dedupe_key: a named unique constraint instead of unique=True.

On PostgreSQL `unique=True` on a CharField also creates a second index,
`..._dedupe_key_<hash>_like` (varchar_pattern_ops), for LIKE queries; nothing
queries dedupe keys by prefix, so it only cost space and write time. The new
constraint is added first, then the old one (with its _like index) is dropped,
so the column is never without a unique index. It is plain and non-partial,
so `INSERT ... ON CONFLICT (dedupe_key)` still infers it.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_delay_digest_feedback_kinds"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(fields=("dedupe_key",), name="notification_dedupe_key_unique"),
        ),
        migrations.AlterField(
            model_name="notification",
            name="dedupe_key",
            field=models.CharField(max_length=200),
        ),
    ]
