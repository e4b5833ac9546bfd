import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdminCallError } from '@switchboard/admin';
import { asCliError, failureOf } from './admin-connection.js';
import { EXIT_CODES } from './exit-codes.js';

describe('failureOf', () => {
  it('maps each admin error code to the exit code that means the same', () => {
    assert.deepEqual([400, 404, 409, 422, 500, 503].map((code) => EXIT_CODES[failureOf(code)]), [4, 2, 4, 4, 5, 3]);
  });

  it('maps a code it does not know by its class', () => {
    assert.equal(failureOf(429), 'refused');
    assert.equal(failureOf(502), 'internal');
    assert.equal(failureOf(0), 'internal');
  });
});

describe('asCliError', () => {
  it('says that the cluster refused a bad request, and keeps other messages as they are', () => {
    const bad = asCliError(new AdminCallError(400, 'trunks[0].domain: expected a domain name'), 'the configuration');
    assert.equal(bad.message, 'the cluster refused the configuration: trunks[0].domain: expected a domain name');
    assert.equal(bad.exitCode, EXIT_CODES.refused);
    const missing = asCliError(new AdminCallError(404, 'no call 00000000ffffffff on any of 2 worker(s)'));
    assert.equal(missing.message, 'no call 00000000ffffffff on any of 2 worker(s)');
    assert.equal(missing.exitCode, EXIT_CODES['not-found']);
  });
});
