// The shipped alert rules (contrib/prometheus/alerts.yml): valid for the real `promtool check
// rules`, and each alert fires (or stays quiet) as contrib/prometheus/alerts.test.yml says under
// `promtool test rules`. Needs promtool (Debian package `prometheus`): fails loudly without it.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = fileURLToPath(new URL('../../contrib/prometheus/', import.meta.url));

async function promtool(...args: string[]): Promise<string> {
	try {
		const { stdout, stderr } = await run('promtool', args, { cwd: dir });
		return stdout + stderr;
	} catch (error) {
		const e = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
		if (e.code === 'ENOENT')
			throw new Error('promtool not found: install the Debian package `prometheus` (scripts/ensure-system-deps.sh)');
		throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
	}
}

describe('contrib/prometheus/alerts.yml', () => {
	it('passes promtool check rules', async () => {
		expect(await promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: 11 rules found/);
	});

	it('passes its promtool unit tests (alerts.test.yml)', async () => {
		expect(await promtool('test', 'rules', 'alerts.test.yml')).toMatch(/SUCCESS/);
	});

	it('has a unit test for every alert it defines', async () => {
		const rules = await readFile(`${dir}alerts.yml`, 'utf8');
		const tests = await readFile(`${dir}alerts.test.yml`, 'utf8');
		const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
		expect(alerts).toHaveLength(11);
		for (const alert of alerts)
			expect(tests, alert).toContain(`alertname: ${alert}\n        exp_alerts:\n          - exp_labels`);
	});
});
