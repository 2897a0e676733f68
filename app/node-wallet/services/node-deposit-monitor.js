#!/usr/bin/env node
'use strict';

const os = require('node:os');
const { createLogger } = require('../src/log');
const { loadConfigOrExit, onShutdown } = require('../src/lifecycle');
const { initSentry } = require('../src/sentry');

const log = createLogger('node-deposit-monitor');
const config = loadConfigOrExit(log);
initSentry(config.sentry, { service: 'node-deposit-monitor' });
// Loaded after Sentry.init, so that its instrumentation sees them.
const { DjangoClient, StrategyCache } = require('../src/django');
const { simulatedDeposit } = require('../src/money');

const django = new DjangoClient({ baseUrl: config.djangoApiUrl, token: config.serviceToken, timeoutMs: config.httpTimeoutMs });
const strategies = new StrategyCache(django, config.strategyRefreshMs);
const hostId = (process.env.WORKER_ID || os.hostname()).replace(/[^A-Za-z0-9_.-]/g, '-');

let timer = null;
let inFlight = Promise.resolve();
let stopping = false;

async function tick() {
  const slot = Math.floor(Date.now() / config.depositIntervalMs);
  try {
    const settings = await strategies.config('deposit-monitor');
    const deposit = simulatedDeposit(slot, hostId, settings);
    const { status } = await django.reportDeposit(deposit);
    log.info(status === 201 ? 'deposit reported' : 'deposit already known', { tx_id: deposit.tx_id, amount: deposit.amount, currency: deposit.currency, source: deposit.source });
  } catch (err) {
    // Transient (Django restarting): the next tick tries again.
    log.warn('deposit report failed', { error: err.message, status: err.status });
  }
}

function schedule() {
  if (stopping) return;
  timer = setTimeout(() => {
    inFlight = tick().finally(schedule);
  }, config.depositIntervalMs);
}

log.info('started', { intervalMs: config.depositIntervalMs, django: config.djangoApiUrl, sentry: Boolean(config.sentry) });
inFlight = tick().finally(schedule);

onShutdown(log, async () => {
  stopping = true;
  clearTimeout(timer);
  await inFlight; // finish the report in progress
});
