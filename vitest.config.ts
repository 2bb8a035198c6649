import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
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
 * (≥ 60 s: "never closed" is what they assert, with lower bounds only): each worker's side lane
 * (`mediasoup-3.12-side`, `mediasoup-3.27-side`) starts them side by side, each file with its own
 * worker, before that worker's other files, which run one at a time. Load can only make a client
 * look slower, which these files must survive anyway (a close under load would be a false close,
 * the failure they exist to catch). Both side lanes and `unit` side by side were tried: on 2 cores
 * they starve each other's clients even on an idle machine (werift over a minute to start,
 * Chromium transports closed by their connect deadline before their page connected).
 */
const IDLE_LANE = [
	'test/integration/liveness-healthy.test.ts',
	'test/integration/liveness-muted.test.ts',
	'test/integration/liveness-firefox-healthy.test.ts',
	'test/integration/liveness-gstreamer-healthy.test.ts',
];
/**
 * Real-worker files whose time is mostly waiting on the worker's and the watchdog's clocks (a
 * vanished client's bound, a cadence window, a restart loop) with one or two clients each: the side
 * lane starts them, in this order, in the slots the idle windows free once their clients started
 * (LaneSequencer), so their waits overlap the idle windows instead of following them. Their bounds
 * are measured from the client's last packet by the test's own probe, with the slack they had one
 * at a time; they passed the same way with a CPU hog alongside (docs/reliability.md).
 */
const WAITING_LANE = [
	'test/integration/liveness-firefox-vanish.test.ts',
	'test/integration/liveness-chromium.test.ts',
	'test/integration/liveness-werift.test.ts',
	'test/integration/restart-loop.test.ts',
	'test/integration/liveness-hints.test.ts',
];
const SIDE_LANE = [...IDLE_LANE, ...WAITING_LANE];
/** The side lane's width: one slot per idle-window file, the waiting files queued behind them. */
const SIDE_LANE_WIDTH = IDLE_LANE.length;

/**
 * vitest's order (projects by groupOrder, then its cache of durations or file sizes), except that a
 * side lane's files start in SIDE_LANE's order: the idle windows first, the waiting files as slots
 * free. vitest's pool starts queued files in the order given here, maxWorkers at a time.
 */
class LaneSequencer extends BaseSequencer {
	override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
		const sorted = await super.sort(files);
		const laneRank = (file: TestSpecification): number =>
			file.project.name.endsWith('-side') ? SIDE_LANE.indexOf(relative(root, file.moduleId).split(sep).join('/')) : -1;
		// Each side lane's files, put back into the places vitest gave them, in SIDE_LANE's order.
		for (const project of new Set(sorted.map((file) => file.project.name))) {
			const places = sorted.flatMap((file, index) => (file.project.name === project && laneRank(file) >= 0 ? [index] : []));
			const inLaneOrder = places.map((index) => sorted[index] as TestSpecification).sort((a, b) => laneRank(a) - laneRank(b));
			for (const [i, index] of places.entries()) sorted[index] = inLaneOrder[i] as TestSpecification;
		}
		return sorted;
	}
}
const root = fileURLToPath(new URL('.', import.meta.url));
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
		sequence: { sequencer: LaneSequencer },
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
 * A worker's project as two: `<name>-side` (the SIDE_LANE files, side by side) and `<name>` (the
 * rest, one file at a time). Each runs in its own sequence group (`groupOrder`), so a plain
 * `vitest run` never overlaps the side lane with another project's files either.
 */
function lanes(project: TestProjectInlineConfiguration, groupOrder: number): TestProjectInlineConfiguration[] {
	const test = project.test ?? {};
	const exclude = test.exclude ?? [];
	return [
		{
			...project,
			test: {
				...test,
				name: `${test.name as string}-side`,
				include: SIDE_LANE,
				exclude,
				fileParallelism: true,
				maxWorkers: SIDE_LANE_WIDTH,
				sequence: { groupOrder },
			},
		},
		{ ...project, test: { ...test, exclude: [...exclude, ...SIDE_LANE], sequence: { groupOrder: groupOrder + 1 } } },
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
