// Plays the chosen scenarios side by side against one real mediasoup worker and one watchdog,
// then writes the timeline. Everything it starts, it stops: the process can exit by itself.

import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { createWatchdog, type WatchdogPolicy } from '../../src/index.js';
import { closeAllChromiumClients } from '../../test/helpers/chromium/harness.js';
import { LoadProbe } from '../../test/helpers/load-probe.js';
import { closeWorker, createTestRouter, createTestWorker } from '../../test/helpers/mediasoup.js';
import { closeAllWeriftClients } from '../../test/helpers/werift/harness.js';
import type { ScenarioInfo } from './catalog.js';
import { ClosedEarly, createContext, firstLine, HarnessError, Pool, type ScenarioOutcome } from './context.js';
import { describePolicy } from './policy.js';
import type { Progress } from './progress.js';
import { describeLatency, formatMs, resultMark, type ScenarioResult, verdictProblems } from './report.js';
import { SCENARIO_RUNNERS } from './scenarios.js';
import { Timeline } from './timeline.js';

export interface RunOptions {
	readonly scenarios: readonly ScenarioInfo[];
	readonly policy: WatchdogPolicy;
	readonly progress: Progress;
	/** Folder of `timeline.html`. */
	readonly outDir: string;
	/** Chromium clients running at once. */
	readonly browsers: number;
	/** Clients starting (or restarting ICE) at once. */
	readonly starts: number;
}

export interface DemoReport {
	readonly results: ScenarioResult[];
	readonly timelinePath: string;
	readonly totalMs: number;
	/** `watchdog.snapshot()` at the end. */
	readonly closes: Readonly<Record<string, number>>;
}

/**
 * A scenario that has not produced a verdict this long after its client was ready is given up on
 * (its clients are torn down). Counted from the client's readiness, not the scenario's start: a
 * scenario waiting for a browser slot or for its client to launch on a busy machine is not late.
 * The longest wait for a verdict is a silence (up to 30 s plus polls and slack).
 */
const SCENARIO_BUDGET_MS = 90_000;

export async function runDemo(options: RunOptions): Promise<DemoReport> {
	const started = performance.now();
	const { progress } = options;
	const worker = await createTestWorker();
	const load = new LoadProbe(worker);
	const timeline = new Timeline();
	const watchdog = createWatchdog(options.policy);
	const results: ScenarioResult[] = [];
	let closes: Record<string, number> = {};
	try {
		const router = await createTestRouter(worker);
		progress.line(
			`mediasoup worker pid ${worker.pid}; ${options.scenarios.length} scenario(s), up to ${options.browsers} browsers running and ${options.starts} client(s) starting at once`,
		);
		const browsers = new Pool(options.browsers);
		const starts = new Pool(options.starts);
		progress.start(options.scenarios.length);
		const settled = await Promise.all(
			options.scenarios.map(async (scenario): Promise<ScenarioResult> => {
				const { context, ready, teardown } = createContext(scenario, {
					worker,
					router,
					watchdog,
					timeline,
					progress,
					load,
					browsers,
					starts,
				});
				const runner = SCENARIO_RUNNERS[scenario.name];
				const begin = performance.now();
				let result: ScenarioResult;
				try {
					if (!runner) throw new Error(`no runner for scenario ${scenario.name}`);
					const outcome = await withBudget(runner(context), SCENARIO_BUDGET_MS, ready, scenario.name).catch((error: unknown) => {
						if (error instanceof ClosedEarly) return earlyOutcome(error);
						throw error;
					});
					const problems = verdictProblems(scenario, outcome);
					result = { ...outcome, scenario, match: problems.length === 0, problems, durationMs: performance.now() - begin };
				} catch (error) {
					const harness = error instanceof HarnessError;
					result = {
						scenario,
						observed: `${harness ? 'no verdict, harness failed' : 'error'}: ${firstLine(error)}`,
						latencyMs: null,
						boundMs: null,
						match: false,
						problems: [harness ? 'a client did not start (the harness failed, not the watchdog)' : 'the scenario failed'],
						harness,
						durationMs: performance.now() - begin,
						error,
					};
				}
				timeline.mark(scenario.name, `verdict: ${result.observed}`, 'verdict');
				progress.finish(
					scenario.name,
					`${resultMark(result)} ${result.observed}${result.latencyMs === null ? '' : ` after ${formatMs(result.latencyMs)}`}${
						result.match ? '' : ` — ${result.problems.join('; ')}`
					}`,
				);
				try {
					await teardown();
				} catch (error) {
					progress.line(`  teardown of ${scenario.name} failed: ${firstLine(error)}`);
				}
				return result;
			}),
		);
		results.push(...settled);
	} finally {
		progress.stop();
		load.stop();
		await Promise.allSettled([closeAllChromiumClients(), closeAllWeriftClients()]);
		const snapshot = watchdog.snapshot();
		watchdog.stop();
		await closeWorker(worker);
		closes = { ...snapshot.closes } as Record<string, number>;
	}

	const outDir = resolve(options.outDir);
	await mkdir(outDir, { recursive: true });
	const timelinePath = join(outDir, 'timeline.html');
	await writeFile(
		timelinePath,
		timeline.render({
			title: 'mediasoup-watchdog demo',
			policy: describePolicy(options.policy),
			scenarios: results.map((result) => ({
				name: result.scenario.name,
				summary: result.scenario.summary,
				expected: result.scenario.expected,
				observed: result.observed,
				match: result.match,
				latency: describeLatency(result),
			})),
		}),
	);
	return { results, timelinePath, totalMs: performance.now() - started, closes };
}

/** A transport closed before its client connected: that close is the verdict. */
function earlyOutcome({ closed: { info } }: ClosedEarly): ScenarioOutcome {
	return {
		observed: info.reason,
		latencyMs: null,
		boundMs: null,
		detectionMs: info.detectionMs,
		clean: info.clean,
		note: `closed before the client connected${info.detail ? `: ${info.detail}` : ''}`,
	};
}

/** `promise`, or a rejection once `ms` have passed since `ready` settled. */
async function withBudget<T>(promise: Promise<T>, ms: number, ready: Promise<void>, name: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	let settled = false;
	try {
		return await Promise.race([
			promise,
			new Promise<never>((_, reject) => {
				void ready.then(() => {
					if (settled) return;
					timer = setTimeout(
						() => reject(new Error(`scenario ${name} took longer than ${ms} ms after its client was ready`)),
						ms,
					);
				});
			}),
		]);
	} finally {
		settled = true;
		clearTimeout(timer);
	}
}
