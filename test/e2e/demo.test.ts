// `npm run demo` end to end: the real entry point in a child process (real worker, real
// Chromium), its verdict table and exit code, and its timeline page rendered by Chromium.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS, scenarioNamed } from '../../examples/demo/catalog.js';
import { exitCodeFor } from '../../examples/demo/report.js';
import { launchChromium } from '../helpers/chromium/browser.js';

const ROOT = join(import.meta.dirname, '../..');

/**
 * Every scenario, in three runs of the demo so that a failure names its group and its scenario:
 * closes the watchdog makes or records at once (four Chromiums), closes that silence brings and
 * the healthy call (three), ICE restarts (one Chromium, two werift peers).
 */
const GROUPS = {
	closes: ['never-connected', 'clean-hangup', 'tab-closed-bound', 'restart-before-connect'],
	silence: ['healthy-call', 'tab-closed-unbound', 'browser-killed'],
	restarts: ['restart-granted', 'restart-rate-limited', 'restart-not-followed'],
} as const;
/** Scenarios whose verdict is held to a bound (a deadline or a detection bound): the table shows it. */
const BOUNDED = new Set(['never-connected', 'tab-closed-unbound', 'browser-killed', 'restart-granted', 'restart-not-followed']);
/**
 * A run of a group may take this long before it is killed: its clients start one at a time, each
 * within the harness's own start bounds (60 s), and a silence may take up to 30 s to judge.
 */
const GROUP_RUN_MS = 240_000;

interface Run {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
	ms: number;
}

/** Runs examples/demo.ts as `npm run demo` does (minus the worker check); kills it only after `timeoutMs`. */
function runDemo(args: string[], timeoutMs: number): Promise<Run> {
	const started = performance.now();
	const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts', ...args], {
		cwd: ROOT,
		env: { ...process.env, FORCE_COLOR: '0' },
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let stdout = '';
	let stderr = '';
	child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
		stdout += chunk;
	});
	child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
		stderr += chunk;
	});
	return new Promise((resolve) => {
		const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
		});
	});
}

interface Row {
	ok: string;
	scenario: string;
	expected: string;
	observed: string;
	clean: string;
	latency: string;
	bound: string;
	detection: string;
}

/** The verdict table's rows: `✓|✗|!  scenario  client  expected  observed  clean  latency  bound  detectionMs`. */
function tableRows(stdout: string): Row[] {
	return stdout
		.split('\n')
		.filter((line) => /^[✓✗!] {2}\S/.test(line))
		.map((line) => {
			const [ok = '', scenario = '', , expected = '', observed = '', clean = '', latency = '', bound = '', detection = ''] =
				line.split(/ {2,}/);
			return { ok, scenario, expected, observed, clean, latency, bound, detection };
		});
}

const ms = (cell: string): number => Number(/^(\d+(?:\.\d)?) ms$/.exec(cell)?.[1] ?? Number.NaN);

function describeRun(run: Run): string {
	return `exit ${run.code} (signal ${run.signal}) after ${Math.round(run.ms)} ms\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

/** Runs the demo on `scenarios` (in catalog order) into a fresh folder; checks and removes it afterwards. */
function playGroup(scenarios: readonly string[]): { run(): Run; outDir(): string } {
	let outDir = '';
	let run: Run | undefined;
	beforeAll(async () => {
		outDir = await mkdtemp(join(tmpdir(), 'msw-demo-test-'));
		run = await runDemo(['--scenario', scenarios.join(','), '--out', outDir, '--plain'], GROUP_RUN_MS);
	}, GROUP_RUN_MS + 15_000);
	afterAll(async () => {
		if (outDir) await rm(outDir, { recursive: true, force: true });
	});

	it('exits 0 by itself with every verdict as expected', () => {
		const done = run;
		if (!done) throw new Error('the demo did not run');
		const context = describeRun(done);
		expect(done.signal, `the demo did not exit by itself: ${context}`).toBeNull();
		expect(done.code, context).toBe(0);
		expect(done.stdout).toMatch(/connectTimeoutMs 3000/);
		expect(tableRows(done.stdout).map((row) => row.scenario)).toEqual([...scenarios]);
		expect(done.stdout).toContain(`${scenarios.length}/${scenarios.length} verdicts as expected`);
		expect(done.stdout).toContain(`timeline: ${join(outDir, 'timeline.html')}`);
	});

	it.each([...scenarios])('%s: the expected verdict, clean flag and timing', (name) => {
		const done = run;
		if (!done) throw new Error('the demo did not run');
		const scenario = scenarioNamed(name);
		if (!scenario) throw new Error(`no scenario ${name}`);
		const row = tableRows(done.stdout).find((r) => r.scenario === name);
		const context = describeRun(done);
		expect(row, context).toBeDefined();
		if (!row) return;
		expect(row.ok, context).toBe('✓');
		expect(row.expected).toBe(scenario.expected);
		expect(row.observed, context).toBe(scenario.expected);
		expect(row.clean).toBe(scenario.expectedClean === undefined ? '—' : String(scenario.expectedClean));
		if (scenario.expected === 'connected') expect(row.latency).toBe('—');
		else expect(row.latency).toMatch(/^\d+(\.\d)? ms$/);
		if (!BOUNDED.has(name)) {
			expect(row.bound).toBe('—');
			return;
		}
		// `bound ms +allowance`: what was measured stays within both (for inactive, the watchdog's own detectionMs).
		const bound = /^(\d+) ms \+(\d+)$/.exec(row.bound);
		expect(bound, context).not.toBeNull();
		const measured = scenario.expected === 'inactive' ? ms(row.detection) : ms(row.latency);
		expect(measured, context).toBeLessThanOrEqual(Number(bound?.[1]) + Number(bound?.[2]));
	});

	return {
		run: () => {
			if (!run) throw new Error('the demo did not run');
			return run;
		},
		outDir: () => outDir,
	};
}

describe('npm run demo', () => {
	it('lists every scenario with its client and expected verdict under --help', async () => {
		const help = await runDemo(['--help'], 20_000);
		expect(help.code).toBe(0);
		for (const scenario of SCENARIOS) {
			expect(help.stdout).toMatch(new RegExp(`^ {2}${scenario.name} +${scenario.client} +expect ${scenario.expected} `, 'm'));
		}
	});

	it('refuses an unknown scenario with exit code 2 and the list of scenarios', async () => {
		const bad = await runDemo(['--scenario', 'no-such-scenario'], 20_000);
		expect(bad.code).toBe(2);
		expect(bad.stderr).toContain('unknown scenario: no-such-scenario');
		expect(bad.stderr).toContain('restart-not-followed');
	});

	describe('closes made or recorded at once', () => {
		const closes = playGroup(GROUPS.closes);

		it('writes a self-contained timeline that Chromium renders with one row per watched transport', async () => {
			const file = join(closes.outDir(), 'timeline.html');
			expect(existsSync(file)).toBe(true);
			const browser = await launchChromium();
			try {
				const { page } = browser;
				const requests: string[] = [];
				page.on('request', (request) => requests.push(request.url()));
				await page.route('**/*', (route) =>
					route.request().url().startsWith('file:') ? route.continue() : route.abort('blockedbyclient'),
				);
				await page.goto(pathToFileURL(file).href);

				expect(await page.locator('h1').textContent()).toBe('mediasoup-watchdog demo');
				const sections = page.locator('section.scenario');
				expect(await sections.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-scenario')))).toEqual([
					...GROUPS.closes,
				]);
				expect(await page.locator('section.scenario.ok').count()).toBe(GROUPS.closes.length);

				// Each scenario launched one Chromium with one send transport: one row each, with states drawn.
				const rows = await page.locator('.row.transport').evaluateAll((nodes) =>
					nodes.map((node) => ({
						scenario: node.getAttribute('data-scenario'),
						transportId: node.getAttribute('data-transport-id'),
						closeReason: node.getAttribute('data-close-reason'),
						segments: node.querySelectorAll('.track .seg').length,
						width: node.querySelector('.track')?.getBoundingClientRect().width ?? 0,
					})),
				);
				expect(rows.map((row) => row.scenario)).toEqual([...GROUPS.closes]);
				for (const row of rows) {
					expect(row.transportId).toMatch(/^[0-9a-f-]{36}$/);
					expect(row.segments).toBeGreaterThan(0);
					expect(row.width).toBeGreaterThan(100);
				}
				// The deadline, the client's close_notify, the closed tab's WebSocket; the denied restart
				// leaves its transport to the app.
				expect(rows.map((row) => row.closeReason)).toEqual(['connect-timeout', 'dtls-closed', 'signaling-closed', 'app']);

				// Self-contained: no script, no external reference, and nothing but the file was requested.
				expect(await page.locator('script, link, img, iframe, [src], [href]').count()).toBe(0);
				expect(requests.every((url) => url.startsWith('file:'))).toBe(true);
			} finally {
				await browser.close();
			}
		});
	});

	describe('closes that silence brings, and a healthy call', () => {
		playGroup(GROUPS.silence);
	});

	describe('ICE restarts', () => {
		playGroup(GROUPS.restarts);
	});

	it('runs every scenario of the catalog in one of its groups', () => {
		expect(Object.values(GROUPS).flat().sort()).toEqual(SCENARIOS.map((scenario) => scenario.name).sort());
	});

	it('exits 1 unless every observed verdict is the expected one', () => {
		expect(exitCodeFor([{ match: true }, { match: true }])).toBe(0);
		expect(exitCodeFor([{ match: true }, { match: false }])).toBe(1);
		expect(exitCodeFor([])).toBe(1);
	});
});
