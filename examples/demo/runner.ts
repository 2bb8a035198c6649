// Plays the chosen scenarios side by side against one real mediasoup worker and one watchdog,
// then writes the timeline. Everything it starts, it stops: the process can exit by itself.

import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { createWatchdog, type WatchdogPolicy } from '../../src/index.js';
import { closeAllChromiumClients } from '../../test/helpers/chromium/harness.js';
import { closeWorker, createTestRouter, createTestWorker } from '../../test/helpers/mediasoup.js';
import { closeAllWeriftClients } from '../../test/helpers/werift/harness.js';
import type { ScenarioInfo } from './catalog.js';
import { createContext, Pool } from './context.js';
import { describePolicy } from './policy.js';
import type { Progress } from './progress.js';
import { describeLatency, formatMs, type ScenarioResult } from './report.js';
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
}

export interface DemoReport {
	readonly results: ScenarioResult[];
	readonly timelinePath: string;
	readonly totalMs: number;
	/** `watchdog.snapshot()` at the end. */
	readonly closes: Readonly<Record<string, number>>;
}

/** A scenario that has not produced a verdict by then is given up on (its clients are torn down). */
const SCENARIO_BUDGET_MS = 45_000;

export async function runDemo(options: RunOptions): Promise<DemoReport> {
	const started = performance.now();
	const { progress } = options;
	const worker = await createTestWorker();
	const timeline = new Timeline();
	const watchdog = createWatchdog(options.policy);
	const results: ScenarioResult[] = [];
	let closes: Record<string, number> = {};
	try {
		const router = await createTestRouter(worker);
		progress.line(
			`mediasoup worker pid ${worker.pid}; ${options.scenarios.length} scenario(s), up to ${options.browsers} browsers at once`,
		);
		const browsers = new Pool(options.browsers);
		progress.start(options.scenarios.length);
		const settled = await Promise.all(
			options.scenarios.map(async (scenario): Promise<ScenarioResult> => {
				const { context, teardown } = createContext(scenario, { worker, router, watchdog, timeline, progress, browsers });
				const runner = SCENARIO_RUNNERS[scenario.name];
				const begin = performance.now();
				let result: ScenarioResult;
				try {
					if (!runner) throw new Error(`no runner for scenario ${scenario.name}`);
					const outcome = await withBudget(runner(context), SCENARIO_BUDGET_MS, scenario.name);
					result = { ...outcome, scenario, match: outcome.observed === scenario.expected, durationMs: performance.now() - begin };
				} catch (error) {
					result = {
						scenario,
						observed: `error: ${firstLine(error)}`,
						latencyMs: null,
						boundMs: null,
						match: false,
						durationMs: performance.now() - begin,
						error,
					};
				}
				timeline.mark(scenario.name, `verdict: ${result.observed}`, 'verdict');
				progress.finish(
					scenario.name,
					`${result.match ? '✓' : '✗'} ${result.observed}${result.latencyMs === null ? '' : ` after ${formatMs(result.latencyMs)}`}`,
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

function firstLine(error: unknown): string {
	const text = error instanceof Error ? error.message : String(error);
	return text.split('\n')[0] ?? text;
}

async function withBudget<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	try {
		return await Promise.race([
			promise,
			new Promise<never>((_, reject) => {
				timer = setTimeout(() => reject(new Error(`scenario ${name} took longer than ${ms} ms`)), ms);
			}),
		]);
	} finally {
		clearTimeout(timer);
	}
}
