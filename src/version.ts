/**
 * The package version, kept equal to package.json by a test.
 *
 * @example
 * ```ts
 * import { VERSION } from 'memprims';
 * VERSION; // '0.1.0'
 * ```
 */
export const VERSION = '0.1.0';
