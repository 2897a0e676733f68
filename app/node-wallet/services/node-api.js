#!/usr/bin/env node
'use strict';

const { createLogger } = require('../src/log');
const { loadConfigOrExit, onShutdown, fatal } = require('../src/lifecycle');
const { initSentry } = require('../src/sentry');

const log = createLogger('node-api');
const config = loadConfigOrExit(log);
initSentry(config.sentry, { service: 'node-api' });
// Loaded after Sentry.init, so that its instrumentation sees them.
const { DjangoClient, StrategyCache } = require('../src/django');
const { createApiServer } = require('../src/api');

const django = new DjangoClient({ baseUrl: config.djangoApiUrl, token: config.serviceToken, timeoutMs: config.httpTimeoutMs });
const strategies = new StrategyCache(django, Math.min(config.strategyRefreshMs, 5000));
const server = createApiServer({ strategies, log, serviceToken: config.serviceToken });

server.on('error', (err) => fatal(log, err));
server.listen(config.port, config.bindHost, () => {
  const { address, port } = server.address();
  log.info('listening', { address, port, django: config.djangoApiUrl, sentry: Boolean(config.sentry) });
});

onShutdown(log, () => new Promise((resolve) => {
  // Stop accepting, let in-flight requests finish, drop idle keep-alives.
  server.close(() => resolve());
  if (typeof server.closeIdleConnections === 'function') server.closeIdleConnections();
}));
