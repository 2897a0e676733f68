'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { TOKEN, startFakeDjango, startService, waitFor, stopService } = require('./helpers');

test('node-api serves health, strategies and quotes, and stops cleanly on SIGTERM', async () => {
  const django = await startFakeDjango();
  const api = startService('node-api', { DJANGO_API_URL: django.url, NODE_SERVICE_TOKEN: TOKEN, PORT: '0' });
  try {
    const listening = await waitFor(() => api.lines.find((l) => l.msg === 'listening'), { what: 'node-api to listen' });
    const base = `http://127.0.0.1:${listening.port}`;

    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });

    const strategies = await (await fetch(`${base}/strategies`)).json();
    assert.deepEqual(strategies.strategies.map((s) => s.name).sort(), ['deposit-monitor', 'payout', 'quote']);
    assert.ok(django.calls.every((c) => c.token === TOKEN), 'service token sent');

    const quote = await (await fetch(`${base}/quote?amount=100.00&currency=usd`)).json();
    assert.deepEqual(quote, { amount: '100.00', currency: 'USD', fee: '1.00', spread: '0.50', net: '98.50' });

    assert.equal((await fetch(`${base}/quote?amount=-1`)).status, 400);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/healthz`, { method: 'POST' })).status, 405);
  } finally {
    const { code } = await stopService(api);
    await django.close();
    assert.equal(code, 0);
  }
});

test('node-api answers 502 when Django refuses the token', async () => {
  const django = await startFakeDjango();
  const api = startService('node-api', { DJANGO_API_URL: django.url, NODE_SERVICE_TOKEN: 'wrong', PORT: '0' });
  try {
    const listening = await waitFor(() => api.lines.find((l) => l.msg === 'listening'), { what: 'node-api to listen' });
    const response = await fetch(`http://127.0.0.1:${listening.port}/strategies`);
    assert.equal(response.status, 502);
  } finally {
    await stopService(api);
    await django.close();
  }
});
