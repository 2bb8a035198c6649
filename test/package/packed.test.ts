// The packed npm package (what users install) loads with both `require` and `import` on this
// Node, with only its declared runtime dependencies present. p-timeout is ESM-only, so this also
// proves the CJS build bundles it.
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
}, 120_000);

afterAll(() => {
	if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
	it('contains only dist and the manifest files', () => {
		const listing = execFileSync('find', ['.', '-type', 'f'], {
			cwd: join(dir, 'node_modules', 'mediasoup-watchdog'),
			encoding: 'utf8',
		})
			.trim()
			.split('\n')
			.sort();
		expect(listing.every((file) => file.startsWith('./dist/') || /^\.\/(package\.json|README\.md|LICENSE)$/.test(file))).toBe(
			true,
		);
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

	it('keeps the core entry free of the optional adapters', () => {
		const core = readFileSync(join(dir, 'node_modules', 'mediasoup-watchdog', 'dist', 'index.js'), 'utf8');
		expect(core).not.toMatch(/ioredis|rate-limiter-flexible|prom-client/);
	});
});
