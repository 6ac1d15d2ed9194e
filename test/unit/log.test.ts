// The JSON-lines logger on a real file descriptor: one line per event with the stable `event` field, and
// secret-named fields redacted at any depth up to 3 (while other fields pass through unchanged).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from '../helpers/tmp.js';
import { createLogger } from '../../shared/log.js';

test('secret-named fields are redacted, other fields kept, one JSON line per event', async () => {
  const dir = await tmpDir();
  try {
    const file = join(dir.path, 'log');
    const fd = openSync(file, 'w');
    const log = createLogger({ fd, base: { component: 'test' } });
    log.info('join.refused', { token: 'HTLS-1-abc-SECRET', source: '10.0.0.1', req: { join_token: 'SECRET', csr: 'ok', nested: { passphrase: 'SECRET' } } });
    log.warn('thing.happened', { secrets: { worker: 'SECRET', manager: 'SECRET' }, list: [{ keyPem: 'SECRET' }], at: new Date(0) });
    closeSync(fd);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('SECRET'), text);
    const [a, b] = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(a!.event, 'join.refused');
    assert.equal(a!.token, '[redacted]');
    assert.equal(a!.source, '10.0.0.1');
    assert.deepEqual(a!.req, { join_token: '[redacted]', csr: 'ok', nested: { passphrase: '[redacted]' } });
    assert.deepEqual(b!.secrets, '[redacted]');
    assert.deepEqual(b!.list, [{ keyPem: '[redacted]' }]);
    assert.equal(b!.at, '1970-01-01T00:00:00.000Z');
  } finally {
    await dir.cleanup();
  }
});
