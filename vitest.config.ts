import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
// @ts-expect-error plain ESM helper shared with scripts/ (no types)
import { workerBinaryPath } from './scripts/worker-path.mjs';

// Three projects (scripts/run-tests.mjs, behind `npm test`, runs each in turn):
//   unit            pure and fake-timer tests, once (Node 20), two files at a time
//   mediasoup-3.12  every test that starts a real worker, on mediasoup 3.12.16 (Node 20)
//   mediasoup-3.27  the same files with `mediasoup` resolved to `mediasoup-latest` (3.27.1) and
//                   its worker, run by the pinned Node 22 (forks inherit the Node that runs vitest)
// A failure's name starts with its project (`|mediasoup-3.27|`), so it says which worker it was on.
// mediasoup-3.27 exists only when vitest runs on Node >= 22: a plain `npx vitest run <file>` on
// Node 20 runs unit + mediasoup-3.12 as before, and asking for mediasoup-3.27 there fails
// ("no projects matched") instead of running 3.27 on a Node it does not support.
const onNode22 = Number(process.versions.node.split('.')[0]) >= 22;

/** Tests that start a real mediasoup worker (or a process that does): run once per worker. */
const REAL_WORKER = ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/reliability/**/*.test.ts'];
/** Files in those folders that never start a worker (fake transports, a redis server, a child vitest). */
const NO_WORKER = [
	'test/integration/redis-store.test.ts',
	'test/integration/redis-cluster-mode.test.ts',
	'test/integration/redis-sentinel.test.ts',
	'test/reliability/event-sequences.test.ts',
	'test/reliability/load-cycles.test.ts',
	'test/reliability/policy-fuzz.test.ts',
	'test/reliability/unhandled-guard.test.ts',
];
/**
 * Behaviour mediasoup 3.12.16 does not have (worker-side ICE consent, 3.13.20+) or where its
 * worker dies (a WebRtcServer closed with live transports: SIGILL, fixed in 3.14.6): mediasoup-3.27 only.
 */
const NEWER_ONLY = ['test/**/mediasoup-327-*.test.ts'];
/**
 * Real-worker files whose time is one long idle window of healthy clients under the default policy
 * (≥ 60 s: "never closed" is what they assert, with lower bounds only): each worker's idle lane
 * (`mediasoup-3.12-idle`, `mediasoup-3.27-idle`) runs them side by side, each file with its own
 * worker, before that worker's timing-sensitive files, which still run one at a time. Load can
 * only make a client look slower, which these files must survive anyway (a close under load would
 * be a false close, the failure they exist to catch). Both idle lanes and `unit` side by side were
 * tried: on 2 cores they starve each other's clients even on an idle machine (werift over a minute
 * to start, Chromium transports closed by their connect deadline before their page connected).
 */
const IDLE_LANE = [
	'test/integration/liveness-healthy.test.ts',
	'test/integration/liveness-muted.test.ts',
	'test/integration/liveness-firefox-healthy.test.ts',
	'test/integration/liveness-gstreamer-healthy.test.ts',
];
const latestHooks = fileURLToPath(new URL('./test/helpers/mediasoup-latest-hooks.mjs', import.meta.url));

export default defineConfig({
	test: {
		// Integration tests run real mediasoup workers and Chromium on a 2-core machine and some
		// assert timings to 100 ms: one file at a time keeps those honest.
		fileParallelism: false,
		pool: 'forks',
		testTimeout: 60_000,
		hookTimeout: 60_000,
		setupFiles: ['test/helpers/fail-on-unhandled.ts'],
		reporters: ['default', './test/helpers/summary-reporter.ts'],
		projects: [
			{
				extends: true,
				test: {
					name: 'unit',
					sequence: { groupOrder: 0 },
					// Nothing here starts a worker or a browser, and no bound is tighter than a Redis call
					// failing fast (100 ms): two files at a time, one per core, nothing else running.
					fileParallelism: true,
					maxWorkers: 2,
					include: ['test/unit/**/*.test.ts', 'test/docs/**/*.test.ts', 'test/package/**/*.test.ts', ...NO_WORKER],
					env: { MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN ?? workerBinaryPath('mediasoup') },
					typecheck: {
						enabled: true,
						include: ['test/types/**/*.test-d.ts'],
						tsconfig: 'test/tsconfig.json',
					},
				},
			},
			...lanes(
				{
					extends: true,
					test: {
						name: 'mediasoup-3.12',
						include: REAL_WORKER,
						exclude: [...configDefaults.exclude, ...NO_WORKER, ...NEWER_ONLY],
						env: { MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN ?? workerBinaryPath('mediasoup') },
					},
				},
				1,
			),
			...(onNode22 ? lanes(mediasoup327(), 3) : []),
		],
	},
});

/**
 * A worker's project as two: `<name>-idle` (the IDLE_LANE files, side by side) and `<name>` (the
 * rest, one file at a time). Each runs in its own sequence group (`groupOrder`), so a plain
 * `vitest run` never overlaps the idle lane with another project's files either.
 */
function lanes(project: TestProjectInlineConfiguration, groupOrder: number): TestProjectInlineConfiguration[] {
	const test = project.test ?? {};
	const exclude = test.exclude ?? [];
	return [
		{
			...project,
			test: {
				...test,
				name: `${test.name as string}-idle`,
				include: IDLE_LANE,
				exclude,
				fileParallelism: true,
				maxWorkers: IDLE_LANE.length,
				sequence: { groupOrder },
			},
		},
		{ ...project, test: { ...test, exclude: [...exclude, ...IDLE_LANE], sequence: { groupOrder: groupOrder + 1 } } },
	];
}

function mediasoup327(): TestProjectInlineConfiguration {
	return {
		extends: true,
		resolve: {
			alias: [
				{ find: /^mediasoup$/, replacement: 'mediasoup-latest' },
				{ find: /^mediasoup\/(.*)$/, replacement: 'mediasoup-latest/$1' },
			],
		},
		test: {
			name: 'mediasoup-3.27',
			include: REAL_WORKER,
			exclude: [...configDefaults.exclude, ...NO_WORKER],
			env: {
				MEDIASOUP_WORKER_BIN: workerBinaryPath('mediasoup-latest'),
				// Child processes (the demo, SFU nodes) resolve `mediasoup` to 3.27.1 as well.
				NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${latestHooks}`].filter(Boolean).join(' '),
			},
		},
	};
}
