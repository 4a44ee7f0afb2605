"""Events leave a service only when its transaction commits."""

import pytest
from django.db import transaction

from chat import outbox
from chat.events import QueueChanged, ReceiptsChanged


def _read(up_to_id: int) -> ReceiptsChanged:
    return ReceiptsChanged(
        conversation_id=1, up_to_id=up_to_id, status="read", to="agent", customer_id=1, agent_id=None
    )


@pytest.mark.django_db(transaction=True)
def test_committed_events_are_collected_in_order():
    with outbox.collecting() as events:
        with transaction.atomic():
            outbox.record(_read(1))
            outbox.record(QueueChanged())
    assert events == [_read(1), QueueChanged()]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_events_are_never_collected():
    with outbox.collecting() as events:
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox.record(_read(1))
            raise RuntimeError("roll back")
        with transaction.atomic():
            outbox.record(_read(2))
    assert events == [_read(2)]


def test_recording_outside_a_collection_is_an_error():
    with pytest.raises(RuntimeError, match="lost"):
        outbox.record(QueueChanged())


def test_only_typed_events_are_recorded():
    with outbox.collecting(), pytest.raises(TypeError, match=r"chat\.events\.Event"):
        outbox.record("queue_changed")
