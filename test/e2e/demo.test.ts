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
const FAST_SCENARIOS = ['clean-hangup', 'restart-before-connect'] as const;

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

/** The verdict table's rows: `✓|✗  scenario  client  expected  observed  latency  bound`. */
function tableRows(stdout: string): Array<{ ok: string; scenario: string; expected: string; observed: string; latency: string }> {
	return stdout
		.split('\n')
		.filter((line) => /^[✓✗] {2}\S/.test(line))
		.map((line) => {
			const [ok = '', scenario = '', , expected = '', observed = '', latency = ''] = line.split(/ {2,}/);
			return { ok, scenario, expected, observed, latency };
		});
}

describe('npm run demo', () => {
	let outDir: string;
	let run: Run;

	beforeAll(async () => {
		outDir = await mkdtemp(join(tmpdir(), 'msw-demo-test-'));
		run = await runDemo(['--scenario', FAST_SCENARIOS.join(','), '--out', outDir, '--plain'], 75_000);
	}, 90_000);

	afterAll(async () => {
		if (outDir) await rm(outDir, { recursive: true, force: true });
	});

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

	it('plays the chosen scenarios against the real worker, prints matching verdicts and exits 0 by itself', () => {
		const context = `exit ${run.code} (signal ${run.signal}) after ${Math.round(run.ms)} ms\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
		expect(run.signal, `the demo did not exit by itself: ${context}`).toBeNull();
		expect(run.code, context).toBe(0);
		expect(run.stdout).toMatch(/connectTimeoutMs 3000/);
		const rows = tableRows(run.stdout);
		expect(rows.map((row) => row.scenario)).toEqual([...FAST_SCENARIOS]);
		for (const row of rows) {
			expect(row.ok, context).toBe('✓');
			expect(row.expected).toBe(scenarioNamed(row.scenario)?.expected);
			expect(row.observed, context).toBe(row.expected);
			expect(row.latency).toMatch(/^\d+(\.\d)? ms$/);
		}
		expect(run.stdout).toContain(`${FAST_SCENARIOS.length}/${FAST_SCENARIOS.length} verdicts as expected`);
		expect(run.stdout).toContain(`timeline: ${join(outDir, 'timeline.html')}`);
	});

	it('writes a self-contained timeline that Chromium renders with one row per watched transport', async () => {
		const file = join(outDir, 'timeline.html');
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
				...FAST_SCENARIOS,
			]);
			expect(await page.locator('section.scenario.ok').count()).toBe(FAST_SCENARIOS.length);

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
			expect(rows.map((row) => row.scenario)).toEqual([...FAST_SCENARIOS]);
			for (const row of rows) {
				expect(row.transportId).toMatch(/^[0-9a-f-]{36}$/);
				expect(row.segments).toBeGreaterThan(0);
				expect(row.width).toBeGreaterThan(100);
			}
			// clean-hangup ends in the client's close_notify; the denied restart leaves its transport to the app.
			expect(rows.map((row) => row.closeReason)).toEqual(['dtls-closed', 'app']);

			// Self-contained: no script, no external reference, and nothing but the file was requested.
			expect(await page.locator('script, link, img, iframe, [src], [href]').count()).toBe(0);
			expect(requests.every((url) => url.startsWith('file:'))).toBe(true);
		} finally {
			await browser.close();
		}
	});

	it('exits 1 unless every observed verdict is the expected one', () => {
		expect(exitCodeFor([{ match: true }, { match: true }])).toBe(0);
		expect(exitCodeFor([{ match: true }, { match: false }])).toBe(1);
		expect(exitCodeFor([])).toBe(1);
	});
});
