'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { toCents, fromCents, computeFee, simulatePayout, simulatedDeposit } = require('../src/money');

test('amounts convert to and from integer cents exactly', () => {
  assert.equal(toCents('12.3'), 1230);
  assert.equal(toCents('0.07'), 7);
  assert.equal(fromCents(1230), '12.30');
  assert.equal(fromCents(5), '0.05');
  assert.throws(() => toCents('1.234'));
  assert.throws(() => toCents('abc'));
});

test('fee is the percentage with a minimum', () => {
  assert.equal(computeFee('100.00', { fee_percent: '0.5', fee_min: '0.10' }), '0.50');
  assert.equal(computeFee('1.00', { fee_percent: '0.5', fee_min: '0.10' }), '0.10');
  assert.equal(computeFee('10.00', {}), '0.00');
});

test('simulated payout is paid with a deterministic transaction id', () => {
  const message = { id: 7, amount: '50.00', currency: 'EUR', destination: 'DE89370400440532013000' };
  const first = simulatePayout(message, { fee_percent: '1' }, 'w1');
  const second = simulatePayout(message, { fee_percent: '1' }, 'w1');
  assert.equal(first.status, 'paid');
  assert.equal(first.fee, '0.50');
  assert.match(first.tx_id, /^sim-[0-9a-f]{24}$/);
  assert.equal(first.tx_id, second.tx_id);
});

test('simulated payout fails for FAIL destinations and amounts above the limit', () => {
  assert.equal(simulatePayout({ id: 1, amount: '5.00', destination: 'FAIL-1' }).status, 'failed');
  assert.equal(simulatePayout({ id: 2, amount: '5000.00', destination: 'X' }, { max_amount: '100' }).status, 'failed');
});

test('simulated deposits are stable per slot and within limits', () => {
  const a = simulatedDeposit(42, 'host', { sources: ['s1', 's2'], max_amount: '10.00', currency: 'USD' });
  const b = simulatedDeposit(42, 'host', { sources: ['s1', 's2'], max_amount: '10.00', currency: 'USD' });
  const c = simulatedDeposit(43, 'host', { sources: ['s1', 's2'], max_amount: '10.00', currency: 'USD' });
  assert.deepEqual(a, b);
  assert.notEqual(a.tx_id, c.tx_id);
  assert.equal(a.currency, 'USD');
  assert.ok(toCents(a.amount) >= 100 && toCents(a.amount) <= 1000);
});
