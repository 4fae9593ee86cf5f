import pytest
from django.db import connection


@pytest.mark.django_db
def test_the_database_is_postgresql_with_btree_gist():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'")
        assert cursor.fetchone() == (1,)
