// The verdict table and exit code: plain functions of the scenario results.
import type { ScenarioInfo } from './catalog.js';
import type { ScenarioOutcome } from './context.js';

export interface ScenarioResult extends ScenarioOutcome {
	readonly scenario: ScenarioInfo;
	/** The expected verdict, with the expected clean flag, within its bound. */
	readonly match: boolean;
	/** Why it does not match (empty when it does). */
	readonly problems: readonly string[];
	/** The harness failed to start a client (twice): no verdict at all. */
	readonly harness?: boolean;
	/** Wall time of the scenario, teardown excluded. */
	readonly durationMs: number;
	readonly error?: unknown;
}

/**
 * What keeps an outcome from being the expected verdict: another reason, another clean flag, or a
 * timing beyond its bound plus the lateness measured on the machine meanwhile.
 */
export function verdictProblems(scenario: ScenarioInfo, outcome: ScenarioOutcome): string[] {
	const problems: string[] = [];
	if (outcome.observed !== scenario.expected) problems.push(`observed ${outcome.observed}, expected ${scenario.expected}`);
	if (scenario.expectedClean !== undefined && outcome.clean !== scenario.expectedClean) {
		problems.push(`CloseInfo.clean ${outcome.clean ?? 'absent'}, expected ${scenario.expectedClean}`);
	}
	const timing = outcome.timing;
	if (timing && timing.measuredMs > timing.boundMs + timing.allowanceMs) {
		problems.push(
			`${timing.what} ${formatMs(timing.measuredMs)} beyond its bound ${timing.boundMs} ms + ${formatMs(timing.allowanceMs)} measured lateness`,
		);
	}
	return problems;
}

/** 0 when every observed verdict is the expected one (and there was at least one scenario). */
export function exitCodeFor(results: readonly Pick<ScenarioResult, 'match'>[]): number {
	return results.length > 0 && results.every((result) => result.match) ? 0 : 1;
}

export function formatMs(ms: number): string {
	return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export function describeLatency(result: Pick<ScenarioResult, 'latencyMs' | 'boundMs'>): string {
	if (result.latencyMs === null) return '—';
	return result.boundMs === null ? formatMs(result.latencyMs) : `${formatMs(result.latencyMs)} (bound ${result.boundMs} ms)`;
}

/** `✓` as expected, `✗` another verdict, `!` no verdict (a client did not start). */
export function resultMark(result: Pick<ScenarioResult, 'match' | 'harness'>): string {
	if (result.match) return '✓';
	return result.harness ? '!' : '✗';
}

/** The verdict table, one line per scenario. */
export function renderTable(results: readonly ScenarioResult[]): string {
	const header = [
		'',
		'scenario',
		'client',
		'expected',
		'observed',
		'clean',
		'detection latency',
		'bound',
		'CloseInfo.detectionMs',
	];
	const rows = results.map((r) => [
		resultMark(r),
		r.scenario.name,
		r.scenario.client,
		r.scenario.expected,
		r.observed,
		r.clean === undefined ? '—' : String(r.clean),
		r.latencyMs === null ? '—' : formatMs(r.latencyMs),
		r.boundMs === null ? '—' : `${r.boundMs} ms${r.timing ? ` +${Math.ceil(r.timing.allowanceMs)}` : ''}`,
		r.detectionMs === undefined || r.detectionMs === null ? '—' : formatMs(r.detectionMs),
	]);
	const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)));
	const line = (cells: string[]): string =>
		cells
			.map((cell, i) => cell.padEnd(widths[i] ?? 0))
			.join('  ')
			.trimEnd();
	return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}
