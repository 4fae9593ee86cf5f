from django.db import models


class RateCounter(models.Model):
    """One rate limit window's count (core/ratelimit.py): bumped with a single atomic upsert."""

    key = models.CharField(max_length=200, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.key}: {self.count}"
