/** Paths tests share: the repository root and its fixtures. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(ROOT, 'test/fixtures');
export const EXAMPLE_DIRS = { schemaDir: path.join(ROOT, 'schema'), transformsDir: path.join(ROOT, 'transforms') };
