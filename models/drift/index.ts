/**
 * Drift detection: reference distributions fixed at training time, window detectors (PSI for
 * numeric features and scores, Jensen-Shannon for categories), Page-Hinkley on the labelled loss,
 * each with an xstate machine stable → warning → drift. See docs/drift.md.
 */
export { jensenShannon, psi } from "./divergence.ts";
export {
  type DriftLevel,
  DriftStateMachine,
  type DriftStateName,
  driftMachine,
} from "./machine.ts";
export {
  DEFAULT_THRESHOLDS,
  type DetectorKind,
  type DriftEvent,
  DriftMonitor,
  type DriftMonitorOptions,
  type DriftThresholds,
} from "./monitor.ts";
export { clippedLogLoss, PAGE_HINKLEY_DEFAULTS, PageHinkleyDetector } from "./page-hinkley.ts";
export {
  binOf,
  buildDriftReference,
  type DriftReference,
  type FeatureReference,
  parseDriftReference,
} from "./reference.ts";
export { WINDOW_DEFAULTS, WindowDetector, type WindowOptions } from "./window-detector.ts";
