/** mulberry32: a small deterministic PRNG, so a randomized test's draws are reproducible from its seed (the demo's own). */
export { seededRandom as random } from '../../src/demo/random.ts';
