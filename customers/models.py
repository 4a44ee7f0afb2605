import secrets

from django.db import models


def new_token_key() -> str:
    return secrets.token_urlsafe(12)


class Customer(models.Model):
    """A website visitor. Known to the server only through its signed token."""

    name = models.CharField(max_length=80)
    email = models.EmailField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Part of the signed token: changing it revokes every token issued so far.
    token_key = models.CharField(max_length=32, default=new_token_key, editable=False)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"
