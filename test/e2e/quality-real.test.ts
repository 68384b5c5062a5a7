import { realStores } from '../helpers/services.ts';
import { qualitySuite } from './quality.suite.ts';

qualitySuite('real stores (PostgreSQL, Redis)', realStores);
