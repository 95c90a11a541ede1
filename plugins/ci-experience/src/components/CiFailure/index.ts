export {
  ADDING_RULES_GUIDE,
  CiFailureDetails,
  CiFailureGuideLink,
  CiFailureInline,
  failureGuide,
  isUnknownFailure,
  UNKNOWN_FAILURE_ID,
} from './CiFailure';
