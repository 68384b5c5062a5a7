import { realStores } from '../helpers/services.ts';
import { entitySqlAdversarialSuite } from './entity-sql-adversarial.suite.ts';

entitySqlAdversarialSuite('real stores (PostgreSQL, Redis)', realStores);
