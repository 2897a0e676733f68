'use strict';
// Start-up and shutdown shared by the entry points.

const { ConfigError, loadConfig } = require('./config');
const sentry = require('./sentry');

// The service's configuration, Sentry's included (config.sentry: options,
// or null without SENTRY_DSN).
function loadConfigOrExit(log) {
  try {
    const config = loadConfig(process.env);
    config.sentry = sentry.sentryOptions(process.env);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error('invalid configuration', { error: err.message });
      process.exit(78); // EX_CONFIG: systemd will not hammer restarts on it (RestartPreventExitStatus)
    }
    throw err;
  }
}

// Calls stop() once on SIGTERM/SIGINT; exits 0 when it resolves, 1 if it
// throws or takes longer than graceMs. Sentry's queue is flushed first.
function onShutdown(log, stop, graceMs = 20000) {
  let stopping = false;
  const handler = (signal) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const timer = setTimeout(() => {
      log.error('shutdown took too long, exiting', { graceMs });
      sentry.flush().finally(() => process.exit(1));
    }, graceMs);
    timer.unref();
    Promise.resolve()
      .then(stop)
      .then(async () => {
        log.info('stopped');
        await sentry.flush();
        process.exit(0);
      })
      .catch(async (err) => {
        log.error('error while stopping', { error: String(err && err.stack ? err.stack : err) });
        sentry.captureException(err);
        await sentry.flush();
        process.exit(1);
      });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

function fatal(log, err) {
  log.error('fatal error', { error: String(err && err.stack ? err.stack : err) });
  sentry.captureException(err);
  // Exit only once the event is sent (or the flush timed out).
  return sentry.flush().finally(() => process.exit(1));
}

module.exports = { loadConfigOrExit, onShutdown, fatal };
