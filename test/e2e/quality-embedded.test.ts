import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { qualitySuite } from './quality.suite.ts';

qualitySuite('embedded stores (PGlite)', async () => ({ online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() }));
