// The packed npm package (what users install) loads with both `require` and `import` on this
// Node, with only its declared runtime dependencies present. p-timeout is ESM-only, so this also
// proves the CJS build bundles it. Every entry shares one copy of the error classes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
let dir: string;

beforeAll(() => {
	dir = mkdtempSync(join(tmpdir(), 'mediasoup-watchdog-pack-'));
	execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'ignore' });
	const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
	const tarball = join(dir, out.trim().split('\n').pop() ?? '');
	const pkgDir = join(dir, 'node_modules', 'mediasoup-watchdog');
	mkdirSync(pkgDir, { recursive: true });
	execFileSync('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1']);
	// Only the declared runtime dependencies (and theirs) are made available.
	const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
	for (const dep of [...Object.keys(manifest.dependencies).filter((d) => d !== 'p-timeout'), 'ms']) {
		symlinkSync(join(root, 'node_modules', dep), join(dir, 'node_modules', dep));
	}
	// The optional peers the adapters need (their own dependencies resolve from the repository).
	for (const peer of ['prom-client', 'ioredis', 'rate-limiter-flexible']) {
		symlinkSync(join(root, 'node_modules', peer), join(dir, 'node_modules', peer));
	}
}, 120_000);

afterAll(() => {
	if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
	it('contains only dist, contrib (the alert rules and dashboard) and the manifest files', () => {
		const listing = execFileSync('find', ['.', '-type', 'f'], {
			cwd: join(dir, 'node_modules', 'mediasoup-watchdog'),
			encoding: 'utf8',
		})
			.trim()
			.split('\n')
			.sort();
		expect(listing).toContain('./contrib/prometheus/alerts.yml');
		expect(
			listing.every(
				(file) =>
					file.startsWith('./dist/') || file.startsWith('./contrib/') || /^\.\/(package\.json|README\.md|LICENSE)$/.test(file),
			),
		).toBe(true);
		expect(listing).toContain('./dist/index.cjs');
		expect(listing).toContain('./dist/index.d.cts');
	});

	it('loads with require() on Node 20 and exposes the front door', () => {
		const out = execFileSync(
			process.execPath,
			[
				'-e',
				"const m = require('mediasoup-watchdog'); console.log(typeof m.watchTransport, typeof m.definePolicy, m.definePolicy().connectTimeoutMs)",
			],
			{ cwd: dir, encoding: 'utf8' },
		);
		expect(out.trim()).toBe('function function 15000');
	});

	it('loads with import and exposes the same exports as require()', () => {
		const out = execFileSync(
			process.execPath,
			[
				'--input-type=module',
				'-e',
				"import * as esm from 'mediasoup-watchdog'; import { createRequire } from 'node:module'; const cjs = createRequire(process.cwd() + '/x.js')('mediasoup-watchdog'); console.log(JSON.stringify([Object.keys(esm).sort(), Object.keys(cjs).sort()]))",
			],
			{ cwd: dir, encoding: 'utf8' },
		);
		const [esmKeys, cjsKeys] = JSON.parse(out) as [string[], string[]];
		expect(esmKeys).toContain('watchTransport');
		expect(esmKeys).toEqual(cjsKeys);
	});

	// A second exporter on one registry throws a WatchdogError from './prometheus'; a Redis store
	// error from './redis' is one too: both must be instances of the class '.' exports.
	const identity = (load: (entry: string) => string): string => `
		const core = ${load("'mediasoup-watchdog'")};
		const { registerPrometheusMetrics } = ${load("'mediasoup-watchdog/prometheus'")};
		const { RedisStoreError } = ${load("'mediasoup-watchdog/redis'")};
		const { Registry } = ${load("'prom-client'")};
		const registry = new Registry();
		const watchdog = core.createWatchdog();
		registerPrometheusMetrics(watchdog, { registry });
		let prometheus;
		try { registerPrometheusMetrics(watchdog, { registry }); } catch (error) { prometheus = error; }
		const redis = new RedisStoreError({ operation: 'countPending', failure: 'timeout', userId: 'u', message: 'm' });
		console.log(JSON.stringify({
			prometheus: prometheus instanceof core.WatchdogError,
			redis: redis instanceof core.WatchdogError,
			guard: core.isWatchdogError(redis),
		}));`;

	it('shares one WatchdogError across `.`, `./prometheus` and `./redis` with require()', () => {
		const out = execFileSync(process.execPath, ['-e', identity((entry) => `require(${entry})`)], { cwd: dir, encoding: 'utf8' });
		expect(JSON.parse(out)).toEqual({ prometheus: true, redis: true, guard: true });
	});

	it('shares one WatchdogError across `.`, `./prometheus` and `./redis` with import', () => {
		const out = execFileSync(process.execPath, ['--input-type=module', '-e', identity((entry) => `await import(${entry})`)], {
			cwd: dir,
			encoding: 'utf8',
		});
		expect(JSON.parse(out)).toEqual({ prometheus: true, redis: true, guard: true });
	});

	it('keeps the core entry free of the optional adapters', () => {
		const core = readFileSync(join(dir, 'node_modules', 'mediasoup-watchdog', 'dist', 'index.js'), 'utf8');
		expect(core).not.toMatch(/ioredis|rate-limiter-flexible|prom-client/);
	});
});
