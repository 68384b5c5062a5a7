/**
 * Data-quality settings as the statistics code takes them, from the resolved configuration
 * (--quality-windows, --quality-max-rows, --quality-max-entities); the defaults are the settings table's,
 * for callers without a configuration (tests, `skewless schema`).
 */
import type { Config } from '../../config/config.ts';
import { SETTINGS } from '../../config/settings.ts';
import type { SampleLimits } from './window-sample.ts';
import { parseWindowList } from './windows.ts';
import type { QualityWindow } from './windows.ts';

export interface QualityOptions extends SampleLimits {
  /** The windows statistics and metrics cover by default, in the order configured. */
  readonly windows: readonly QualityWindow[];
}

export const DEFAULT_QUALITY_OPTIONS: QualityOptions = Object.freeze({
  windows: parseWindowList(SETTINGS.qualityWindows.default)!,
  maxRows: Number(SETTINGS.qualityMaxRows.default),
  maxEntities: Number(SETTINGS.qualityMaxEntities.default),
});

export function qualityOptions(config: Pick<Config, 'qualityWindows' | 'qualityMaxRows' | 'qualityMaxEntities'>): QualityOptions {
  return { windows: config.qualityWindows, maxRows: config.qualityMaxRows, maxEntities: config.qualityMaxEntities };
}
