import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { paritySuite } from './parity.suite.ts';

paritySuite('embedded stores (memory, PGlite)', async () => ({ online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() }));
