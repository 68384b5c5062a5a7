/**
 * What computing a set of on-demand views takes, worked out once per feature selection (pure): the
 * transforms to run in dependency order (a chained view after the views it reads), the stored views whose
 * values feed them, and the request fields they read.
 */
import type { Field, FeatureView, OnDemandView, RequestType } from '../registry/types.ts';
import type { Registry } from '../registry/registry.ts';
import type { PlanStep, SandboxPlan } from './pool.ts';

export interface OnDemandPlan {
  /** The steps the sandbox runs, in dependency order. */
  readonly sandbox: SandboxPlan;
  /** The on-demand views computed, in the same order as the steps. */
  readonly views: readonly OnDemandView[];
  /** Stored views the steps read (directly or through a chained view): read from the stores first. */
  readonly storedInputs: readonly FeatureView[];
  /** Request fields any step reads, with the type that declares each. */
  readonly requestFields: readonly { readonly field: Field; readonly type: RequestType }[];
  /** For each step, the later steps that read it directly or through others: they fail when it fails. */
  readonly dependents: readonly (readonly number[])[];
  /** For each step, the stored views it reads directly or through the steps it reads: their errors are its errors. */
  readonly storedOf: readonly (readonly string[])[];
}

export function onDemandPlan(registry: Registry, wanted: readonly OnDemandView[]): OnDemandPlan {
  const ordered: OnDemandView[] = [];
  const stored = new Set<FeatureView>();
  const visit = (view: OnDemandView) => {
    if (ordered.includes(view)) return;
    for (const name of view.inputs) {
      const input = registry.view(name)!;
      if (input.kind === 'onDemand') visit(input);
      else stored.add(input);
    }
    ordered.push(view);
  };
  // Registry validation rejects cycles, so the walk ends.
  for (const view of wanted) visit(view);

  const requestFields: { field: Field; type: RequestType }[] = [];
  for (const view of ordered) {
    const type = view.request === undefined ? undefined : registry.requestType(view.request);
    for (const field of type?.fields ?? []) if (!requestFields.some((r) => r.field.name === field.name)) requestFields.push({ field, type: type! });
  }

  const steps: PlanStep[] = ordered.map((view) => ({
    view: view.name,
    transform: view.transform.name,
    inputs: view.inputs,
    request: view.request !== undefined,
    outputs: view.features.map((f) => [f.name, f.type.scalar, f.type.list, f.type.nullable] as const),
  }));
  const dependents = ordered.map((_, i) => {
    const failed = new Set([ordered[i]!.name]);
    const out: number[] = [];
    for (let j = i + 1; j < ordered.length; j++) {
      if (ordered[j]!.inputs.some((name) => failed.has(name))) {
        failed.add(ordered[j]!.name);
        out.push(j);
      }
    }
    return out;
  });
  const storedOf: string[][] = [];
  ordered.forEach((view, i) => {
    const out = new Set<string>();
    for (const name of view.inputs) {
      const step = ordered.findIndex((v) => v.name === name);
      for (const stored of step === -1 ? [name] : storedOf[step]!) out.add(stored);
    }
    storedOf[i] = [...out];
  });
  return {
    storedOf,
    sandbox: { id: ordered.map((v) => `${v.name}@${v.transform.sha256.slice(0, 12)}`).join(','), steps },
    views: ordered,
    storedInputs: [...stored],
    requestFields,
    dependents,
  };
}
