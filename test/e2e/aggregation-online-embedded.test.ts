import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { aggregationOnlineSuite } from './aggregation-online.suite.ts';

aggregationOnlineSuite('embedded stores (memory, PGlite)', async () => ({ online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() }));
