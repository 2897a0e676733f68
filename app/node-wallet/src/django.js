'use strict';
// Client of Django's service API (header X-Service-Token).

const { HEADER: REQUEST_ID_HEADER, currentRequestId } = require('./request-id');

class DjangoError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

class DjangoClient {
  constructor({ baseUrl, token, timeoutMs = 5000 }) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.token = token;
    this.timeoutMs = timeoutMs;
  }

  async request(method, path, body) {
    const headers = { 'X-Service-Token': this.token, Accept: 'application/json' };
    // Django logs the same id as the request (or payout) that led here.
    const requestId = currentRequestId();
    if (requestId) headers[REQUEST_ID_HEADER] = requestId;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual', // a redirect means misconfiguration; do not follow with the token
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new DjangoError(`${method} ${path}: ${err.name}: ${err.message}`, 0, null);
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (err) {
      data = { raw: text.slice(0, 200) };
    }
    if (response.status >= 300) {
      throw new DjangoError(`${method} ${path}: HTTP ${response.status}`, response.status, data);
    }
    return { status: response.status, data };
  }

  async strategies() {
    const { data } = await this.request('GET', '/api/service/strategies/');
    if (!Array.isArray(data)) throw new DjangoError('GET /api/service/strategies/: not a list', 200, data);
    const byName = {};
    for (const item of data) byName[item.name] = item;
    return byName;
  }

  reportPayout(id, result) {
    return this.request('POST', `/api/service/payouts/${encodeURIComponent(id)}/result/`, result);
  }

  reportDeposit(deposit) {
    return this.request('POST', '/api/service/deposits/', deposit);
  }
}

// Strategy registry with a small cache, shared by the services.
class StrategyCache {
  constructor(client, ttlMs) {
    this.client = client;
    this.ttlMs = ttlMs;
    this.value = null;
    this.fetchedAt = 0;
  }

  async get() {
    if (this.value && Date.now() - this.fetchedAt < this.ttlMs) return this.value;
    try {
      this.value = await this.client.strategies();
      this.fetchedAt = Date.now();
    } catch (err) {
      if (!this.value) throw err; // nothing to fall back to
    }
    return this.value;
  }

  async config(name) {
    const all = await this.get();
    return (all[name] && all[name].config) || {};
  }
}

module.exports = { DjangoClient, DjangoError, StrategyCache };
