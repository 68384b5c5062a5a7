/**
 * The JavaScript every sandbox context runs before any transform: it takes away the clock and randomness,
 * freezes every built-in reachable (so one transform cannot change what another sees: prototype pollution throws),
 * and defines the batch runner the host calls, once per batch, never once per row.
 *
 * The batch protocol is columnar, one call per batch: in, a JSON header and one Float64Array; out, the
 * same two. Each column of n values is referred to by a number k, meaning numbers[k*n .. k*n+n) (NaN
 * for null), or by its values inline in the header when they are not all numbers (wire.ts has the
 * host's half). A typed array crosses the boundary as one copy of its bytes, a string likewise; an
 * object would go through the structured clone, which costs more than the rest of a small call. A
 * small batch is not packed: every column is inline, and the header alone travels each way.
 *
 *   plan (registered once):  [{ view, transform, inputs: [view], request, outputs: [[name, scalar, list, nullable]] }]
 *   batch in:   { n, packed, asOf: col, skip: [[step, row]], request: { field: col }, views: { view: { feature: col } } }, numbers
 *   batch out:  [numbers, { values: [[col per output] per step], errors: [[step, row, message]] }], or the header alone
 *
 * `skip` names cells that killed an isolate before: they are not run again, and neither are the later
 * steps that read them. Neither reports an error here: the host already knows the first, and fails the
 * dependents of every failed cell itself (plan.dependents), whatever the cause.
 *
 * Values are JSON values, whichever way they travel: numbers (timestamps as epoch ms), strings, booleans,
 * null, lists, objects. A list or JSON output is copied through JSON (and frozen) as it is checked, so what
 * was checked is what leaves: a toJSON, getter, Proxy or cycle cannot change or break it afterwards, and
 * a later step reading it cannot change it either.
 *
 * Nothing of the runtime is reachable from a transform: the script's value is its API, which only the host
 * holds (no global names it), and the global object is frozen before any transform's module code runs, so
 * no transform can replace a global another one uses, register over another, or rewrite a plan.
 * `progress` records the step and row being computed, so that when the host stops a call that ran out of
 * time it can name the row that did it.
 */
export const RUNTIME_SOURCE = String.raw`
'use strict';
(() => {
  const g = globalThis;
  // The built-ins the runtime calls, taken now and held here: nothing a transform does to the global
  // object (frozen below, before any transform loads) can swap them.
  const { Array, Float64Array, JSON, Map, Number, Object, Set, String } = g;
  const refuse = (what) => () => { throw new Error(what + ' is not available in a transform: it would make the result depend on when or where it runs; use row.asOf (T, epoch ms)'); };
  const SafeDate = function Date() { return refuse('Date')(); };
  SafeDate.now = refuse('Date.now()');
  SafeDate.parse = refuse('Date.parse()');
  SafeDate.UTC = refuse('Date.UTC()');
  Object.defineProperty(g, 'Date', { value: SafeDate, writable: false, configurable: false, enumerable: false });
  Object.defineProperty(Math, 'random', { value: refuse('Math.random()'), writable: false, configurable: false });
  // console too: V8's own, which writes nowhere here, but a transform has no business with it.
  for (const name of ['Intl', 'WebAssembly', 'SharedArrayBuffer', 'Atomics', 'Temporal', 'FinalizationRegistry', 'WeakRef', 'console']) delete g[name];
  // RegExp.$1, lastMatch and the rest carry the previous match from one call (or row) into the next.
  for (const key of Reflect.ownKeys(RegExp)) if (typeof key === 'string' && /^(\$.*|input|lastMatch|lastParen|leftContext|rightContext)$/.test(key)) delete RegExp[key];

  // Every built-in a transform can reach, frozen: from the global object, and from the objects whose
  // prototypes no global names (generator, async and iterator prototypes). A list of names would miss the
  // ones each V8 adds (Iterator, DisposableStack, Float16Array, …), and one left open is shared state.
  const hardened = new Set();
  const harden = (o) => {
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || hardened.has(o)) return;
    hardened.add(o);
    Object.freeze(o);
    harden(Object.getPrototypeOf(o));
    for (const key of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key);
      if ('value' in d) harden(d.value);
      else {
        harden(d.get);
        harden(d.set);
      }
    }
  };
  const hidden = [function* () {}, async function () {}, async function* () {}, [][Symbol.iterator](), new Map().entries(), new Set().values(),
    ''[Symbol.iterator](), /x/[Symbol.matchAll]('x'), (function* () {})(), (async function* () {})()];
  if (typeof Iterator === 'function') hidden.push([].values().map((x) => x), Iterator.from({ next: () => ({ done: true }) }));
  for (const o of hidden) harden(o);
  // The global object last of all (and only after Date and the deletions above).
  const freezeGlobals = () => harden(g);

  const fns = new Map();
  const plans = new Map();
  const progress = { step: -1, row: -1 };

  // A thrown value's message, whatever was thrown: reading it must not throw in turn (a getter, a Proxy,
  // a toString that throws), or the whole batch would fail instead of the row. Bounded in length.
  const MAX_MESSAGE = 500;
  const messageOf = (e) => {
    let text;
    try {
      text = e !== null && (typeof e === 'object' || typeof e === 'function') && e.message !== undefined ? String(e.message) : String(e);
    } catch {
      return 'a value whose message cannot be read';
    }
    return text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE) + '…' : text;
  };
  const deepFreeze = (v) => {
    if (v !== null && typeof v === 'object') {
      for (const k of Object.keys(v)) deepFreeze(v[k]);
      Object.freeze(v);
    }
    return v;
  };
  // At most this many characters in one output value. A string is measured before anything reads its
  // characters: one built far larger than the isolate's heap (by repeat or concatenation, which V8 keeps
  // unflattened) is flattened in one allocation when it is serialised, and that can abort the whole
  // process instead of failing the isolate (isolated-vm's security notes; docs/transforms.md).
  const MAX_VALUE_CHARS = 1000000;
  const tooLong = (name, length) => name + ' is ' + length + ' characters long; an output value may have at most ' + MAX_VALUE_CHARS;
  // A list or JSON output as the JSON it will travel as: plain, frozen data, or why it cannot be.
  const plainCopy = (name, v) => {
    if (v === null || typeof v !== 'object') return { v };
    try {
      const text = JSON.stringify(v);
      if (text !== undefined && text.length > MAX_VALUE_CHARS) return { problem: tooLong(name, text.length) };
      return { v: text === undefined ? undefined : deepFreeze(JSON.parse(text)) };
    } catch (e) {
      return { problem: name + ' is not a JSON value: ' + messageOf(e) };
    }
  };

  const describe = (v) => v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v;
  // Whether one value is of a declared scalar type: chosen once per output, not once per value.
  const scalarCheck = (scalar) => {
    switch (scalar) {
      case 'Float': return (v) => typeof v === 'number' && Number.isFinite(v);
      case 'Int': return (v) => Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;
      case 'Boolean': return (v) => typeof v === 'boolean';
      case 'String': case 'ID': return (v) => typeof v === 'string';
      case 'DateTime': return (v) => Number.isSafeInteger(v);
      case 'JSON': return (v) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol' && typeof v !== 'bigint';
      default: return () => false;
    }
  };
  // The declared type of an output, checked here so a wrong value never leaves the sandbox: what is
  // wrong with v (out[name]), or undefined.
  const outputCheck = ([name, scalar, list, nullable]) => {
    const ok = scalarCheck(scalar);
    return (v) => {
      if (v === null) return nullable ? undefined : name + ' is declared non-null and was null';
      if (v === undefined) return name + ' must be ' + (list ? 'a list of ' : '') + scalar + ', got undefined';
      if (list) {
        if (!Array.isArray(v)) return name + ' must be a list of ' + scalar + ', got ' + describe(v);
        for (const e of v) if (e !== null && !ok(e)) return name + ' must hold ' + scalar + ' values, got ' + describe(e);
        return undefined;
      }
      if (!ok(v)) return name + ' must be ' + scalar + (scalar === 'DateTime' ? ' (epoch ms)' : '') + ', got ' + describe(v) + (typeof v === 'number' && !Number.isFinite(v) ? ' (return null instead)' : '');
      return undefined;
    };
  };

  // A column as the host refers to it: a block of the batch's numbers (NaN for null), or its values.
  // Either way cell() reads a value: JSON has no NaN, and a number output column (read by a later step)
  // holds NaN only where its value is null.
  const columnOf = (ref, numbers, n) => (typeof ref === 'number' ? new Float64Array(numbers.buffer, numbers.byteOffset + ref * n * 8, n) : ref);
  const columnsOf = (refs, numbers, n) => {
    const out = {};
    for (const name of Object.keys(refs)) out[name] = columnOf(refs[name], numbers, n);
    return out;
  };
  const cell = (column, r) => {
    const v = column[r];
    return v !== v ? null : v;
  };
  // One input of a row: a new object per row and view, so a transform cannot see another row's values.
  const fieldsOf = (columns, r) => {
    const obj = {};
    for (const name in columns) obj[name] = cell(columns[name], r);
    return obj;
  };

  // Outputs that go back as numbers: Float, Int and DateTime (checked finite, so NaN can mark null) are
  // written straight into their block; Booleans are kept as booleans for later steps and written at the
  // end as 1 and 0. The others go back as JSON values.
  const NUMBERS = new Set(['Float', 'Int', 'DateTime']);
  const isNumbers = (o) => !o[2] && NUMBERS.has(o[1]);
  const isBooleans = (o) => !o[2] && o[1] === 'Boolean';
  const encodeOutputs = (step, cols, blocks, out, n) =>
    step.outputs.map((o, k) => {
      const block = blocks[k];
      if (block === -1) return cols[o[0]];
      if (isBooleans(o)) {
        const column = cols[o[0]];
        for (let r = 0; r < n; r++) out[block * n + r] = column[r] === null ? NaN : column[r] ? 1 : 0;
      }
      return block;
    });

  // A registered plan, with what running it needs worked out once: per step, its output checks and
  // which outputs are numbers; and where each output goes in a packed batch: [block index, or -1 for
  // inline, per output] per step, out of 'blocks' blocks. (Unpacked, every output goes inline, as the
  // host sent every input.)
  const preparePlan = (steps) => {
    let blocks = 0;
    const refs = steps.map((step) => step.outputs.map((o) => (isNumbers(o) || isBooleans(o) ? blocks++ : -1)));
    const inline = steps.map((step) => step.outputs.map(() => -1));
    const plain = (o) => o[2] || o[1] === 'JSON';
    return { steps: steps.map((step) => ({ ...step, checks: step.outputs.map(outputCheck), numbers: step.outputs.map(isNumbers), plain: step.outputs.map(plain) })), refs, inline, blocks };
  };

  // Rows of step s not to run: cells that killed an isolate before, and rows where a view it reads failed.
  const blockedRows = (step, s, skip, failed) => {
    const sets = [];
    const skipped = skip.length === 0 ? undefined : new Set(skip.filter(([at]) => at === s).map(([, r]) => r));
    if (skipped !== undefined && skipped.size > 0) sets.push(skipped);
    for (const v of step.inputs) {
      const rows = failed.get(v);
      if (rows !== undefined && rows.size > 0) sets.push(rows);
    }
    return sets;
  };

  // What is wrong with a transform's answer (undefined: nothing); if nothing, its outputs are stored in columns.
  const takeOutputs = (out, step, cols, columns, direct, r, values) => {
    if (out === null || typeof out !== 'object' || Array.isArray(out)) return 'returned ' + describe(out) + ', not an object of outputs';
    const { outputs, checks, plain } = step;
    // Each output read once (into values, the step's scratch array): a getter or Proxy answering
    // differently on a second read changes nothing.
    for (let k = 0; k < outputs.length; k++) {
      const name = outputs[k][0];
      if (!(name in out)) return 'did not return ' + name;
      let v = out[name];
      if (typeof v === 'string' && v.length > MAX_VALUE_CHARS) return tooLong(name, v.length);
      if (plain[k]) {
        const copied = plainCopy(name, v);
        if (copied.problem !== undefined) return copied.problem;
        v = copied.v;
      }
      const problem = checks[k](v);
      if (problem !== undefined) return problem;
      values[k] = v;
    }
    for (const key of Object.keys(out)) if (!(key in cols)) return 'returned ' + key + ', which the view does not declare';
    for (let k = 0; k < outputs.length; k++) {
      const v = values[k];
      if (direct[k]) columns[k][r] = v === null ? NaN : v;
      else columns[k][r] = v;
    }
    return undefined;
  };

  // blocks: per output, the block of the batch's answer it goes to (packed only), filled with NaN (null).
  const runStep = (step, s, batch, views, failed, errors, packed, blocks) => {
    const n = batch.n;
    const fn = fns.get(step.transform);
    // Number outputs of a packed batch are written straight into their block (unpacked: none).
    const direct = packed ? step.numbers : [];
    // Keyed by output name: 'key in cols' is how an undeclared output is found.
    const cols = {};
    const columns = [];
    for (let k = 0; k < step.outputs.length; k++) {
      columns.push(direct[k] ? blocks[k] : new Array(n).fill(null));
      cols[step.outputs[k][0]] = columns[k];
    }
    const blocked = blockedRows(step, s, batch.skip, failed);
    const scratch = new Array(step.outputs.length);
    const bad = new Set();
    for (let r = 0; r < n; r++) {
      if (blocked.length > 0 && blocked.some((rows) => rows.has(r))) { bad.add(r); continue; }
      const row = { asOf: cell(batch.asOf, r) };
      if (step.request) row.request = fieldsOf(batch.request, r);
      for (const v of step.inputs) row[v] = fieldsOf(views[v] || {}, r);
      progress.step = s;
      progress.row = r;
      let problem;
      try {
        problem = takeOutputs(fn(row), step, cols, columns, direct, r, scratch);
      } catch (e) {
        problem = 'threw ' + messageOf(e);
      }
      if (problem !== undefined) {
        bad.add(r);
        errors.push([s, r, problem]);
      }
    }
    progress.step = -1;
    failed.set(step.view, bad);
    return cols;
  };

  const run = (planId, headerJson, inputNumbers) => {
    const plan = plans.get(planId);
    const header = JSON.parse(headerJson);
    const { n, packed } = header;
    // Unpacked, every column is already its values.
    const columns = packed ? (refs) => columnsOf(refs, inputNumbers, n) : (refs) => refs;
    const batch = { n, asOf: columnOf(header.asOf, inputNumbers, n), skip: header.skip, request: columns(header.request) };
    const views = {};
    for (const v of Object.keys(header.views)) views[v] = columns(header.views[v]);
    // The answer's numbers. Typed arrays cost more than a small batch's whole call: none unless packed.
    const refs = packed ? plan.refs : plan.inline;
    const numbers = packed ? new Float64Array(plan.blocks * n).fill(NaN) : undefined;
    const blocksOf = (s) => (packed ? refs[s].map((block) => (block === -1 ? undefined : new Float64Array(numbers.buffer, block * n * 8, n))) : []);
    const failed = new Map();
    const errors = [];
    const values = [];
    plan.steps.forEach((step, s) => {
      const cols = runStep(step, s, batch, views, failed, errors, packed, blocksOf(s));
      // A later step reads this one's columns as they are.
      views[step.view] = cols;
      values.push(encodeOutputs(step, cols, refs[s], numbers, n));
    });
    const out = JSON.stringify({ values, errors });
    return packed ? [numbers, out] : out;
  };

  let sealed = false;
  const api = {
    register(name, fn) {
      if (sealed) throw new Error('transforms are registered by the host at start-up only');
      if (typeof fn !== 'function') throw new Error('transform ' + name + ' does not default-export a function');
      fns.set(name, fn);
    },
    // After start-up nothing can register.
    seal() {
      sealed = true;
    },
    plan(id, steps) { plans.set(id, preparePlan(JSON.parse(steps))); },
    hasPlan(id) { return plans.has(id); },
    run,
    progress,
  };
  // Before any transform's module code runs: no transform can leave state or replacements in the global
  // object where another (or its own next call) would find them. A module that tries fails to load.
  freezeGlobals();
  // The script's value, for the host alone.
  return Object.freeze(api);
})();
`;
