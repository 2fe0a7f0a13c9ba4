"""Group events from services: queued on the event loop in order, or sent at once outside one."""

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from core import channel_layers
from core.channel_layers import SweepThrottledInMemoryChannelLayer
from core.group_events import send_group_event


async def test_events_sent_from_a_sync_to_async_thread_arrive_in_the_order_they_were_sent():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("conversation_ordered", channel)

    def send_many():
        for n in range(50):
            send_group_event("conversation_ordered", {"type": "conversation.message", "n": n})

    await sync_to_async(send_many)()
    received = [(await layer.receive(channel))["n"] for _ in range(50)]
    assert received == list(range(50))
    await layer.group_discard("conversation_ordered", channel)


def test_events_sent_outside_an_event_loop_are_delivered_before_the_call_returns():
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("conversation_sync", channel)
    send_group_event("conversation_sync", {"type": "conversation.message", "text": "hi"})
    assert async_to_sync(layer.receive)(channel) == {"type": "conversation.message", "text": "hi"}


async def test_the_in_memory_layer_still_drops_expired_messages_but_sweeps_at_most_once_a_second(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(channel_layers.time, "monotonic", lambda: now[0])
    layer = SweepThrottledInMemoryChannelLayer(expiry=-1)  # every message is already expired
    await layer.group_add("conversation_expiring", "specific.a!1")
    await layer.group_send("conversation_expiring", {"type": "conversation.message"})  # sweeps, then queues
    assert "specific.a!1" in layer.channels
    now[0] += 0.5
    layer._clean_expired()
    assert "specific.a!1" in layer.channels  # within the second: no sweep
    now[0] += 0.5
    layer._clean_expired()
    assert "specific.a!1" not in layer.channels  # swept: the expired message and the membership are gone
    assert not layer.groups.get("conversation_expiring")
