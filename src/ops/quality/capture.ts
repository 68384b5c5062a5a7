/**
 * Capturing drift references: from a training-set export as it streams (every numeric column of a row or
 * aggregation view), or explicitly from a recent window of the offline store (`skewless quality
 * reference`). Either way a reference is the decile bins of the values and their shares (drift.ts),
 * stored with its time, origin and the feature's name (references.ts); featureStats compares windows
 * against each feature's latest one.
 */
import type { Feature } from '../../registry/types.ts';
import type { Selection } from '../../serving/selection.ts';
import { buildReference } from './drift.ts';
import type { QualityDeps } from './feature-stats.ts';
import { saveReferences } from './references.ts';
import { Reservoir } from './reservoir.ts';
import type { NewReference } from './sql.ts';
import { finiteSorted, valueKind } from './summary.ts';
import { statsTargets } from './targets.ts';
import { cutWindow, readWindowSample } from './window-sample.ts';
import { requestedWindows } from './windows.ts';

/**
 * Values of one exported column kept to build its reference from: a uniform sample, so an export of any
 * size holds at most this many numbers per numeric column (800 kB) however many rows it streams.
 */
export const REFERENCE_SAMPLE = 100_000;

/** Watches an export's rows (planExport's onRows) and builds a reference per numeric stored column. */
export class ExportReferenceCollector {
  #columns: { readonly view: string; readonly feature: Feature; readonly at: number; readonly sample: Reservoir }[] | undefined;
  #rows = 0;

  /** For planExport: `inputColumns` output columns come before the features, in selection order. */
  readonly onRows = (selection: Selection, inputColumns: number, rows: readonly (readonly unknown[])[]): void => {
    // Worked out on the first batch: which columns are numeric features of stored views.
    this.#columns ??= selection.columns.flatMap((c, i) =>
      c.view.kind !== 'onDemand' && valueKind(c.feature.type) === 'numeric' ? [{ view: c.view.name, feature: c.feature, at: inputColumns + i, sample: new Reservoir(REFERENCE_SAMPLE, i + 1) }] : [],
    );
    for (const row of rows) {
      for (const column of this.#columns) {
        const v = row[column.at];
        if (typeof v === 'number' && Number.isFinite(v)) column.sample.add(v);
      }
    }
    this.#rows += rows.length;
  };

  /** The references of the columns with enough values (MIN_REFERENCE_VALUES); the rest are named in `skipped`. */
  references(capturedAt: number, format: string): { readonly references: NewReference[]; readonly skipped: string[] } {
    const references: NewReference[] = [];
    const skipped: string[] = [];
    for (const { view, feature, sample } of this.#columns ?? []) {
      const binned = buildReference(sample.sorted());
      if (binned === undefined) {
        skipped.push(feature.ref);
        continue;
      }
      const note = `${format} export of ${this.#rows} rows, ${sample.seen} values${sample.seen > binned.count ? ` (${binned.count} sampled)` : ''}`;
      references.push({ view, feature: feature.name, capturedAt, origin: 'export', note, edges: binned.edges, proportions: binned.proportions, sampleCount: binned.count });
    }
    return { references, skipped };
  }
}

export interface WindowCapture {
  /** References stored. */
  readonly captured: readonly NewReference[];
  /** Numeric features whose window held fewer than MIN_REFERENCE_VALUES values. */
  readonly skipped: readonly { readonly ref: string; readonly values: number }[];
}

/**
 * References of the numeric features named (view, optionally feature), from one window of the offline
 * store ending at `end` (default now): what `skewless quality reference` runs. Window default: the longest
 * configured one.
 */
export async function captureWindowReferences(deps: QualityDeps, request: { view: string; feature?: string | null; window?: string | null; end?: number | null }): Promise<WindowCapture> {
  const targets = statsTargets(deps.registry, request.view, request.feature);
  const windows = requestedWindows(request.window, deps.options.windows);
  const window = windows.reduce((a, b) => (b.ms > a.ms ? b : a));
  const end = request.end ?? deps.now;
  const captured: NewReference[] = [];
  const skipped: { ref: string; values: number }[] = [];
  for (const { view, features } of targets) {
    const numeric = features.filter((f) => valueKind(f.type) === 'numeric');
    if (numeric.length === 0) continue;
    const sample = await readWindowSample(deps.registry, deps.offline, view, numeric, end - window.ms, end, deps.options);
    const { values, truncated } = cutWindow(sample, end - window.ms);
    numeric.forEach((feature, f) => {
      const sorted = finiteSorted(values[f]!);
      const binned = buildReference(sorted);
      if (binned === undefined) {
        skipped.push({ ref: feature.ref, values: sorted.length });
        return;
      }
      const note = `window ${window.label} of ${sample.basis === 'rows' ? 'history rows' : 'active entities'}${truncated ? ' (truncated)' : ''}`;
      captured.push({
        view: view.name,
        feature: feature.name,
        capturedAt: deps.now,
        origin: 'window',
        note,
        edges: binned.edges,
        proportions: binned.proportions,
        sampleCount: binned.count,
        window: { from: end - window.ms, to: end },
      });
    });
  }
  await saveReferences(deps.offline, captured);
  return { captured, skipped };
}

/** Saves an export's references; returns how many were stored. */
export async function saveExportReferences(offline: QualityDeps['offline'], collector: ExportReferenceCollector, capturedAt: number, format: string): Promise<{ saved: number; skipped: string[] }> {
  const { references, skipped } = collector.references(capturedAt, format);
  await saveReferences(offline, references);
  return { saved: references.length, skipped };
}
