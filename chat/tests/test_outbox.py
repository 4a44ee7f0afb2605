"""Events leave a service only when its transaction commits."""

import pytest
from django.db import transaction

from chat import outbox


@pytest.mark.django_db(transaction=True)
def test_committed_events_are_collected_in_order():
    with outbox.collecting() as events:
        with transaction.atomic():
            outbox.record("first", n=1)
            outbox.record("second", n=2)
    assert [(e.kind, e.data) for e in events] == [("first", {"n": 1}), ("second", {"n": 2})]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_events_are_never_collected():
    with outbox.collecting() as events:
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox.record("lost")
            raise RuntimeError("roll back")
        with transaction.atomic():
            outbox.record("kept")
    assert [e.kind for e in events] == ["kept"]


def test_recording_outside_a_collection_is_an_error():
    with pytest.raises(RuntimeError, match="lost"):
        outbox.record("nowhere")
