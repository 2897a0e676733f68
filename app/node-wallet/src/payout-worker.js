'use strict';
// Reliable queue consumer: BLMOVE moves each item atomically from the shared
// queue into this worker's processing list; it is removed from there only
// after Django has the final result. Items left there by a crash are put
// back on the queue at the next start.

const { simulatePayout } = require('./money');
const { validRequestId, withRequestId } = require('./request-id');

// Stands in for src/sentry.js where none is given (tests).
const NO_SENTRY = { captureException() {}, captureMessage() {} };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class PayoutWorker {
  constructor({ redis, blocking, django, strategies, config, log, sentry = NO_SENTRY }) {
    this.redis = redis; // regular commands
    this.blocking = blocking; // dedicated connection for BLMOVE
    this.django = django;
    this.strategies = strategies;
    this.config = config;
    this.log = log;
    this.sentry = sentry;
    this.stopping = false;
    this.processed = 0;
  }

  async recover() {
    let moved = 0;
    // RIGHT -> RIGHT: recovered items are taken first again.
    while (await this.redis.lMove(this.config.processingKey, this.config.queueKey, 'RIGHT', 'RIGHT')) moved += 1;
    if (moved) this.log.warn('requeued items left by a previous run', { count: moved });
  }

  async run() {
    await this.recover();
    this.log.info('waiting for payouts', { queue: this.config.queueKey, processing: this.config.processingKey });
    let failures = 0;
    while (!this.stopping) {
      let raw;
      try {
        raw = await this.blocking.blMove(
          this.config.queueKey, this.config.processingKey, 'RIGHT', 'LEFT', this.config.payoutPollSeconds,
        );
        failures = 0;
      } catch (err) {
        // Redis restarting: the client reconnects by itself; give up (exit,
        // let systemd restart us) only if it stays down.
        failures += 1;
        if (failures > 30) throw err;
        this.log.warn('redis unavailable, retrying', { error: err.message, failures });
        await sleep(this.config.retryDelayMs);
        continue;
      }
      if (!raw) continue;
      const done = await this.handle(raw);
      if (done) {
        await this.redis.lRem(this.config.processingKey, 1, raw);
      } else {
        // Django unreachable: give the item back and back off.
        await this.redis.multi().lRem(this.config.processingKey, 1, raw).rPush(this.config.queueKey, raw).exec();
        await sleep(this.config.retryDelayMs);
      }
    }
  }

  stop() {
    this.stopping = true;
  }

  async report(id, result) {
    let lastError;
    for (let attempt = 1; attempt <= this.config.reportRetries; attempt += 1) {
      try {
        return await this.django.reportPayout(id, result);
      } catch (err) {
        if (err.status >= 400 && err.status < 500) throw err; // will not get better
        lastError = err;
        this.log.warn('report failed, retrying', { payout: id, attempt, error: err.message });
        await sleep(this.config.retryDelayMs * attempt);
      }
    }
    throw lastError;
  }

  // true: item finished (remove it); false: retry later.
  async handle(raw) {
    let message;
    try {
      message = JSON.parse(raw);
      if (!message || message.id === undefined) throw new Error('no id');
    } catch (err) {
      this.log.error('dropping malformed queue item', { item: raw.slice(0, 200), error: err.message });
      return true;
    }
    // The id of the request that created the payout (Django puts it in the
    // item): our log lines and reports to Django carry it.
    const requestId = validRequestId(message.request_id);
    return requestId ? withRequestId(requestId, () => this.process(message)) : this.process(message);
  }

  async process(message) {
    const id = message.id;
    try {
      await this.report(id, { status: 'processing', worker: this.config.workerId });
    } catch (err) {
      if (err.status === 409 || err.status === 404) {
        this.log.info('payout already final or gone, skipping', { payout: id, status: err.status });
        return true;
      }
      this.log.error('cannot reach Django', { payout: id, error: err.message });
      return false;
    }
    let result;
    let workerError = null;
    try {
      const config = await this.strategies.config('payout');
      if (config.processing_delay_ms) await sleep(Math.min(Number(config.processing_delay_ms) || 0, 10000));
      result = simulatePayout(message, config, this.config.workerId);
    } catch (err) {
      workerError = err;
      result = { status: 'failed', error: `worker error: ${err.message}`, worker: this.config.workerId };
    }
    try {
      await this.report(id, result);
    } catch (err) {
      if (err.status === 409) {
        this.log.warn('payout finished elsewhere', { payout: id });
        return true;
      }
      this.log.error('result not delivered, will retry', { payout: id, error: err.message });
      return false;
    }
    this.processed += 1;
    this.log.info('payout processed', { payout: id, status: result.status, fee: result.fee, tx_id: result.tx_id });
    if (result.status === 'failed') {
      // Reported once Django has the result: a retried item is not counted twice.
      const context = { tags: { payout_id: String(id) }, extra: { error: result.error } };
      if (workerError) this.sentry.captureException(workerError, context);
      else this.sentry.captureMessage('payout failed', { ...context, level: 'warning' });
    }
    return true;
  }
}

module.exports = { PayoutWorker };
