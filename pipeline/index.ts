/** The public API: what `bench.config.ts` imports. */
export { defineConfig, type UserConfig } from './config.js';
