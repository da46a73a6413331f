"""Fan-out of device events to WebSocket subscribers."""

import asyncio
import itertools
import time


class EventBus:
    def __init__(self, queue_size=256):
        self.queue_size = queue_size
        self.subscribers = set()
        self._seq = itertools.count(1)
        self.listeners = []  # callables(event), e.g. the status page or the CLI log

    def subscribe(self):
        queue = asyncio.Queue(self.queue_size)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue):
        self.subscribers.discard(queue)

    def publish(self, type_, **data):
        event = {"type": type_, "seq": next(self._seq), "time": time.time(), **data}
        for queue in list(self.subscribers):
            if queue.full():  # a slow client loses its oldest events, never blocks others
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    pass
            queue.put_nowait(event)
        for listener in self.listeners:
            listener(event)
        return event
