/**
 * The JavaScript every sandbox context runs before any transform: it takes away the clock and randomness,
 * freezes the built-ins (so one transform cannot change what another sees: prototype pollution throws),
 * and defines the batch runner the host calls, once per batch, never once per row.
 *
 * The batch protocol is columnar JSON, one string each way (strings cross the isolate boundary in one
 * copy, and JSON.parse inside V8 is fast):
 *
 *   plan (registered once):  [{ view, transform, inputs: [view], request, outputs: [[name, scalar, list, nullable]] }]
 *   batch in:   { n, asOf: [T], skip: [[step, row]], request: { field: [v] }, views: { view: { feature: [v] } } }
 *   batch out:  { values: { view: { feature: [v] } }, errors: [[step, row, message]] }
 *
 * `skip` names cells that killed an isolate before: they are not run again, and neither are the later
 * steps that read them. Neither reports an error here: the host already knows the first, and fails the
 * dependents of every failed cell itself (plan.dependents), whatever the cause.
 *
 * Values are JSON values: numbers (timestamps as epoch ms), strings, booleans, null, lists, objects.
 * `progress` records the step and row being computed, so that when the host stops a call that ran out of
 * time it can name the row that did it.
 */
export const RUNTIME_SOURCE = String.raw`
'use strict';
(() => {
  const g = globalThis;
  const refuse = (what) => () => { throw new Error(what + ' is not available in a transform: it would make the result depend on when or where it runs; use row.asOf (T, epoch ms)'); };
  const SafeDate = function Date() { return refuse('Date')(); };
  SafeDate.now = refuse('Date.now()');
  SafeDate.parse = refuse('Date.parse()');
  SafeDate.UTC = refuse('Date.UTC()');
  Object.defineProperty(g, 'Date', { value: SafeDate, writable: false, configurable: false, enumerable: false });
  Object.defineProperty(Math, 'random', { value: refuse('Math.random()'), writable: false, configurable: false });
  for (const name of ['Intl', 'WebAssembly', 'SharedArrayBuffer', 'Atomics', 'Temporal', 'FinalizationRegistry', 'WeakRef']) delete g[name];

  const intrinsics = [Object, Function, Array, String, Number, Boolean, Symbol, BigInt, Math, JSON, Reflect, RegExp,
    Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, Map, Set, WeakMap, WeakSet,
    Promise, ArrayBuffer, DataView, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
    Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array, SafeDate];
  const typedArray = Object.getPrototypeOf(Int8Array);
  const more = [typedArray, Object.getPrototypeOf(function* () {}), Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf([][Symbol.iterator]()), Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()))];
  for (const c of [...intrinsics, ...more]) {
    Object.freeze(c);
    if (c.prototype) Object.freeze(c.prototype);
  }

  const fns = new Map();
  const plans = new Map();
  const progress = { step: -1, row: -1 };

  const describe = (v) => v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v;
  const scalarOk = (scalar, v) => {
    switch (scalar) {
      case 'Float': return typeof v === 'number' && Number.isFinite(v);
      case 'Int': return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;
      case 'Boolean': return typeof v === 'boolean';
      case 'String': case 'ID': return typeof v === 'string';
      case 'DateTime': return Number.isSafeInteger(v);
      case 'JSON': return v !== undefined && typeof v !== 'function' && typeof v !== 'symbol' && typeof v !== 'bigint';
      default: return false;
    }
  };
  // The declared type of each output, checked here so a wrong value never leaves the sandbox.
  const checkOutput = (out, o) => {
    const [name, scalar, list, nullable] = o;
    if (!(name in out)) return 'did not return ' + name;
    const v = out[name];
    if (v === null) return nullable ? undefined : name + ' is declared non-null and was null';
    if (list) {
      if (!Array.isArray(v)) return name + ' must be a list of ' + scalar + ', got ' + describe(v);
      for (const e of v) if (e !== null && !scalarOk(scalar, e)) return name + ' must hold ' + scalar + ' values, got ' + describe(e);
      return undefined;
    }
    if (!scalarOk(scalar, v)) return name + ' must be ' + scalar + (scalar === 'DateTime' ? ' (epoch ms)' : '') + ', got ' + describe(v) + (typeof v === 'number' && !Number.isFinite(v) ? ' (return null instead)' : '');
    return undefined;
  };

  const run = (planId, input) => {
    const plan = plans.get(planId);
    const batch = JSON.parse(input);
    const n = batch.n;
    const skip = new Set((batch.skip || []).map(([s, r]) => s + ':' + r));
    const views = batch.views;
    const failed = new Map();
    const errors = [];
    const values = {};
    plan.forEach((step, s) => {
      const fn = fns.get(step.transform);
      const cols = {};
      for (const o of step.outputs) cols[o[0]] = new Array(n).fill(null);
      const bad = new Set();
      for (let r = 0; r < n; r++) {
        if (skip.has(s + ':' + r) || step.inputs.some((v) => failed.get(v)?.has(r))) { bad.add(r); continue; }
        const row = { asOf: batch.asOf[r] };
        if (step.request) {
          const req = {};
          for (const f in batch.request) req[f] = batch.request[f][r];
          row.request = req;
        }
        for (const v of step.inputs) {
          const src = views[v];
          const obj = {};
          for (const f in src) obj[f] = src[f][r];
          row[v] = obj;
        }
        progress.step = s;
        progress.row = r;
        let out;
        try {
          out = fn(row);
        } catch (e) {
          bad.add(r);
          errors.push([s, r, 'threw ' + (e && e.message !== undefined ? String(e.message) : String(e))]);
          continue;
        }
        if (out === null || typeof out !== 'object' || Array.isArray(out)) { bad.add(r); errors.push([s, r, 'returned ' + describe(out) + ', not an object of outputs']); continue; }
        let problem;
        for (const o of step.outputs) if ((problem = checkOutput(out, o)) !== undefined) break;
        if (problem === undefined) for (const k of Object.keys(out)) if (!(k in cols)) { problem = 'returned ' + k + ', which the view does not declare'; break; }
        if (problem !== undefined) { bad.add(r); errors.push([s, r, problem]); continue; }
        for (const o of step.outputs) cols[o[0]][r] = out[o[0]];
      }
      progress.step = -1;
      failed.set(step.view, bad);
      views[step.view] = cols;
      values[step.view] = cols;
    });
    return JSON.stringify({ values, errors });
  };

  let sealed = false;
  const api = {
    register(name, fn) {
      if (sealed) throw new Error('transforms are registered by the host at start-up only');
      if (typeof fn !== 'function') throw new Error('transform ' + name + ' does not default-export a function');
      fns.set(name, fn);
    },
    // After start-up: nothing can register, and the global object is frozen, so no transform can leave
    // state or replacements where another (or its own next call) would find them.
    seal() {
      sealed = true;
      Object.freeze(g);
    },
    plan(id, steps) { plans.set(id, JSON.parse(steps)); },
    hasPlan(id) { return plans.has(id); },
    run,
    progress,
  };
  Object.defineProperty(g, '__skewless', { value: Object.freeze(api), writable: false, configurable: false, enumerable: false });
})();
`;
