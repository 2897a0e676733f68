"""The Redis list between Django and the Node payout worker."""

import json

import redis
from django.conf import settings

from config.request_id import get_request_id

_clients = {}


def get_redis():
    # One pool per URL and process (settings may differ in tests).
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
    return _clients[url]


def payout_message(payout):
    message = {
        "id": payout.pk,
        "amount": str(payout.amount),
        "currency": payout.currency,
        "destination": payout.destination,
    }
    # The id of the request that created the payout: the Node worker sends
    # it back with its reports, so their log lines carry it too.
    request_id = get_request_id()
    if request_id:
        message["request_id"] = request_id
    return json.dumps(message, sort_keys=True)


def enqueue_payout(payout):
    # LPUSH + the worker's BLMOVE RIGHT -> processing list = FIFO, and an item
    # taken by a worker that crashes stays in its processing list.
    get_redis().lpush(settings.PAYOUT_QUEUE_KEY, payout_message(payout))
