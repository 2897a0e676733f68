'use strict';
// One JSON line per event on stdout (journald adds the timestamp).

const { currentRequestId } = require('./request-id');

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 };

function createLogger(service, level = process.env.LOG_LEVEL || 'info') {
  const threshold = LEVELS[String(level).toLowerCase()] || LEVELS.info;
  const write = (lvl, msg, fields) => {
    if (LEVELS[lvl] < threshold) return;
    const line = { level: lvl, service, msg, ...fields };
    // Lines logged while handling a request carry its id.
    const requestId = currentRequestId();
    if (requestId && line.request_id === undefined) line.request_id = requestId;
    const stream = lvl === 'error' ? process.stderr : process.stdout;
    stream.write(JSON.stringify(line) + '\n');
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
  };
}

module.exports = { createLogger };
