'use strict';
// X-Request-ID: nginx gives every request an id (or passes the client's own
// if sane). It is kept in an AsyncLocalStorage while a request (or a payout
// created by one) is handled, so log lines and calls to Django made meanwhile
// carry it without passing it through every function.

const { AsyncLocalStorage } = require('node:async_hooks');
const { randomUUID } = require('node:crypto');

const HEADER = 'X-Request-ID';
// Same rule as Django's (config/request_id.py): short and log-safe.
const VALID = /^[A-Za-z0-9._-]{1,64}$/;
const storage = new AsyncLocalStorage();

function validRequestId(value) {
  return typeof value === 'string' && VALID.test(value) ? value : null;
}

function newRequestId() {
  return randomUUID().replace(/-/g, '');
}

function withRequestId(requestId, fn) {
  return storage.run({ requestId }, fn);
}

function currentRequestId() {
  const store = storage.getStore();
  return store ? store.requestId : null;
}

module.exports = { HEADER, validRequestId, newRequestId, withRequestId, currentRequestId };
