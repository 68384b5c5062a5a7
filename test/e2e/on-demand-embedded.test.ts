import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { onDemandSuite } from './on-demand.suite.ts';

onDemandSuite('embedded stores (memory, PGlite)', async () => ({ online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() }));
