import { defineConfig } from 'tsup';

export default defineConfig({
	// The core entry never imports the adapters; each lives behind its own subpath export.
	entry: {
		index: 'src/index.ts',
		redis: 'src/adapters/redis.ts',
		prometheus: 'src/adapters/prometheus.ts',
		opentelemetry: 'src/adapters/opentelemetry.ts',
		client: 'src/client/index.ts',
	},
	format: ['esm', 'cjs'],
	dts: true,
	sourcemap: true,
	clean: true,
	target: 'node20',
	platform: 'node',
	// One copy of every shared module (WatchdogError above all) in a chunk that each entry imports:
	// `instanceof` holds across '.', './redis' and './prometheus' (within ESM, and within CJS).
	splitting: true,
	treeshake: true,
	// p-timeout is ESM-only: bundled (it is tiny) so `require('mediasoup-watchdog')` works on Node 20.
	noExternal: ['p-timeout'],
	external: ['mediasoup', 'debug', 'ioredis', 'rate-limiter-flexible', 'prom-client', '@opentelemetry/api'],
});
