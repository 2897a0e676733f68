#!/usr/bin/env node
'use strict';

const { createLogger } = require('../src/log');
const { loadConfigOrExit, onShutdown, fatal } = require('../src/lifecycle');
const sentry = require('../src/sentry');

const log = createLogger('node-payout-worker');
const config = loadConfigOrExit(log);
sentry.initSentry(config.sentry, { service: 'node-payout-worker' });
// Loaded after Sentry.init, so that its instrumentation sees them.
const { createClient } = require('redis');
const { DjangoClient, StrategyCache } = require('../src/django');
const { PayoutWorker } = require('../src/payout-worker');

async function main() {
  const redis = createClient({ url: config.redisUrl });
  redis.on('error', (err) => log.warn('redis error', { error: err.message }));
  const blocking = redis.duplicate();
  blocking.on('error', (err) => log.warn('redis error (blocking)', { error: err.message }));
  await redis.connect();
  await blocking.connect();

  const django = new DjangoClient({ baseUrl: config.djangoApiUrl, token: config.serviceToken, timeoutMs: config.httpTimeoutMs });
  const worker = new PayoutWorker({
    redis, blocking, django, strategies: new StrategyCache(django, config.strategyRefreshMs), config, log, sentry,
  });

  const finished = worker.run();
  // SIGTERM: finish the current item, leave the loop (at most one poll
  // interval), then close both connections.
  onShutdown(log, async () => {
    worker.stop();
    await finished;
    await blocking.quit();
    await redis.quit();
  }, (config.payoutPollSeconds + 30) * 1000);
  log.info('started', { worker: config.workerId, django: config.djangoApiUrl, sentry: Boolean(config.sentry) });
  await finished;
}

main().catch((err) => fatal(log, err));
