/**
 * The recent windows data-quality statistics are computed over ("1h", "24h", "7d"): parsed once, from the
 * configuration or from a request, keeping the spelling the user wrote so that a metric labelled
 * `window="24h"` reads as it was configured rather than as "1d". Pure.
 */
import { SkewlessError } from '../../errors.ts';
import { parseDuration } from '../../features/duration.ts';

export interface QualityWindow {
  /** As written: the label of metrics and of featureStats' `window`. */
  readonly label: string;
  readonly ms: number;
}

/** A comma-separated list of durations, in the order given, without repeats; undefined when malformed. */
export function parseWindowList(text: string): QualityWindow[] | undefined {
  const out: QualityWindow[] = [];
  for (const part of text.split(',')) {
    const window = parseWindow(part.trim());
    if (window === undefined) return undefined;
    if (!out.some((w) => w.ms === window.ms)) out.push(window);
  }
  return out.length > 0 ? out : undefined;
}

/** One positive duration; undefined otherwise (a zero-length window holds nothing to describe). */
export function parseWindow(text: string): QualityWindow | undefined {
  const ms = parseDuration(text);
  return ms === undefined || ms <= 0 ? undefined : { label: text, ms };
}

/** featureStats' `window` argument, or every configured window when it is absent. */
export function requestedWindows(window: string | null | undefined, configured: readonly QualityWindow[]): readonly QualityWindow[] {
  if (window == null) return configured;
  const parsed = parseWindow(window.trim());
  if (parsed === undefined) {
    throw new SkewlessError('INVALID_WINDOW', `window must be a positive duration such as 1h, 24h or 7d, got ${JSON.stringify(window)}`, { httpStatus: 400 });
  }
  return [parsed];
}
