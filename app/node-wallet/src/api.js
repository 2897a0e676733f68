'use strict';
// node-api: plain node:http server. nginx exposes it under /node/ and strips
// the prefix, so routes live at the root.

const http = require('node:http');
const { computeFee, fromCents, percentOf, toCents } = require('./money');
const { version } = require('../package.json');

function sendJson(res, status, body) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
    'Cache-Control': 'no-store',
  });
  res.end(payload);
}

function createApiServer({ strategies, log }) {
  const routes = {
    '/healthz': async () => [200, { status: 'ok' }],
    '/version': async () => [200, { service: 'node-api', version }],
    '/strategies': async () => {
      const all = await strategies.get();
      return [200, { strategies: Object.values(all) }];
    },
    '/quote': async (url) => {
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
  };

  return http.createServer(async (req, res) => {
    const started = Date.now();
    const url = new URL(req.url, 'http://localhost');
    let status = 500;
    try {
      const route = routes[url.pathname.replace(/\/+$/, '') || '/'];
      if (!route) {
        status = 404;
        sendJson(res, status, { error: 'not found' });
      } else if (req.method !== 'GET' && req.method !== 'HEAD') {
        status = 405;
        res.setHeader('Allow', 'GET, HEAD');
        sendJson(res, status, { error: 'method not allowed' });
      } else {
        const [code, body] = await route(url);
        status = code;
        sendJson(res, status, body);
      }
    } catch (err) {
      // Django unreachable or misbehaving: we are a gateway here.
      status = 502;
      log.warn('upstream error', { path: url.pathname, error: err.message });
      sendJson(res, status, { error: 'upstream unavailable' });
    }
    log.info('request', { method: req.method, path: url.pathname, status, ms: Date.now() - started });
  });
}

module.exports = { createApiServer };
