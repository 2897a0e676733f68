'use strict';
// Environment-driven configuration. Bad or missing values throw a
// ConfigError naming the variable; entry points exit non-zero with it.

const os = require('node:os');

class ConfigError extends Error {}

function str(env, name, fallback, required = false) {
  const value = env[name];
  if (value === undefined || value === '') {
    if (required) throw new ConfigError(`Set the ${name} environment variable`);
    return fallback;
  }
  return value;
}

function int(env, name, fallback, { min = 0 } = {}) {
  const raw = str(env, name, undefined);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function url(env, name, fallback, protocols) {
  const value = str(env, name, fallback);
  let parsed;
  try {
    parsed = new URL(value);
  } catch (err) {
    throw new ConfigError(`${name} must be a URL, got ${JSON.stringify(value)}`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
  }
  return value.replace(/\/+$/, '');
}

function loadConfig(env = process.env) {
  const djangoApiUrl = url(env, 'DJANGO_API_URL', 'http://127.0.0.1:8000', ['http:', 'https:']);
  const queueKey = str(env, 'PAYOUT_QUEUE_KEY', 'wallet:payouts');
  const workerId = str(env, 'WORKER_ID', os.hostname());
  return {
    djangoApiUrl,
    serviceToken: str(env, 'NODE_SERVICE_TOKEN', undefined, true),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379/0', ['redis:', 'rediss:']),
    port: int(env, 'PORT', 3001, { min: 0 }),
    bindHost: str(env, 'BIND_HOST', '127.0.0.1'),
    httpTimeoutMs: int(env, 'HTTP_TIMEOUT_MS', 5000, { min: 100 }),
    strategyRefreshMs: int(env, 'STRATEGY_REFRESH_MS', 30000),
    // Payout worker
    workerId,
    queueKey,
    // One processing list per worker, so recovering it at start-up never
    // steals items another worker is handling.
    processingKey: str(env, 'PAYOUT_PROCESSING_KEY', `${queueKey}:processing:${workerId}`),
    payoutPollSeconds: int(env, 'PAYOUT_POLL_SECONDS', 2, { min: 1 }),
    reportRetries: int(env, 'REPORT_RETRIES', 5, { min: 1 }),
    retryDelayMs: int(env, 'RETRY_DELAY_MS', 1000),
    // Deposit monitor
    depositIntervalMs: int(env, 'DEPOSIT_INTERVAL_MS', 15000, { min: 100 }),
  };
}

module.exports = { ConfigError, loadConfig };
