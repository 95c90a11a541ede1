export { CiTestsSection, FLAKY_TESTS_GUIDE } from './CiTestsSection';
