"""The demo accounts of `make run` (`manage.py demo_setup`), and how to find
them in a database: deploy/serve refuses to start where any is present
(agents/checks.py).

A demo account is marked by its e-mail address in the reserved `.invalid`
domain. Accounts made before the mark existed had published passwords
(`<name>-demo-pass`); one that still has it counts as a demo account too.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

DEMO_EMAIL_DOMAIN = "demo.invalid"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    skills: tuple[str, ...]
    supervisor: bool

    @property
    def email(self) -> str:
        return f"{self.username}@{DEMO_EMAIL_DOMAIN}"

    @property
    def published_password(self) -> str:
        """The password earlier versions gave this account, printed in the README."""
        return f"{self.username}-demo-pass"


DEMO_ACCOUNTS = (
    DemoAccount("alice", "Alice", ("billing", "sales"), supervisor=False),
    DemoAccount("bob", "Bob", ("support",), supervisor=False),
    DemoAccount("sam", "Sam (supervisor)", ("support", "billing"), supervisor=True),
)


def demo_usernames_present() -> list[str]:
    """The usernames of the demo accounts in the database, sorted."""
    User = get_user_model()
    found = set(
        User.objects.filter(email__iendswith=f"@{DEMO_EMAIL_DOMAIN}").values_list("username", flat=True)
    )
    for account in DEMO_ACCOUNTS:
        user = User.objects.filter(username=account.username).first()
        if user is not None and user.check_password(account.published_password):
            found.add(user.username)
    return sorted(found)
