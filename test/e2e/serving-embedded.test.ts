import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { servingSuite } from './serving.suite.ts';

servingSuite('embedded stores (memory + PGlite)', async () => ({ online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() }));
