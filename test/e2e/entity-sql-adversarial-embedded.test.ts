import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { pgliteOfflineStore } from '../../src/stores/pglite/offline.ts';
import { entitySqlAdversarialSuite } from './entity-sql-adversarial.suite.ts';

entitySqlAdversarialSuite('embedded stores (PGlite)', async () => ({ online: new MemoryOnlineStore(), offline: await pgliteOfflineStore() }));
