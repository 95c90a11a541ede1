import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// On a loaded 2-core machine the first render of a suite can take seconds
// (module loading, JIT): findBy*/waitFor wait longer than their 1 s default
// before calling an element missing. These are no speed targets.
configure({ asyncUtilTimeout: 10_000 });
