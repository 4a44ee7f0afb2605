import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _


def new_token_key() -> str:
    return secrets.token_urlsafe(12)


class Customer(models.Model):
    """A website visitor. Known to the server only through its signed token."""

    name = models.CharField(_("name"), max_length=80)
    email = models.EmailField(_("email"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True)
    # Part of the signed token: changing it revokes every token issued so far.
    token_key = models.CharField(
        _("token key"),
        max_length=32,
        default=new_token_key,
        editable=False,
        help_text=_("Part of the customer's signed token: a new key revokes every token issued so far."),
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"
