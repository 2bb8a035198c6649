// The verdict table and exit code: plain functions of the scenario results.
import type { ScenarioInfo } from './catalog.js';
import type { ScenarioOutcome } from './context.js';

export interface ScenarioResult extends ScenarioOutcome {
	readonly scenario: ScenarioInfo;
	readonly match: boolean;
	/** Wall time of the scenario, teardown excluded. */
	readonly durationMs: number;
	readonly error?: unknown;
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

/** The verdict table, one line per scenario. */
export function renderTable(results: readonly ScenarioResult[]): string {
	const header = ['', 'scenario', 'client', 'expected', 'observed', 'detection latency', 'bound', 'CloseInfo.detectionMs'];
	const rows = results.map((r) => [
		r.match ? '✓' : '✗',
		r.scenario.name,
		r.scenario.client,
		r.scenario.expected,
		r.observed,
		r.latencyMs === null ? '—' : formatMs(r.latencyMs),
		r.boundMs === null ? '—' : `${r.boundMs} ms`,
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
