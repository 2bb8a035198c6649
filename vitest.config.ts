import { defineConfig } from 'vitest/config';
// @ts-expect-error plain ESM helper shared with scripts/ (no types)
import { workerBinaryPath } from './scripts/worker-path.mjs';

export default defineConfig({
	test: {
		include: ['test/**/*.test.ts'],
		// Integration tests run real mediasoup workers and Chromium on a 2-core machine and some
		// assert timings to 100 ms: one file at a time keeps those honest.
		fileParallelism: false,
		pool: 'forks',
		testTimeout: 60_000,
		hookTimeout: 60_000,
		env: {
			MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN ?? workerBinaryPath(),
		},
		setupFiles: ['test/helpers/fail-on-unhandled.ts'],
		reporters: ['default', './test/helpers/summary-reporter.ts'],
		typecheck: {
			enabled: true,
			include: ['test/types/**/*.test-d.ts'],
			tsconfig: 'test/tsconfig.json',
		},
	},
});
