"""An agent's sockets end with the identity that opened them, on every process.

Logging out ends the sockets opened with that session; a new password
ends those opened with any session (Django has ended the sessions
themselves); deactivating or deleting the user ends all of the agent's
sockets. Each is announced after
the commit (chat.actions.send_after_commit) as `SocketsRevoked`, which every
server process applies to the sockets it holds (chat.realtime.revocation).
A rotated API token is handled where it is rotated (`agents.services`).
Changes that bypass the ORM's signals (`QuerySet.update`, raw SQL) are not
seen here: go through the model or admin.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from chat.actions import send_after_commit
from chat.events import SocketsRevoked

from .identity import ANY_SESSION, session_credential
from .models import AgentProfile


def _agent_id(user) -> int | None:
    if user is None or user.pk is None:
        return None
    return AgentProfile.objects.filter(user_id=user.pk).values_list("id", flat=True).first()


@receiver(user_logged_out)
def end_sockets_of_session(sender, request, user, **kwargs) -> None:
    agent_id = _agent_id(user)
    key = getattr(getattr(request, "session", None), "session_key", None)
    if agent_id is not None and key:
        send_after_commit(SocketsRevoked(kind="agent", id=agent_id, credential=session_credential(key)))


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def note_a_new_password(sender, instance, update_fields=None, **kwargs) -> None:
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return  # new, or a save that leaves the password alone (say, last_login)
    before = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._cs_password_changed = before is not None and before != instance.password


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def end_sockets_of_inactive_user(sender, instance, **kwargs) -> None:
    new_password = instance.__dict__.pop("_cs_password_changed", False)
    if instance.is_active and not new_password:
        return
    agent_id = _agent_id(instance)
    if agent_id is None:
        return
    if not instance.is_active:
        send_after_commit(SocketsRevoked(kind="agent", id=agent_id))
    else:
        send_after_commit(SocketsRevoked(kind="agent", id=agent_id, credential=ANY_SESSION))


@receiver(post_delete, sender=AgentProfile)
def end_sockets_of_deleted_agent(sender, instance, **kwargs) -> None:
    send_after_commit(SocketsRevoked(kind="agent", id=instance.id))
