'use strict';
// Sentry, only when SENTRY_DSN is set: without it @sentry/node is not even
// loaded. The helpers below are no-ops then.

const fs = require('node:fs');
const path = require('node:path');
const { ConfigError } = require('./config');

// app/ in the repository, the release directory on a host: the directory
// holding node-wallet/ (and django/, RELEASE, VERSION).
const RELEASE_ROOT = path.resolve(__dirname, '..', '..');
// Never sent, whatever sendDefaultPii says: session cookies, user API tokens
// and the services' shared secret.
const SECRET_HEADERS = new Set(['cookie', 'set-cookie', 'authorization', 'proxy-authorization', 'x-service-token']);
const FLUSH_TIMEOUT_MS = 2000;

let sdk = null;

function firstLine(file) {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return text ? text.split(/\r?\n/)[0].trim() : null;
  } catch (err) {
    return null;
  }
}

// The order of Django's config/release.py: APP_RELEASE, the file named by
// APP_RELEASE_FILE (else RELEASE in the release root), VERSION; then this
// package's version.
function resolveRelease(env = process.env, root = RELEASE_ROOT) {
  const fromEnv = (env.APP_RELEASE || '').trim();
  if (fromEnv) return fromEnv.split(/\r?\n/)[0].trim();
  for (const file of [env.APP_RELEASE_FILE || path.join(root, 'RELEASE'), path.join(root, 'VERSION')]) {
    const value = firstLine(file);
    if (value) return value;
  }
  return require('../package.json').version;
}

function rate(env, name, fallback) {
  const raw = (env[name] || '').trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new ConfigError(`${name} must be a number between 0 and 1, got ${JSON.stringify(env[name])}`);
  }
  return value;
}

function scrubHeaders(headers) {
  const kept = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!SECRET_HEADERS.has(name.toLowerCase().replace(/_/g, '-'))) kept[name] = value;
  }
  return kept;
}

function beforeSend(event) {
  const request = event.request;
  if (request) {
    delete request.cookies;
    if (request.headers) request.headers = scrubHeaders(request.headers);
  }
  return event;
}

// Options for Sentry.init, or null without SENTRY_DSN.
function sentryOptions(env = process.env, root = RELEASE_ROOT) {
  const dsn = (env.SENTRY_DSN || '').trim();
  if (!dsn) return null;
  return {
    dsn,
    release: resolveRelease(env, root),
    environment: (env.SENTRY_ENVIRONMENT || '').trim() || 'production',
    sendDefaultPii: false,
    sampleRate: rate(env, 'SENTRY_SAMPLE_RATE', 1),
    tracesSampleRate: rate(env, 'SENTRY_TRACES_SAMPLE_RATE', 0),
    beforeSend,
  };
}

function initSentry(options, { service }) {
  if (!options) return null;
  sdk = require('@sentry/node');
  sdk.init({
    ...options,
    initialScope: { tags: { service } },
    // An unhandled rejection still ends the process, as without Sentry
    // (Node's default), once the event is sent. Uncaught exceptions: the
    // SDK's default handler reports, flushes and exits 1.
    integrations: [sdk.onUnhandledRejectionIntegration({ mode: 'strict' })],
  });
  return sdk;
}

function captureException(err, context) {
  if (sdk) sdk.captureException(err, context);
}

function captureMessage(message, context) {
  if (sdk) sdk.captureMessage(message, context);
}

// Before exiting: events still queued would be lost.
async function flush(timeoutMs = FLUSH_TIMEOUT_MS) {
  if (!sdk) return;
  try {
    await sdk.flush(timeoutMs);
  } catch (err) {
    // Sentry unreachable: nothing more to do on the way out.
  }
}

module.exports = { beforeSend, captureException, captureMessage, flush, initSentry, resolveRelease, sentryOptions };
