"""The Redis list between Django and the Node payout worker."""

import json

import redis
from django.conf import settings

_clients = {}


def get_redis():
    # One pool per URL and process (settings may differ in tests).
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
    return _clients[url]


def payout_message(payout):
    return json.dumps(
        {
            "id": payout.pk,
            "amount": str(payout.amount),
            "currency": payout.currency,
            "destination": payout.destination,
        },
        sort_keys=True,
    )


def enqueue_payout(payout):
    # LPUSH + the worker's BLMOVE RIGHT -> processing list = FIFO, and an item
    # taken by a worker that crashes stays in its processing list.
    get_redis().lpush(settings.PAYOUT_QUEUE_KEY, payout_message(payout))
