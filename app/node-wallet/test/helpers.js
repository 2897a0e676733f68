'use strict';
// Test helpers: a fake Django service API and child-process services.

const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const zlib = require('node:zlib');

const TOKEN = 'test-token-' + Math.random().toString(36).slice(2);

const STRATEGIES = [
  { name: 'payout', enabled: true, config: { fee_percent: '1.00', fee_min: '0.50', max_amount: '1000.00', processing_delay_ms: 10 } },
  { name: 'deposit-monitor', enabled: true, config: { sources: ['bank-sim'], currency: 'EUR', max_amount: '100.00' } },
  { name: 'quote', enabled: true, config: { spread_percent: '0.50' } },
];

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data ? JSON.parse(data) : null));
  });
}

// Records every service call; answers like Django's service API.
async function startFakeDjango({ finalPayouts = {}, strategies = STRATEGIES } = {}) {
  const calls = [];
  const payouts = { ...finalPayouts };
  const deposits = new Set();
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    calls.push({ method: req.method, url: req.url, body, token: req.headers['x-service-token'], requestId: req.headers['x-request-id'] });
    const send = (status, data) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(data));
    };
    if (req.headers['x-service-token'] !== TOKEN) return send(403, { detail: 'bad token' });
    if (req.method === 'GET' && req.url === '/api/service/strategies/') return send(200, strategies);
    const payoutMatch = /^\/api\/service\/payouts\/(\d+)\/result\/$/.exec(req.url);
    if (req.method === 'POST' && payoutMatch) {
      const id = payoutMatch[1];
      const current = payouts[id];
      if (current === 'paid' || current === 'failed') {
        return current === body.status ? send(200, { id, status: current }) : send(409, { status: current });
      }
      payouts[id] = body.status;
      return send(200, { id, status: body.status });
    }
    if (req.method === 'POST' && req.url === '/api/service/deposits/') {
      const known = deposits.has(body.tx_id);
      deposits.add(body.tx_id);
      return send(known ? 200 : 201, body);
    }
    return send(404, { detail: 'not found' });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, calls, payouts, close: () => new Promise((resolve) => server.close(resolve)) };
}

function pick(source, keys) {
  const out = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

// Starts `node services/<name>.js`; collects JSON log lines.
function startService(name, env) {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'services', `${name}.js`)], {
    // Only what the test gives, plus what the node binary itself may need.
    env: { PATH: process.env.PATH, ...pick(process.env, ['LD_LIBRARY_PATH', 'NODE_EXTRA_CA_CERTS']), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  let stderr = '';
  const onData = (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      try { lines.push(JSON.parse(line)); } catch (err) { lines.push({ raw: line }); }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', (chunk) => { stderr += chunk; onData(chunk); });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, lines, exited, stderr: () => stderr };
}

// Records what a Sentry SDK posts to /api/<project>/envelope/; `dsn`
// points an SDK at it.
async function startFakeSentry() {
  const envelopes = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      envelopes.push({ path: req.url, body: body.toString() });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  // The event items of the envelopes received so far.
  const events = () => envelopes.flatMap(({ body }) => {
    const lines = body.split('\n');
    const found = [];
    for (let i = 1; i + 1 < lines.length; i += 2) {
      if (JSON.parse(lines[i]).type === 'event') found.push(JSON.parse(lines[i + 1]));
    }
    return found;
  });
  return {
    dsn: `http://public@127.0.0.1:${server.address().port}/1`,
    envelopes,
    events,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function waitFor(predicate, { timeoutMs = 10000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function stopService(service, timeoutMs = 15000) {
  service.child.kill('SIGTERM');
  const timer = setTimeout(() => service.child.kill('SIGKILL'), timeoutMs);
  const result = await service.exited;
  clearTimeout(timer);
  return result;
}

module.exports = { TOKEN, STRATEGIES, startFakeDjango, startFakeSentry, startService, waitFor, stopService };
