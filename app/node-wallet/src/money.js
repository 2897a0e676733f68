'use strict';
// Money as integer cents: no floating point drift in fees and totals.

const crypto = require('node:crypto');

function toCents(value) {
  const text = String(value).trim();
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) throw new Error(`invalid amount ${JSON.stringify(value)}`);
  return Number(match[1]) * 100 + Number((match[2] || '0').padEnd(2, '0'));
}

function fromCents(cents) {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function percentOf(cents, percent) {
  return Math.round((cents * Number(percent)) / 100);
}

function computeFee(amount, config = {}) {
  const cents = toCents(amount);
  const fee = percentOf(cents, config.fee_percent || 0);
  const min = config.fee_min !== undefined ? toCents(config.fee_min) : 0;
  return fromCents(Math.max(fee, min));
}

// Simulated payout: deterministic transaction id, fails for destinations
// starting with "FAIL" (lets tests exercise the failure path).
function simulatePayout(message, config = {}, workerId = 'worker') {
  const amountCents = toCents(message.amount);
  if (String(message.destination || '').toUpperCase().startsWith('FAIL')) {
    return { status: 'failed', error: 'destination rejected by the simulated bank', worker: workerId };
  }
  if (config.max_amount !== undefined && amountCents > toCents(config.max_amount)) {
    return { status: 'failed', error: `amount above ${config.max_amount}`, worker: workerId };
  }
  const digest = crypto
    .createHash('sha256')
    .update(`${message.id}:${message.destination}:${message.amount}`)
    .digest('hex');
  return { status: 'paid', fee: computeFee(message.amount, config), tx_id: `sim-${digest.slice(0, 24)}`, worker: workerId };
}

// Deterministic-ish simulated deposit for a time slot: the same slot and
// host always give the same tx_id, so a retried report is not a new deposit.
function simulatedDeposit(slot, hostId, config = {}) {
  const sources = Array.isArray(config.sources) && config.sources.length ? config.sources : ['sim'];
  const source = sources[slot % sources.length];
  const txId = `dep-${source}-${hostId}-${slot}`;
  const digest = crypto.createHash('sha256').update(txId).digest();
  const maxCents = config.max_amount !== undefined ? toCents(config.max_amount) : 50000;
  const cents = 100 + (digest.readUInt32BE(0) % Math.max(1, maxCents - 100));
  return { tx_id: txId, amount: fromCents(cents), currency: config.currency || 'EUR', source };
}

module.exports = { toCents, fromCents, computeFee, simulatePayout, simulatedDeposit, percentOf };
