'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { loadConfig, ConfigError } = require('../src/config');
const { startService } = require('./helpers');

test('missing NODE_SERVICE_TOKEN is a configuration error naming it', () => {
  assert.throws(() => loadConfig({}), (err) => err instanceof ConfigError && /NODE_SERVICE_TOKEN/.test(err.message));
});

test('defaults apply and URLs are validated', () => {
  const config = loadConfig({ NODE_SERVICE_TOKEN: 't', WORKER_ID: 'w1' });
  assert.equal(config.port, 3001);
  assert.equal(config.bindHost, '127.0.0.1');
  assert.equal(config.processingKey, 'wallet:payouts:processing:w1');
  assert.throws(() => loadConfig({ NODE_SERVICE_TOKEN: 't', REDIS_URL: 'http://x' }), /REDIS_URL/);
  assert.throws(() => loadConfig({ NODE_SERVICE_TOKEN: 't', PORT: 'abc' }), /PORT/);
});

test('redis URL with an ACL user and password is accepted', () => {
  const config = loadConfig({ NODE_SERVICE_TOKEN: 't', REDIS_URL: 'redis://app:s3cret@127.0.0.1:6379/0' });
  assert.equal(config.redisUrl, 'redis://app:s3cret@127.0.0.1:6379/0');
});

for (const name of ['node-api', 'node-payout-worker', 'node-deposit-monitor']) {
  test(`${name} exits non-zero with a clear message without NODE_SERVICE_TOKEN`, async () => {
    const service = startService(name, {});
    const { code } = await service.exited;
    assert.notEqual(code, 0);
    assert.match(service.stderr(), /Set the NODE_SERVICE_TOKEN environment variable/);
  });
}
