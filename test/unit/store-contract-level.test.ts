// The store contract (test/helpers/store-contract.ts) on the embedded level backend.
import { after, before } from 'node:test';
import { join } from 'node:path';
import { LevelStore } from '../../ca/store.js';
import type { CaStore } from '../../ca/store/records.js';
import { storeContract } from '../helpers/store-contract.js';
import { tmpDir } from '../helpers/tmp.js';

let dir: Awaited<ReturnType<typeof tmpDir>>;
let n = 0;
before(async () => (dir = await tmpDir()));
after(() => dir.cleanup());

storeContract('level', {
  fresh: () => LevelStore.open(join(dir.path, `s${n++}`)),
  reopen: async (s: CaStore) => {
    const path = (s as LevelStore).path;
    await s.close();
    return LevelStore.open(path, { mustExist: true });
  },
});
