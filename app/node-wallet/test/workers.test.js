'use strict';
// Payout worker tests need a real Redis: app/run-tests sets TEST_REDIS_URL.

const test = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('redis');
const { TOKEN, startFakeDjango, startService, waitFor, stopService } = require('./helpers');

const REDIS_URL = process.env.TEST_REDIS_URL;

test('deposit monitor reports deposits and stops cleanly', async () => {
  const django = await startFakeDjango();
  const monitor = startService('node-deposit-monitor', {
    DJANGO_API_URL: django.url, NODE_SERVICE_TOKEN: TOKEN, DEPOSIT_INTERVAL_MS: '200', WORKER_ID: 'test-host',
  });
  try {
    await waitFor(() => django.calls.filter((c) => c.url === '/api/service/deposits/').length >= 2, { what: 'two deposits' });
    const deposit = django.calls.find((c) => c.url === '/api/service/deposits/').body;
    assert.match(deposit.tx_id, /^dep-bank-sim-test-host-\d+$/);
    assert.equal(deposit.source, 'bank-sim');
  } finally {
    const { code } = await stopService(monitor);
    await django.close();
    assert.equal(code, 0);
  }
});

test('payout worker processes queued payouts, skips final ones, recovers its processing list', { skip: !REDIS_URL && 'TEST_REDIS_URL not set' }, async () => {
  const prefix = `test:${process.pid}:${Date.now()}`;
  const queueKey = `${prefix}:payouts`;
  const processingKey = `${queueKey}:processing:w1`;
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  // payout 3 is already paid in Django (duplicate queue item): must be skipped
  const django = await startFakeDjango({ finalPayouts: { 3: 'paid' } });
  // left over by a "crashed" previous run of this worker
  await redis.lPush(processingKey, JSON.stringify({ id: 4, amount: '2.00', currency: 'EUR', destination: 'RECOVER' }));
  await redis.lPush(queueKey, JSON.stringify({ id: 1, amount: '100.00', currency: 'EUR', destination: 'DE00' }));
  await redis.lPush(queueKey, JSON.stringify({ id: 2, amount: '10.00', currency: 'EUR', destination: 'FAIL-X' }));
  await redis.lPush(queueKey, JSON.stringify({ id: 3, amount: '10.00', currency: 'EUR', destination: 'DE01' }));
  await redis.lPush(queueKey, 'not json');
  const worker = startService('node-payout-worker', {
    DJANGO_API_URL: django.url, NODE_SERVICE_TOKEN: TOKEN, REDIS_URL, WORKER_ID: 'w1',
    PAYOUT_QUEUE_KEY: queueKey, PAYOUT_POLL_SECONDS: '1', RETRY_DELAY_MS: '50',
  });
  try {
    await waitFor(() => ['1', '2', '4'].every((id) => ['paid', 'failed'].includes(django.payouts[id])), { what: 'payouts processed' });
    assert.equal(django.payouts['1'], 'paid');
    assert.equal(django.payouts['2'], 'failed');
    assert.equal(django.payouts['4'], 'paid');
    const paid = django.calls.find((c) => c.url === '/api/service/payouts/1/result/' && c.body.status === 'paid').body;
    assert.equal(paid.fee, '1.00');
    assert.match(paid.tx_id, /^sim-/);
    await waitFor(async () => (await redis.lLen(queueKey)) === 0 && (await redis.lLen(processingKey)) === 0, { what: 'queues drained' });
    assert.ok(!django.calls.some((c) => c.url === '/api/service/payouts/3/result/' && c.body.status === 'paid'), 'final payout not processed again');
  } finally {
    const { code } = await stopService(worker);
    await redis.del([queueKey, processingKey]);
    await redis.quit();
    await django.close();
    assert.equal(code, 0);
  }
});

test('payout worker finishes the payout in progress on SIGTERM, then exits 0', { skip: !REDIS_URL && 'TEST_REDIS_URL not set' }, async () => {
  const queueKey = `test:${process.pid}:${Date.now()}:slow`;
  const processingKey = `${queueKey}:processing:w2`;
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  const strategies = [{ name: 'payout', enabled: true, config: { fee_percent: '1', processing_delay_ms: 1500 } }];
  const django = await startFakeDjango({ strategies });
  await redis.lPush(queueKey, JSON.stringify({ id: 9, amount: '10.00', currency: 'EUR', destination: 'DE09' }));
  const worker = startService('node-payout-worker', {
    DJANGO_API_URL: django.url, NODE_SERVICE_TOKEN: TOKEN, REDIS_URL, WORKER_ID: 'w2',
    PAYOUT_QUEUE_KEY: queueKey, PAYOUT_POLL_SECONDS: '1',
  });
  try {
    await waitFor(() => django.payouts['9'] === 'processing', { what: 'payout 9 processing' });
    const { code } = await stopService(worker); // SIGTERM mid-payout
    assert.equal(code, 0);
    assert.equal(django.payouts['9'], 'paid', 'the current payout was finished before exiting');
    assert.equal(await redis.lLen(processingKey), 0);
    assert.ok(worker.lines.some((l) => l.msg === 'stopped'));
  } finally {
    if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await redis.del([queueKey, processingKey]);
    await redis.quit();
    await django.close();
  }
});
