'use strict';
// node-api: plain node:http server. nginx exposes it under /node/ and strips
// the prefix, so routes live at the root.

const crypto = require('node:crypto');
const http = require('node:http');
const { DjangoError } = require('./django');
const { computeFee, fromCents, percentOf, toCents } = require('./money');
const { HEADER: REQUEST_ID_HEADER, newRequestId, validRequestId, withRequestId } = require('./request-id');
const sentry = require('./sentry');
const { version } = require('../package.json');

// Thrown on purpose by POST /error-drill: proves from outside that errors
// reach Sentry.
class ErrorDrill extends Error {
  constructor(message) {
    super(message);
    this.name = 'ErrorDrill';
  }
}

function sendJson(res, status, body) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
    'Cache-Control': 'no-store',
  });
  res.end(payload);
}

// Constant time, and the digests hide the token's length too.
function hasServiceToken(req, expected) {
  const presented = req.headers['x-service-token'];
  if (!expected || typeof presented !== 'string' || !presented) return false;
  const digest = (value) => crypto.createHash('sha256').update(value).digest();
  return crypto.timingSafeEqual(digest(presented), digest(expected));
}

function createApiServer({ strategies, log, serviceToken }) {
  // path -> method -> handler(url, req) returning [status, body]. HEAD is
  // answered wherever GET is.
  const routes = {
    '/healthz': { GET: async () => [200, { status: 'ok' }] },
    '/version': { GET: async () => [200, { service: 'node-api', version }] },
    '/strategies': {
      GET: async () => {
        const all = await strategies.get();
        return [200, { strategies: Object.values(all) }];
      },
    },
    '/quote': {
      GET: async (url) => {
        const amount = url.searchParams.get('amount');
        const currency = (url.searchParams.get('currency') || 'EUR').toUpperCase();
        let cents;
        try {
          cents = toCents(amount);
        } catch (err) {
          return [400, { error: 'amount must be a positive decimal with up to 2 places' }];
        }
        if (cents <= 0) return [400, { error: 'amount must be positive' }];
        const payout = await strategies.config('payout');
        const quote = await strategies.config('quote');
        const fee = toCents(computeFee(amount, payout));
        const spread = percentOf(cents, quote.spread_percent || 0);
        return [200, {
          amount: fromCents(cents),
          currency,
          fee: fromCents(fee),
          spread: fromCents(spread),
          net: fromCents(Math.max(0, cents - fee - spread)),
        }];
      },
    },
    '/error-drill': {
      POST: async (url, req) => {
        if (!hasServiceToken(req, serviceToken)) return [403, { error: 'a valid X-Service-Token header is required' }];
        throw new ErrorDrill('error drill in a node-api handler');
      },
    },
  };

  async function handle(req, res, url, requestId) {
    const started = Date.now();
    let status = 500;
    try {
      const route = routes[url.pathname.replace(/\/+$/, '') || '/'];
      const handler = route && (route[req.method] || (req.method === 'HEAD' && route.GET));
      if (!route) {
        status = 404;
        sendJson(res, status, { error: 'not found' });
      } else if (!handler) {
        status = 405;
        res.setHeader('Allow', Object.keys(route).concat(route.GET ? ['HEAD'] : []).join(', '));
        sendJson(res, status, { error: 'method not allowed' });
      } else {
        const [code, body] = await handler(url, req);
        status = code;
        sendJson(res, status, body);
      }
    } catch (err) {
      if (err instanceof DjangoError) {
        // Django unreachable or misbehaving: we are a gateway here.
        status = 502;
        log.warn('upstream error', { path: url.pathname, error: err.message });
        sendJson(res, status, { error: 'upstream unavailable' });
      } else {
        // A bug (or the drill): reported, answered, and the service goes on.
        status = 500;
        log.error('handler error', { path: url.pathname, error: String(err && err.stack ? err.stack : err) });
        sentry.captureException(err, { tags: { request_id: requestId, path: url.pathname } });
        sendJson(res, status, { error: 'internal error' });
      }
    }
    log.info('request', { method: req.method, path: url.pathname, status, ms: Date.now() - started, request_id: requestId });
  }

  return http.createServer((req, res) => {
    const requestId = validRequestId(req.headers['x-request-id']) || newRequestId();
    res.setHeader(REQUEST_ID_HEADER, requestId);
    let url;
    try {
      url = new URL(req.url, 'http://localhost');
    } catch (err) {
      // e.g. "GET //": thrown here it would end the process.
      sendJson(res, 400, { error: 'bad request target' });
      log.info('request', { method: req.method, path: null, status: 400, ms: 0, request_id: requestId });
      return undefined;
    }
    return withRequestId(requestId, () => handle(req, res, url, requestId));
  });
}

module.exports = { createApiServer, ErrorDrill };
