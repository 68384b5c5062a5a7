/* global document, window, fetch, setInterval, Element, URLSearchParams */
/**
 * The Skewless dashboard (docs/dashboard.md): a plain client of this gateway's GraphQL API. Every figure
 * on the page is a field of `registry`, `freshness`, `parityReport` or `featureStats` as the API answered
 * it, so the page can never disagree with what a script or an alert reads.
 *
 * No framework and no build step: the gateway serves this file as written. The DOM is built with
 * createElement and text nodes only, never from HTML strings, so names and descriptions from the schema
 * and values from the stores cannot inject markup. Charts are inline SVG sized by attributes (the
 * Content-Security-Policy allows no inline style).
 *
 * Stable `data-*` attributes mark what a test or a scraper reads: `data-view`, `data-feature`, `data-ref`,
 * `data-field` (with the raw figure in `data-value`), `data-empty` and `data-error` for the empty and
 * error states, and `data-state` (`loading`, `ready`, `error`) with `data-loads` on #dashboard.
 */

/**
 * Timer refresh of freshness and parity, both cheap (freshness is read from the monitor's memory): every
 * 30 s, or every N s with `?refresh=N` (at least 1) for a wall screen.
 */
const REFRESH_MS = refreshMs(new URLSearchParams(window.location.search).get('refresh'));
/**
 * featureStats reads the offline store afresh on every call, and the figures move slowly (the gauges are
 * refreshed every 5 minutes by default): the timer asks for them every 10th refresh, the button always.
 */
const QUALITY_EVERY = 10;
/** Newest mismatches listed (parityReport's limit). */
const MISMATCHES = 20;
/** PSI readings (docs/data-quality.md): below 0.1 stable, 0.1 to 0.25 moderate, above major. */
const PSI_MODERATE = 0.1;
const PSI_MAJOR = 0.25;
/** PSI bars end here; a larger PSI fills the bar and its number says how large. */
const PSI_SCALE = 0.5;

const COUNTS = 'match mismatch missingOnline missingOffline skipped';
const QUERIES = {
  registry: 'query DashboardRegistry { registry { views { name kind description owner tags features { name ref type description } } } }',
  freshness: 'query DashboardFreshness { freshness { asOf checkedAt error views { view kind newestEventTime ageSeconds expectedFreshness expectedSeconds stale lag } } }',
  parity: `query DashboardParity($limit: Int) { parityReport(limit: $limit) { pending totals { ${COUNTS} } features { view feature counts { ${COUNTS} } } mismatches { view feature keys asOf onlineValue offlineValue } } }`,
  quality: 'query DashboardQuality { featureStats { view feature type window from to basis truncated count nulls nullRate drift { psi level values referenceAt referenceOrigin } } }',
};
const VARIABLES = { parity: { limit: MISMATCHES } };
const SECTION_NAMES = { registry: 'registry', freshness: 'freshness', parity: 'parity', quality: 'feature statistics' };

/** The gateway's GraphQL endpoint, relative to the page (/dashboard → /graphql), proxy prefixes included. */
const ENDPOINT = new URL('graphql', window.location.href).href;

/** What the API last answered, per query: `{ data }` or `{ error }`. */
const state = { registry: undefined, freshness: undefined, parity: undefined, quality: undefined, window: undefined, loads: 0, ticks: 0, busy: false };

const root = document.getElementById('dashboard');
const $ = (id) => document.getElementById(id);

function refreshMs(asked) {
  const seconds = Number(asked);
  return asked !== null && asked !== '' && Number.isFinite(seconds) && seconds >= 1 ? seconds * 1000 : 30_000;
}

// ---- talking to the API ------------------------------------------------------------------------------

/** One GraphQL operation; rejects with the API's own message and code when it refuses or fails. */
async function ask(name) {
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query: QUERIES[name], variables: VARIABLES[name] ?? {} }),
    });
  } catch (error) {
    throw new Error(`the gateway did not answer (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new Error(`HTTP ${response.status}: the answer was not JSON`);
  }
  const first = body?.errors?.[0] ?? body?.error;
  if (first !== undefined) {
    const code = first.extensions?.code ?? first.code;
    throw new Error(`${first.message ?? 'request failed'}${code === undefined ? '' : ` (${code})`}`);
  }
  if (!response.ok || body?.data == null) throw new Error(`HTTP ${response.status}: no data`);
  return body.data;
}

async function refresh({ everything }) {
  if (state.busy) return;
  state.busy = true;
  root.dataset.state = 'loading';
  $('refresh').disabled = true;
  const names = ['freshness', 'parity'];
  // The registry changes only with a new gateway (a new page load); statistics are costly (QUALITY_EVERY).
  if (everything || state.registry === undefined || 'error' in state.registry) names.push('registry');
  if (everything || state.quality === undefined || state.ticks % QUALITY_EVERY === 0) names.push('quality');
  const settled = await Promise.allSettled(names.map((name) => ask(name)));
  settled.forEach((result, i) => {
    state[names[i]] = result.status === 'fulfilled' ? { data: result.value } : { error: result.reason instanceof Error ? result.reason.message : String(result.reason) };
  });
  let failed = Object.keys(SECTION_NAMES).some((name) => state[name] !== undefined && 'error' in state[name]);
  try {
    render();
  } catch (error) {
    // A fault in the page itself must not leave it saying "loading" for ever: it is shown like a failed query.
    failed = true;
    $('errors').append(el('p', { class: 'error', 'data-error': 'page' }, `the page could not show the answers: ${error instanceof Error ? error.message : String(error)}`));
  }
  state.loads += 1;
  state.busy = false;
  $('refresh').disabled = false;
  root.dataset.loads = String(state.loads);
  root.dataset.state = failed ? 'error' : 'ready';
}

// ---- building DOM ------------------------------------------------------------------------------------

/** An element with attributes (null/undefined/false left out) and children (strings become text). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  setAttributes(node, attrs);
  node.append(...children);
  return node;
}

function setAttributes(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(key, value === true ? '' : String(value));
  }
}

/** A figure: its text for people, its raw value in data-value for tests and scrapers. */
const figure = (field, value, text, attrs = {}) => el('span', { 'data-field': field, 'data-value': value === null || value === undefined ? '' : String(value), ...attrs }, text);
const empty = (what, text) => el('p', { class: 'empty', 'data-empty': what }, text);
const failed = (what, message) => el('p', { class: 'error', 'data-error': what }, `${SECTION_NAMES[what]} unavailable: ${message}`);

/**
 * A horizontal bar: `value` of `max` filled, with thin marks at `marks` (thresholds, a declared
 * freshness). Values past `max` fill the bar.
 */
function bar({ value, max, marks = [], tone, label, width = 120, height = 10 }) {
  const x = (v) => Math.round(Math.min(Math.max(v / max, 0), 1) * width * 10) / 10;
  return svg(
    'svg',
    { class: 'bar', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label },
    svg('title', {}, label),
    svg('rect', { class: 'track', x: 0, y: 0, width, height }),
    svg('rect', { class: `fill ${tone}`, x: 0, y: 0, width: x(value), height }),
    ...marks.map((m) => svg('line', { class: 'mark', x1: x(m), x2: x(m), y1: 0, y2: height })),
  );
}

/** Stacked bar of parity outcomes, one segment per non-zero outcome. */
function stacked(segments, label, width = 160, height = 10) {
  const total = segments.reduce((sum, s) => sum + s.value, 0);
  let at = 0;
  const rects = segments
    .filter((s) => s.value > 0)
    .map((s) => {
      const w = (s.value / total) * width;
      const rect = svg('rect', { class: `fill ${s.tone}`, x: Math.round(at * 10) / 10, y: 0, width: Math.round(w * 10) / 10, height });
      at += w;
      return rect;
    });
  return svg('svg', { class: 'bar', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label }, svg('title', {}, label), svg('rect', { class: 'track', x: 0, y: 0, width, height }), ...rects);
}

// ---- formatting --------------------------------------------------------------------------------------

const percent = (x) => `${(x * 100).toFixed(1)}%`;
const psiText = (x) => x.toFixed(3);
const json = (v) => JSON.stringify(v);

function age(seconds) {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

const psiTone = (psi) => (psi > PSI_MAJOR ? 'bad' : psi >= PSI_MODERATE ? 'warn' : 'good');
const data = (name) => (state[name] !== undefined && 'data' in state[name] ? state[name].data : undefined);
const errorOf = (name) => (state[name] !== undefined && 'error' in state[name] ? state[name].error : undefined);

// ---- rendering ---------------------------------------------------------------------------------------

function render() {
  renderErrors();
  renderWindows();
  renderParitySummary();
  renderViews();
  renderCatalog();
  const asOf = data('freshness')?.freshness.asOf;
  $('updated').replaceChildren(`updated ${new Date().toISOString().slice(11, 19)} UTC`);
  $('updated').dataset.value = asOf ?? '';
}

function renderErrors() {
  $('errors').replaceChildren(...Object.keys(SECTION_NAMES).filter((name) => errorOf(name) !== undefined).map((name) => failed(name, errorOf(name))));
}

/** The statistics windows featureStats answered, in its order; the longest is shown first (below). */
function windows() {
  const stats = data('quality')?.featureStats ?? [];
  const seen = new Map();
  for (const s of stats) if (!seen.has(s.window)) seen.set(s.window, Date.parse(s.to) - Date.parse(s.from));
  return seen;
}

function renderWindows() {
  const found = windows();
  if (!found.has(state.window)) {
    // The longest window by default: the one a reference is captured from by default, and the least
    // noisy PSI (docs/data-quality.md).
    state.window = [...found].reduce((best, w) => (best === undefined || w[1] > best[1] ? w : best), undefined)?.[0];
  }
  $('windows').replaceChildren(
    ...[...found.keys()].map((label) => {
      const button = el('button', { type: 'button', 'data-window': label, 'aria-pressed': String(label === state.window) }, label);
      button.addEventListener('click', () => {
        state.window = label;
        renderWindows();
        renderViews();
      });
      return button;
    }),
  );
}

function renderParitySummary() {
  const target = $('parity-summary');
  const report = data('parity')?.parityReport;
  if (report === undefined) return target.replaceChildren();
  const t = report.totals;
  const judged = t.match + t.mismatch + t.missingOnline + t.missingOffline + t.skipped;
  if (judged === 0 && report.pending === 0) {
    return target.replaceChildren(empty('parity', 'No parity samples yet: the gateway samples --parity-sample-rate of online requests and judges them after --parity-settle.'));
  }
  target.replaceChildren(
    'Parity, all samples on record: ',
    figure('parity-verdicts', judged, `${judged} verdicts`),
    ', ',
    figure('parity-pending', report.pending, `${report.pending} samples waiting to be judged`),
    '.',
  );
}

function renderViews() {
  const list = $('view-list');
  const registry = data('registry')?.registry;
  if (registry === undefined) return list.replaceChildren(errorOf('registry') === undefined ? empty('views', 'loading…') : failed('registry', errorOf('registry')));
  if (registry.views.length === 0) return list.replaceChildren(empty('views', 'This gateway defines no feature views.'));
  list.replaceChildren(...registry.views.map(viewCard));
}

function viewCard(view) {
  const stored = view.kind !== 'ON_DEMAND';
  return el(
    'article',
    { class: 'view', 'data-view': view.name, 'data-kind': view.kind },
    el(
      'header',
      {},
      el('h3', {}, view.name),
      el('span', { class: 'kind' }, view.kind.toLowerCase().replace('_', '-')),
      view.owner === null ? null : el('span', { class: 'owner' }, 'owner ', figure('owner', view.owner, view.owner)),
      ...view.tags.map((tag) => el('span', { class: 'tag', 'data-field': 'tag' }, tag)),
    ),
    view.description === null ? null : el('p', { class: 'description' }, view.description),
    el('div', { class: 'blocks' }, freshnessBlock(view, stored), parityBlock(view)),
    stored ? qualityBlock(view) : el('div', { class: 'block', 'data-block': 'quality' }, empty('quality', 'Computed per request by a transform: nothing stored, so no statistics of its own.')),
  );
}

function freshnessBlock(view, stored) {
  const block = el('div', { class: 'block', 'data-block': 'freshness' }, el('h4', {}, 'Freshness'));
  if (!stored) return append(block, empty('freshness', 'Computed per request: no freshness of its own.'));
  const error = errorOf('freshness');
  if (error !== undefined) return append(block, failed('freshness', error));
  const report = data('freshness')?.freshness;
  const entry = report?.views.find((v) => v.view === view.name);
  if (report === undefined || entry === undefined) return append(block, empty('freshness', 'not reported'));
  if (report.checkedAt === null) return append(block, empty('freshness', 'Not read yet: the gateway reads freshness shortly after it starts.'));
  const ageText = entry.ageSeconds === null ? 'no value yet' : age(entry.ageSeconds);
  const chart =
    entry.ageSeconds !== null && entry.expectedSeconds !== null
      ? bar({ value: entry.ageSeconds, max: 2 * entry.expectedSeconds, marks: [entry.expectedSeconds], tone: entry.stale ? 'bad' : 'good', label: `age ${ageText} against ${entry.expectedFreshness}` })
      : null;
  return append(
    block,
    el(
      'dl',
      {},
      el('dt', {}, 'age'),
      el('dd', {}, figure('age', entry.ageSeconds, ageText, { title: entry.newestEventTime ?? '' }), chart),
      el('dt', {}, 'declared'),
      el('dd', {}, figure('expected-freshness', entry.expectedFreshness, entry.expectedFreshness ?? 'none declared')),
      el('dt', {}, 'status'),
      el('dd', {}, figure('stale', entry.stale, entry.stale ? 'STALE' : entry.expectedFreshness === null ? 'never stale (no freshness declared)' : 'fresh', { class: entry.stale ? 'bad' : 'good' })),
      entry.lag === null ? null : [el('dt', {}, 'lag'), el('dd', {}, figure('lag', entry.lag, `${entry.lag} messages`))],
    ),
    report.error === null ? null : el('p', { class: 'error', 'data-error': 'freshness-check' }, `last check failed, figures from the one before: ${report.error}`),
  );
}

function parityBlock(view) {
  const block = el('div', { class: 'block', 'data-block': 'parity' }, el('h4', {}, 'Online/offline parity'));
  const error = errorOf('parity');
  if (error !== undefined) return append(block, failed('parity', error));
  const report = data('parity')?.parityReport;
  if (report === undefined) return append(block, empty('parity', 'loading…'));
  const features = report.features.filter((f) => f.view === view.name);
  if (features.length === 0) {
    const why = report.pending > 0 ? 'No verdicts for this view yet (samples are judged once settled).' : 'No parity samples yet (see --parity-sample-rate).';
    return append(block, empty('parity', why));
  }
  const sum = { match: 0, mismatch: 0, missingOnline: 0, missingOffline: 0, skipped: 0 };
  for (const f of features) for (const key of Object.keys(sum)) sum[key] += f.counts[key];
  const missing = sum.missingOnline + sum.missingOffline;
  const label = `${sum.match} match, ${sum.mismatch} mismatch, ${missing} missing, ${sum.skipped} skipped`;
  const mismatches = report.mismatches.filter((m) => m.view === view.name);
  return append(
    block,
    stacked(
      [
        { value: sum.match, tone: 'good' },
        { value: sum.mismatch, tone: 'bad' },
        { value: missing, tone: 'warn' },
        { value: sum.skipped, tone: 'muted' },
      ],
      label,
    ),
    el(
      'dl',
      {},
      el('dt', {}, 'match'),
      el('dd', {}, figure('parity-match', sum.match, String(sum.match))),
      el('dt', {}, 'mismatch'),
      el('dd', {}, figure('parity-mismatch', sum.mismatch, String(sum.mismatch), { class: sum.mismatch > 0 ? 'bad' : null })),
      el('dt', {}, 'missing'),
      el('dd', {}, figure('parity-missing', missing, `${missing} (online ${sum.missingOnline}, offline ${sum.missingOffline})`, { class: missing > 0 ? 'warn' : null })),
      el('dt', {}, 'skipped'),
      el('dd', {}, figure('parity-skipped', sum.skipped, String(sum.skipped))),
    ),
    mismatches.length === 0
      ? null
      : el(
          'ul',
          { class: 'mismatches', 'data-field': 'mismatches' },
          ...mismatches.map((m) =>
            el('li', { 'data-mismatch': '', 'data-feature': m.feature }, el('code', {}, m.feature), ` ${json(m.keys)} at ${m.asOf}: online `, el('code', { 'data-field': 'online-value' }, json(m.onlineValue)), ', offline ', el('code', { 'data-field': 'offline-value' }, json(m.offlineValue))),
          ),
        ),
  );
}

function qualityBlock(view) {
  const block = el('div', { class: 'block wide', 'data-block': 'quality' }, el('h4', {}, 'Values', state.window === undefined ? '' : ` over the last ${state.window}`));
  const error = errorOf('quality');
  if (error !== undefined) return append(block, failed('quality', error));
  const stats = data('quality')?.featureStats;
  if (stats === undefined) return append(block, empty('quality', 'loading…'));
  const mine = new Map(stats.filter((s) => s.view === view.name && s.window === state.window).map((s) => [s.feature, s]));
  if (mine.size === 0) return append(block, empty('quality', 'No statistics for this view.'));
  const any = mine.values().next().value;
  // The instants the figures describe, so a reader can ask featureStats for exactly these again.
  Object.assign(block.dataset, { window: any.window, from: any.from, to: any.to });
  return append(
    block,
    el('p', { class: 'muted' }, `${any.basis === 'ROWS' ? 'history rows' : 'active entities, evaluated at the window end'} from ${any.from} to ${any.to}`, any.truncated ? ' (read limit reached: newest only)' : ''),
    el(
      'table',
      { class: 'quality' },
      el('thead', {}, el('tr', {}, el('th', {}, 'feature'), el('th', {}, 'values'), el('th', {}, 'null rate'), el('th', {}, 'drift (PSI)'))),
      el('tbody', {}, ...view.features.map((f) => qualityRow(f, mine.get(f.name)))),
    ),
  );
}

function qualityRow(feature, stats) {
  if (stats === undefined) return el('tr', { 'data-feature': feature.name }, el('td', {}, feature.name), el('td', { colspan: 3 }, empty('stats', 'no statistics')));
  const nullRate =
    stats.nullRate === null
      ? empty('values', 'no values in window')
      : [figure('null-rate', stats.nullRate, percent(stats.nullRate)), bar({ value: stats.nullRate, max: 1, tone: stats.nullRate > 0 ? 'warn' : 'good', label: `null rate ${percent(stats.nullRate)}` })];
  return el(
    'tr',
    { 'data-feature': feature.name },
    el('td', {}, el('code', {}, feature.name), el('span', { class: 'muted' }, ` ${feature.type}`)),
    el('td', {}, figure('values', stats.count, String(stats.count)), el('span', { class: 'muted' }, ` (${stats.nulls} null)`)),
    el('td', {}, nullRate),
    el('td', {}, driftCell(stats)),
  );
}

function driftCell(stats) {
  // Drift is measured for numeric features only; the type is as declared, `Int!` included.
  if (!/^(Int|Float)!?$/.test(stats.type)) return empty('not-numeric', 'n/a (not numeric)');
  const drift = stats.drift;
  if (drift === null) return empty('reference', 'no reference captured');
  if (drift.psi === null) return empty('values', 'no values to compare');
  return [
    figure('psi', drift.psi, psiText(drift.psi)),
    ' ',
    figure('drift-level', drift.level, drift.level, { class: psiTone(drift.psi) }),
    bar({ value: drift.psi, max: PSI_SCALE, marks: [PSI_MODERATE, PSI_MAJOR], tone: psiTone(drift.psi), label: `PSI ${psiText(drift.psi)} against ${PSI_MODERATE} and ${PSI_MAJOR}` }),
    el('span', { class: 'muted', title: `${drift.referenceOrigin} reference, ${drift.values} values binned` }, ` vs ${drift.referenceOrigin} of ${drift.referenceAt}`),
  ];
}

// ---- the catalog -------------------------------------------------------------------------------------

/**
 * Features whose name (`view:feature`), view owner or one of its view's tags contains the query, without
 * regard to case; all of them for an empty query.
 */
function matching(features, query) {
  const q = query.trim().toLowerCase();
  if (q === '') return features;
  return features.filter((f) => f.ref.toLowerCase().includes(q) || (f.owner ?? '').toLowerCase().includes(q) || f.tags.some((t) => t.toLowerCase().includes(q)));
}

function renderCatalog() {
  const body = $('catalog-rows');
  const registry = data('registry')?.registry;
  if (registry === undefined) {
    body.replaceChildren();
    $('catalog-count').replaceChildren(errorOf('registry') === undefined ? 'loading…' : failed('registry', errorOf('registry')));
    return;
  }
  const all = registry.views.flatMap((v) => v.features.map((f) => ({ ...f, view: v.name, owner: v.owner, tags: v.tags })));
  const shown = matching(all, $('catalog-search').value);
  body.replaceChildren(
    ...shown.map((f) =>
      el(
        'tr',
        { 'data-ref': f.ref, 'data-view': f.view, 'data-feature': f.name },
        el('td', {}, el('code', {}, f.name)),
        el('td', { 'data-field': 'view' }, f.view),
        el('td', { 'data-field': 'type' }, f.type),
        el('td', { 'data-field': 'description' }, f.description ?? ''),
        el('td', { 'data-field': 'owner' }, f.owner ?? ''),
        el('td', { 'data-field': 'tags' }, ...f.tags.map((t) => el('span', { class: 'tag' }, t))),
      ),
    ),
  );
  $('catalog-count').replaceChildren(figure('catalog-shown', shown.length, `${shown.length} of ${all.length} features`));
  $('catalog-empty').hidden = shown.length > 0;
}

function append(node, ...children) {
  node.append(...children.flat().filter((c) => c instanceof Element || typeof c === 'string'));
  return node;
}

// ---- start -------------------------------------------------------------------------------------------

$('refresh').addEventListener('click', () => void refresh({ everything: true }));
$('catalog-search').addEventListener('input', renderCatalog);
setInterval(() => {
  // A hidden tab asks nothing: nobody is looking, and every open tab is load on the gateway.
  if (document.hidden) return;
  state.ticks += 1;
  void refresh({ everything: false });
}, REFRESH_MS);
void refresh({ everything: true });
