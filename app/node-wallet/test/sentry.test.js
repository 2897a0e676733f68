'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { ConfigError } = require('../src/config');
const { DjangoClient, StrategyCache } = require('../src/django');
const { PayoutWorker } = require('../src/payout-worker');
const { beforeSend, resolveRelease, sentryOptions } = require('../src/sentry');
const { version } = require('../package.json');
const { TOKEN, startFakeDjango, startFakeSentry, startService, waitFor, stopService } = require('./helpers');

const DSN = 'http://public@127.0.0.1:9/1';

test('without SENTRY_DSN there are no Sentry options', () => {
  assert.equal(sentryOptions({}), null);
  assert.equal(sentryOptions({ SENTRY_DSN: ' ', SENTRY_SAMPLE_RATE: 'junk' }), null);
});

test('Sentry options: release, environment, no PII, sample rates', () => {
  const options = sentryOptions({ SENTRY_DSN: DSN, APP_RELEASE: 'rel-1' });
  assert.deepEqual(
    { ...options, beforeSend: typeof options.beforeSend },
    {
      dsn: DSN, release: 'rel-1', environment: 'production', sendDefaultPii: false,
      sampleRate: 1, tracesSampleRate: 0, beforeSend: 'function',
    },
  );
  const tuned = sentryOptions({
    SENTRY_DSN: DSN, SENTRY_ENVIRONMENT: 'staging', SENTRY_SAMPLE_RATE: '0.25', SENTRY_TRACES_SAMPLE_RATE: '0.1',
  });
  assert.deepEqual([tuned.environment, tuned.sampleRate, tuned.tracesSampleRate], ['staging', 0.25, 0.1]);
  for (const bad of ['2', '-0.1', 'half']) {
    assert.throws(() => sentryOptions({ SENTRY_DSN: DSN, SENTRY_SAMPLE_RATE: bad }), (err) => err instanceof ConfigError && /SENTRY_SAMPLE_RATE/.test(err.message));
  }
});

test('release: APP_RELEASE, else APP_RELEASE_FILE or RELEASE, else VERSION, else the package version', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'release-'));
  try {
    assert.equal(resolveRelease({}, root), version);
    fs.writeFileSync(path.join(root, 'VERSION'), '1.2.3\n');
    assert.equal(resolveRelease({}, root), '1.2.3');
    fs.writeFileSync(path.join(root, 'RELEASE'), '20260101-abc\nignored\n');
    assert.equal(resolveRelease({}, root), '20260101-abc');
    fs.writeFileSync(path.join(root, 'custom'), 'custom-7\n');
    assert.equal(resolveRelease({ APP_RELEASE_FILE: path.join(root, 'custom') }, root), 'custom-7');
    assert.equal(resolveRelease({ APP_RELEASE_FILE: path.join(root, 'missing') }, root), '1.2.3');
    assert.equal(resolveRelease({ APP_RELEASE: 'env-9', APP_RELEASE_FILE: path.join(root, 'custom') }, root), 'env-9');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('beforeSend drops cookies and credentials from the request', () => {
  const event = beforeSend({
    request: {
      url: 'http://127.0.0.1/error-drill',
      cookies: { sessionid: 's' },
      headers: { cookie: 's', Authorization: 'Token t', 'x-service-token': 'svc', 'Proxy-Authorization': 'b', 'user-agent': 'curl', 'x-request-id': 'r1' },
    },
  });
  assert.deepEqual(event.request, { url: 'http://127.0.0.1/error-drill', headers: { 'user-agent': 'curl', 'x-request-id': 'r1' } });
  assert.deepEqual(beforeSend({ message: 'no request' }), { message: 'no request' });
});

test('without SENTRY_DSN the SDK is not even loaded', () => {
  const script = `
    const sentry = require('./src/sentry');
    sentry.initSentry(sentry.sentryOptions({}), { service: 'x' });
    sentry.captureMessage('nothing');
    console.log(Object.keys(require.cache).some((file) => file.includes('@sentry')));`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), env: { PATH: process.env.PATH } });
  assert.equal(out.toString().trim(), 'false');
});

test('node-api error drill: service token only; reported to Sentry without credentials; answers 500 and goes on', async () => {
  const django = await startFakeDjango();
  const sentry = await startFakeSentry();
  const api = startService('node-api', {
    DJANGO_API_URL: django.url, NODE_SERVICE_TOKEN: TOKEN, PORT: '0',
    SENTRY_DSN: sentry.dsn, SENTRY_ENVIRONMENT: 'drill-env', APP_RELEASE: 'drill-rel-1',
  });
  try {
    const listening = await waitFor(() => api.lines.find((l) => l.msg === 'listening'), { what: 'node-api to listen' });
    assert.equal(listening.sentry, true);
    const drill = `http://127.0.0.1:${listening.port}/error-drill`;
    assert.equal((await fetch(drill, { method: 'POST' })).status, 403);
    assert.equal((await fetch(drill, { method: 'POST', headers: { 'X-Service-Token': 'wrong' } })).status, 403);
    assert.equal((await fetch(drill, { headers: { 'X-Service-Token': TOKEN } })).status, 405);

    const response = await fetch(drill, {
      method: 'POST',
      headers: { 'X-Service-Token': TOKEN, Cookie: 'sessionid=cookie-secret-1', Authorization: 'Token auth-secret-1', 'X-Request-ID': 'drill-req-1' },
    });
    assert.equal(response.status, 500);
    assert.deepEqual(await response.json(), { error: 'internal error' });
    assert.equal((await fetch(`http://127.0.0.1:${listening.port}/healthz`)).status, 200);
    const logged = api.lines.find((l) => l.msg === 'handler error');
    assert.equal(logged.request_id, 'drill-req-1');
    assert.match(logged.error, /^ErrorDrill: error drill/);

    const [event] = await waitFor(() => sentry.events().length && sentry.events(), { what: 'the drill event' });
    assert.equal(new URL(sentry.envelopes[0].path, 'http://x').pathname, '/api/1/envelope/');
    assert.deepEqual([event.release, event.environment], ['drill-rel-1', 'drill-env']);
    assert.equal(event.exception.values[0].type, 'ErrorDrill');
    assert.deepEqual([event.tags.service, event.tags.request_id], ['node-api', 'drill-req-1']);
    const headers = Object.keys((event.request && event.request.headers) || {}).map((name) => name.toLowerCase());
    assert.ok(headers.includes('x-request-id'), 'the request\'s headers are in the event');
    for (const secret of ['cookie', 'authorization', 'x-service-token']) assert.ok(!headers.includes(secret), secret);
    const raw = sentry.envelopes.map((e) => e.body).join('\n');
    for (const secret of ['cookie-secret-1', 'auth-secret-1', TOKEN]) assert.ok(!raw.includes(secret), secret);
  } finally {
    const { code } = await stopService(api);
    await django.close();
    await sentry.close();
    assert.equal(code, 0);
  }
});

test('a fatal error is reported before the service exits', async () => {
  const sentry = await startFakeSentry();
  const taken = net.createServer();
  await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve));
  // node-api cannot listen: its port is taken.
  const api = startService('node-api', {
    DJANGO_API_URL: 'http://127.0.0.1:9', NODE_SERVICE_TOKEN: TOKEN, PORT: String(taken.address().port), SENTRY_DSN: sentry.dsn,
  });
  try {
    const { code } = await api.exited;
    assert.equal(code, 1);
    assert.match(sentry.events()[0].exception.values[0].value, /EADDRINUSE/);
  } finally {
    await new Promise((resolve) => taken.close(resolve));
    await sentry.close();
  }
});

test('payout worker: reports carry the payout\'s request id; failed payouts go to Sentry tagged with the payout id', async () => {
  const django = await startFakeDjango();
  const captured = [];
  const sentry = {
    captureMessage: (message, context) => captured.push({ message, context }),
    captureException: (err, context) => captured.push({ err, context }),
  };
  const client = new DjangoClient({ baseUrl: django.url, token: TOKEN });
  const log = { debug() {}, info() {}, warn() {}, error() {} };
  const config = { workerId: 'w1', reportRetries: 1, retryDelayMs: 1 };
  try {
    const worker = new PayoutWorker({ django: client, strategies: new StrategyCache(client, 0), config, log, sentry });
    assert.equal(await worker.handle(JSON.stringify({ id: 1, amount: '10.00', destination: 'DE00', request_id: 'pay-req-1' })), true);
    assert.equal(await worker.handle(JSON.stringify({ id: 2, amount: '10.00', destination: 'FAIL-X', request_id: 'pay-req-2' })), true);
    assert.equal(await worker.handle(JSON.stringify({ id: 3, amount: '10.00', destination: 'DE01' })), true);
    const reports = (id) => django.calls.filter((c) => c.url === `/api/service/payouts/${id}/result/`).map((c) => c.requestId);
    assert.deepEqual(reports(1), ['pay-req-1', 'pay-req-1']);
    assert.deepEqual(reports(2), ['pay-req-2', 'pay-req-2']);
    assert.deepEqual(reports(3), [undefined, undefined]);
    assert.deepEqual(captured, [{
      message: 'payout failed',
      context: { tags: { payout_id: '2' }, extra: { error: 'destination rejected by the simulated bank' }, level: 'warning' },
    }]);

    // A worker error (here: a broken strategy cache) is captured as an exception.
    captured.length = 0;
    const broken = { config: async () => { throw new TypeError('broken strategy'); } };
    const failing = new PayoutWorker({ django: client, strategies: broken, config, log, sentry });
    assert.equal(await failing.handle(JSON.stringify({ id: 4, amount: '1.00', destination: 'DE02' })), true);
    assert.equal(captured.length, 1);
    assert.equal(captured[0].err.message, 'broken strategy');
    assert.deepEqual(captured[0].context.tags, { payout_id: '4' });
  } finally {
    await django.close();
  }
});
