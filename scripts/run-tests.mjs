#!/usr/bin/env node
// The test run behind `npm test` (after scripts/ensure-worker.mjs): the vitest projects of
// vitest.config.ts, each with its own Node:
//   unit                 this Node (>= 20)
//   mediasoup-3.12(-idle) this Node (>= 20), mediasoup 3.12.16 and its worker
//   mediasoup-3.27(-idle) the pinned Node 22 (mediasoup 3.27 asks for >= 22), mediasoup 3.27.1 and its worker
// In stages. First `unit` and both workers' idle lanes (`-idle`: the long idle windows of healthy
// clients, vitest.config.ts IDLE_LANE), which assert no timing to the millisecond: side by side
// when the machine is otherwise idle (measured over 3 s from /proc/stat before the stage: under
// a quarter of its CPU busy), taking about as long as the longest idle lane (~3 minutes) instead
// of the sum (~8); one after the other on a busy machine, where side by side they starve each
// other's clients (with a CPU hog on 2 cores, werift took over a minute to start). Each project's
// output is printed as one block when it ends. Then, one after the other, each worker's other
// files, one file at a time: the timing-sensitive ones, with nothing alongside.
// MEDIASOUP_WATCHDOG_SERIAL=1 runs every project one after the other; =0 side by side regardless.
// MEDIASOUP_WATCHDOG_PROJECTS=mediasoup-3.27 selects a worker's project with its idle lane.
// Every project runs even when an earlier one failed; the exit code is non-zero when any failed.
// Arguments go to every vitest run (e.g. a file filter: `npm test -- test/integration/snapshot`).
// Ends with one line per project (tests, time) and the total `tests: N passed, N failed, N skipped`.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { node22Path, projectRoot } from './worker-path.mjs';

const vitest = join(projectRoot, 'node_modules', 'vitest', 'vitest.mjs');
/** Projects in stages: the projects of one stage run side by side, the stages one after the other. */
const stages = [
	[
		{ name: 'unit', node: process.execPath },
		{ name: 'mediasoup-3.12-idle', node: process.execPath },
		{ name: 'mediasoup-3.27-idle', node: node22Path() },
	],
	[{ name: 'mediasoup-3.12', node: process.execPath }],
	[{ name: 'mediasoup-3.27', node: node22Path() }],
];
const only = process.env.MEDIASOUP_WATCHDOG_PROJECTS?.split(',').filter(Boolean);
// With a file filter, a project none of whose files match (an idle lane, say) has nothing to run:
// that is not a failure of the run, and it says so ('no matching files').
const filtered = process.argv.length > 2;

/**
 * Runs one project. `live`: its output goes straight to stdout; otherwise it is kept and printed as
 * one block when the project ends (projects side by side would interleave line by line).
 */
function run(project, live) {
	const started = Date.now();
	const header = `\n=== vitest project ${project.name} (${project.node})`;
	if (live) console.log(header);
	else console.log(`${header}: started alongside, its output follows when it ends`);
	return new Promise((resolve) => {
		const args = [vitest, 'run', '--project', project.name, ...(filtered ? ['--passWithNoTests'] : []), ...process.argv.slice(2)];
		const child = spawn(project.node, args, {
			cwd: projectRoot,
			stdio: ['inherit', 'pipe', live ? 'inherit' : 'pipe'],
		});
		let tail = '';
		const kept = [];
		const onOutput = (stream) => (chunk) => {
			if (live) stream.write(chunk);
			else kept.push(chunk);
			if (stream === process.stdout) tail = (tail + chunk.toString('utf8')).slice(-4096);
		};
		child.stdout.on('data', onOutput(process.stdout));
		child.stderr?.on('data', onOutput(process.stderr));
		const settle = (result) => {
			if (!live) {
				console.log(`${header}: output (${((Date.now() - started) / 1000).toFixed(0)} s)`);
				process.stdout.write(Buffer.concat(kept));
			}
			resolve(result);
		};
		child.on('error', (error) => settle({ ...project, code: 1, error, seconds: 0 }));
		child.on('close', (code, signal) => {
			const counts = /tests: (\d+) passed, (\d+) failed, (\d+) skipped/.exec(tail);
			const noFiles = filtered && code === 0 && !counts && /No test files found/.test(tail);
			settle({
				...project,
				code: code ?? (signal ? 1 : 0),
				noFiles,
				counts: counts ? counts.slice(1).map(Number) : noFiles ? [0, 0, 0] : undefined,
				seconds: (Date.now() - started) / 1000,
			});
		});
	});
}

/** Busy share of all CPUs over `ms` (0–1), from /proc/stat; undefined where there is none. */
async function cpuBusy(ms) {
	const read = () => {
		const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
		const idle = fields[3] + (fields[4] ?? 0); // idle + iowait
		return { idle, total: fields.reduce((sum, n) => sum + n, 0) };
	};
	try {
		const before = read();
		await new Promise((resolve) => setTimeout(resolve, ms));
		const after = read();
		const total = after.total - before.total;
		return total > 0 ? 1 - (after.idle - before.idle) / total : undefined;
	} catch {
		return undefined;
	}
}

/** Whether a stage of several projects runs side by side: forced by MEDIASOUP_WATCHDOG_SERIAL, else when the machine is idle. */
async function sideBySide() {
	const forced = process.env.MEDIASOUP_WATCHDOG_SERIAL;
	if (forced === '1' || forced === '0') return forced === '0';
	const busy = await cpuBusy(3_000);
	const side = busy !== undefined && busy < 0.25;
	const measured = busy === undefined ? 'unknown' : `${Math.round(busy * 100)} % busy`;
	console.log(`\n=== the machine is ${measured}: the next projects run ${side ? 'side by side' : 'one after the other'}`);
	return side;
}

const selected = (project) => !only || only.includes(project.name) || only.includes(project.name.replace(/-idle$/, ''));
const results = [];
for (const stage of stages) {
	const projects = stage.filter(selected);
	if (projects.length <= 1 || !(await sideBySide())) {
		for (const project of projects) results.push(await run(project, true));
	} else {
		results.push(...(await Promise.all(projects.map((project) => run(project, false)))));
	}
}
console.log('\n=== per project');
const total = [0, 0, 0];
for (const r of results) {
	const [passed, failed, skipped] = r.counts ?? [0, 0, 0];
	for (const [i, n] of [passed, failed, skipped].entries()) total[i] += n;
	const what = r.error
		? `did not start: ${r.error.message}`
		: r.noFiles
			? 'no matching files'
			: r.counts
				? `${passed} passed, ${failed} failed, ${skipped} skipped`
				: 'no summary';
	console.log(`${r.name.padEnd(20)} ${what}, ${r.seconds.toFixed(0)} s, exit ${r.code}`);
}
const bad = results.filter((r) => r.code !== 0 || !r.counts);
// A project that crashed before its summary counts as one failure, so the total never reads green.
console.log(`\ntests: ${total[0]} passed, ${total[1] + bad.filter((r) => !r.counts).length} failed, ${total[2]} skipped`);
process.exit(bad.length > 0 ? 1 : 0);
