// The demo's flow once MEDIASOUP_WORKER_BIN is set: header, scenarios, table, timeline path.
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import type { ScenarioInfo } from './catalog.js';
import { DEMO_POLICY, describePolicy } from './policy.js';
import { Progress } from './progress.js';
import { exitCodeFor, renderTable } from './report.js';
import { runDemo } from './runner.js';

export interface MainOptions {
	readonly scenarios: readonly ScenarioInfo[];
	readonly outDir: string;
	readonly browsers: number;
	readonly starts: number;
	readonly plain: boolean;
}

/** Runs the demo and returns the process exit code. */
export async function main(options: MainOptions): Promise<number> {
	const out = process.stdout;
	const mediasoupVersion = (createRequire(import.meta.url)('mediasoup/package.json') as { version: string }).version;
	out.write(`mediasoup-watchdog demo · mediasoup ${mediasoupVersion} worker (${process.env.MEDIASOUP_WORKER_BIN})\n`);
	out.write('clients: headless Chromium + mediasoup-client, werift (in child processes)\n');
	out.write('policy (short timeouts chosen for the demo; the library defaults are 10–15 s):\n');
	for (const line of describePolicy(DEMO_POLICY)) out.write(`  ${line}\n`);
	out.write('\n');

	const progress = new Progress(out, { tty: !options.plain && out.isTTY === true });
	const report = await runDemo({
		scenarios: options.scenarios,
		policy: DEMO_POLICY,
		progress,
		outDir: options.outDir,
		browsers: options.browsers,
		starts: options.starts,
	});

	const passed = report.results.filter((result) => result.match).length;
	out.write(`\n${renderTable(report.results)}\n`);
	out.write(
		"detection latency: from the cause (the client's act, the transport's creation, the restart) to the verdict;\n" +
			"bound: the deadline, or the transport's detection bound (inactivityTimeoutMs, or longer for a client seen quieter, plus a poll period);\n" +
			'+N: the lateness measured on this machine meanwhile (late timers + slowest worker answer; for a deadline, plus 1 ms of timer resolution), allowed on top of the bound;\n' +
			"CloseInfo.detectionMs: the watchdog's own, from the last sign of life (held to the bound for inactive); ! = a client did not start (no verdict)\n\n",
	);
	for (const result of report.results) {
		if (result.match) continue;
		out.write(`${result.scenario.name}: ${result.problems.join('; ')}\n`);
		if (result.error !== undefined) {
			out.write(`${result.error instanceof Error ? result.error.stack : String(result.error)}\n`);
		}
		out.write('\n');
	}
	const closes = Object.entries(report.closes)
		.map(([reason, count]) => `${reason} ${count}`)
		.join(', ');
	out.write(`watchdog.snapshot().closes: ${closes || 'none'}\n`);
	out.write(`${passed}/${report.results.length} verdicts as expected in ${(report.totalMs / 1000).toFixed(1)} s\n`);
	const shown = relative(process.cwd(), report.timelinePath);
	out.write(`timeline: ${shown.startsWith('..') ? report.timelinePath : shown}\n`);
	return exitCodeFor(report.results);
}
