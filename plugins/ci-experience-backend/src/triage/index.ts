export {
  DEFAULT_RULES,
  ADDING_RULES_GUIDE,
  GUIDE_BASE,
  guideOf,
} from './defaultRules';
export type { FailureRule } from './defaultRules';
export {
  FailureClassifier,
  UNKNOWN_FAILURE,
  DEFAULT_CLASSIFIER_LIMITS,
  stripAnsi,
} from './FailureClassifier';
export type {
  ClassifierLimits,
  ClassifyDetails,
  ClassifyOptions,
} from './FailureClassifier';
export {
  TriageService,
  createTriageService,
  NO_LOG_FAILURE,
  DEFAULT_TRIAGE_LIMITS,
} from './TriageService';
export type {
  TriageDrainResult,
  TriageLimits,
  TriageServiceOptions,
} from './TriageService';
