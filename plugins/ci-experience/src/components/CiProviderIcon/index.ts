export { CiProviderIcon, hasProviderMark } from './CiProviderIcon';
