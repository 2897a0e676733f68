'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { validRequestId, newRequestId, withRequestId, currentRequestId } = require('../src/request-id');
const { TOKEN, startFakeDjango, startService, waitFor, stopService } = require('./helpers');

test('request ids: [A-Za-z0-9._-]{1,64} is accepted, anything else is not', () => {
  for (const ok of ['0123456789abcdef0123456789abcdef', 'client.id_7-x', 'a'.repeat(64)]) assert.equal(validRequestId(ok), ok);
  for (const bad of ['', 'a'.repeat(65), 'has space', 'quo"te', 'new\nline', 'x\n', 'é', undefined, ['a']]) {
    assert.equal(validRequestId(bad), null, JSON.stringify(bad));
  }
  assert.match(newRequestId(), /^[0-9a-f]{32}$/);
});

test('the current request id follows async work and ends with it', async () => {
  assert.equal(currentRequestId(), null);
  await withRequestId('r-1', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(currentRequestId(), 'r-1');
  });
  assert.equal(currentRequestId(), null);
});

test('node-api keeps, echoes, logs and forwards X-Request-ID, and makes one when it is missing or malformed', async () => {
  const django = await startFakeDjango();
  const api = startService('node-api', { DJANGO_API_URL: django.url, NODE_SERVICE_TOKEN: TOKEN, PORT: '0' });
  try {
    const listening = await waitFor(() => api.lines.find((l) => l.msg === 'listening'), { what: 'node-api to listen' });
    const base = `http://127.0.0.1:${listening.port}`;

    // The first quote fetches the strategies from Django: with the id.
    const quote = await fetch(`${base}/quote?amount=100.00`, { headers: { 'X-Request-ID': 'quote-req-1' } });
    assert.equal(quote.status, 200);
    assert.equal(quote.headers.get('x-request-id'), 'quote-req-1');
    assert.deepEqual(django.calls.map((c) => c.requestId), ['quote-req-1']);
    const line = await waitFor(() => api.lines.find((l) => l.msg === 'request' && l.request_id === 'quote-req-1'), { what: 'access line' });
    assert.deepEqual(
      { method: line.method, path: line.path, status: line.status, level: line.level, service: line.service },
      { method: 'GET', path: '/quote', status: 200, level: 'info', service: 'node-api' },
    );

    for (const sent of [undefined, 'bad id', 'x'.repeat(65)]) {
      const response = await fetch(`${base}/healthz`, { headers: sent === undefined ? {} : { 'X-Request-ID': sent } });
      const made = response.headers.get('x-request-id');
      assert.match(made, /^[0-9a-f]{32}$/);
      await waitFor(() => api.lines.find((l) => l.msg === 'request' && l.request_id === made), { what: 'line with the new id' });
    }

    // A request target URL() refuses used to end the process.
    const raw = await new Promise((resolve, reject) => {
      const socket = require('node:net').connect(listening.port, '127.0.0.1', () => socket.end('GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => { data += chunk; });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  } finally {
    const { code } = await stopService(api);
    await django.close();
    assert.equal(code, 0);
  }
});
