# The table exists already: accounts created it, and accounts.0003 renamed it to core_ratecounter.

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0003_move_rate_counter_to_core'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='RateCounter',
                    fields=[
                        ('key', models.CharField(max_length=200, primary_key=True, serialize=False)),
                        ('count', models.PositiveIntegerField(default=0)),
                        ('expires_at', models.DateTimeField(db_index=True)),
                    ],
                ),
            ],
        ),
    ]
