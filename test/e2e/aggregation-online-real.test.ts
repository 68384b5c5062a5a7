import { aggregationOnlineSuite } from './aggregation-online.suite.ts';
import { realStores } from '../helpers/services.ts';

aggregationOnlineSuite('real stores (PostgreSQL, Redis)', realStores);
