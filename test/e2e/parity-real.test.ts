import { realStores } from '../helpers/services.ts';
import { paritySuite } from './parity.suite.ts';

paritySuite('real stores (PostgreSQL, Redis)', realStores);
