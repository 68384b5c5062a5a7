import { MemoryOnlineStore } from '../../src/stores/memory/online.ts';
import { onlineStoreContract } from './online-store.contract.ts';

// The embedded store is one process's memory: every "client" is the same store.
const shared = new MemoryOnlineStore();
onlineStoreContract('memory (embedded)', { open: async () => shared });
