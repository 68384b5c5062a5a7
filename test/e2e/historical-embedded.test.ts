import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { historicalSuite } from './historical.suite.ts';

historicalSuite('embedded stores (PGlite)', async () => ({ online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() }), { cancelsStatements: false });
