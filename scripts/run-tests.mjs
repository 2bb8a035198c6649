#!/usr/bin/env node
// The test run behind `npm test` (after scripts/ensure-worker.mjs): the three vitest projects of
// vitest.config.ts, one after the other, each with its own Node:
//   unit            this Node (>= 20)
//   mediasoup-3.12  this Node (>= 20), mediasoup 3.12.16 and its worker
//   mediasoup-3.27  the pinned Node 22 (mediasoup 3.27 asks for >= 22), mediasoup 3.27.1 and its worker
// Each worker's project runs its side lane first (`-side`: the long idle windows of healthy
// clients, then the files that mostly wait, side by side; vitest.config.ts SIDE_LANE), then its
// other files one at a time.
// MEDIASOUP_WATCHDOG_PROJECTS=mediasoup-3.27 selects a worker's project with its side lane.
// Every project runs even when an earlier one failed; the exit code is non-zero when any failed.
// Arguments go to every vitest run (e.g. a file filter: `npm test -- test/integration/snapshot`).
// Ends with one line per project (tests, time), every failed test again (`failed: <project> <file> >
// <name>: <first line of its error>`) and the total `tests: N passed, N failed, N skipped`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { node22Path, projectRoot } from './worker-path.mjs';

const vitest = join(projectRoot, 'node_modules', 'vitest', 'vitest.mjs');
const projects = [
	{ name: 'unit', node: process.execPath },
	{ name: 'mediasoup-3.12-side', node: process.execPath },
	{ name: 'mediasoup-3.12', node: process.execPath },
	{ name: 'mediasoup-3.27-side', node: node22Path() },
	{ name: 'mediasoup-3.27', node: node22Path() },
];
const only = process.env.MEDIASOUP_WATCHDOG_PROJECTS?.split(',').filter(Boolean);
// With a file filter, a project none of whose files match (a side lane, say) has nothing to run:
// that is not a failure of the run, and it says so ('no matching files').
const filtered = process.argv.length > 2;

function run(project) {
	const started = Date.now();
	console.log(`\n=== vitest project ${project.name} (${project.node})`);
	return new Promise((resolve) => {
		const args = [vitest, 'run', '--project', project.name, ...(filtered ? ['--passWithNoTests'] : []), ...process.argv.slice(2)];
		const child = spawn(project.node, args, {
			cwd: projectRoot,
			stdio: ['inherit', 'pipe', 'inherit'],
		});
		let tail = '';
		child.stdout.on('data', (chunk) => {
			process.stdout.write(chunk);
			tail = (tail + chunk.toString('utf8')).slice(-65536);
		});
		child.on('error', (error) => resolve({ ...project, code: 1, error, seconds: 0 }));
		child.on('close', (code, signal) => {
			const counts = /tests: (\d+) passed, (\d+) failed, (\d+) skipped/.exec(tail);
			const noFiles = filtered && code === 0 && !counts && /No test files found/.test(tail);
			resolve({
				...project,
				code: code ?? (signal ? 1 : 0),
				noFiles,
				counts: counts ? counts.slice(1).map(Number) : noFiles ? [0, 0, 0] : undefined,
				// test/helpers/summary-reporter.ts's `failed: …` lines, just before its closing line
				failures: tail.split('\n').filter((line) => line.startsWith('failed: ')),
				seconds: (Date.now() - started) / 1000,
			});
		});
	});
}

const results = [];
for (const project of projects) {
	if (only && !only.includes(project.name) && !only.includes(project.name.replace(/-side$/, ''))) continue;
	results.push(await run(project));
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
// Every failed test of the run, again at its very end, where a truncated log still shows them.
const failures = results.flatMap((r) => r.failures ?? []);
if (failures.length > 0) console.log(`\n=== failed tests\n${failures.join('\n')}`);
// A project that crashed before its summary counts as one failure, so the total never reads green.
console.log(`\ntests: ${total[0]} passed, ${total[1] + bad.filter((r) => !r.counts).length} failed, ${total[2]} skipped`);
process.exit(bad.length > 0 ? 1 : 0);
