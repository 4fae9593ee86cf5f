# The rate-limit counters moved to the core app (infrastructure, not accounts): the table is renamed
# and the model handed over; no row is touched.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_rate_counter'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable(name='RateCounter', table='core_ratecounter')],
            state_operations=[migrations.DeleteModel(name='RateCounter')],
        ),
    ]
