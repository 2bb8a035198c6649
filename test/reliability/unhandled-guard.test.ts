// Proof that test/helpers/fail-on-unhandled.ts really fails a test file on an unhandled rejection
// or an uncaught exception, even when every test in it passes: child vitest runs over three probe
// files (test/reliability/fixtures/*.probe.ts), once with only the helper as a guard (vitest's own
// unhandled-error check turned off), once with no guard at all (the control), once with only
// vitest's own check.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VITEST = join(createRequire(import.meta.url).resolve('vitest/package.json'), '..', 'vitest.mjs');
const CONFIG = 'test/reliability/fixtures/probe.config.ts';
const outDir = mkdtempSync(join(tmpdir(), 'unhandled-guard-'));

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

interface ProbeRun {
	exitCode: number | null;
	files: Record<string, { status: string; message: string; tests: string[] }>;
}

function runProbes(guard: 'helper' | 'none' | 'vitest'): Promise<ProbeRun> {
	const outputFile = join(outDir, `${guard}.json`);
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [VITEST, 'run', '--config', CONFIG, '--reporter=json', `--outputFile=${outputFile}`], {
			cwd: ROOT,
			env: { ...process.env, PROBE_GUARD: guard, VITEST: undefined, VITEST_WORKER_ID: undefined, VITEST_POOL_ID: undefined },
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let output = '';
		child.stdout.on('data', (chunk: Buffer) => {
			output += chunk.toString();
		});
		child.stderr.on('data', (chunk: Buffer) => {
			output += chunk.toString();
		});
		child.on('error', reject);
		child.on('close', (exitCode) => {
			try {
				const report = JSON.parse(readFileSync(outputFile, 'utf8')) as {
					testResults: Array<{ name: string; status: string; message?: string; assertionResults: Array<{ status: string }> }>;
				};
				const files: ProbeRun['files'] = {};
				for (const result of report.testResults) {
					files[result.name.split('/').at(-1) as string] = {
						status: result.status,
						message: result.message ?? '',
						tests: result.assertionResults.map((test) => test.status),
					};
				}
				resolve({ exitCode, files });
			} catch (error) {
				reject(new Error(`child vitest (${guard}) left no report: ${String(error)}\n${output}`));
			}
		});
	});
}

describe('test/helpers/fail-on-unhandled.ts', () => {
	it('fails a file whose tests all pass when it leaves a rejection unhandled or lets a timer throw, and passes a clean file', async () => {
		const run = await runProbes('helper');
		expect(run.files['clean.probe.ts']).toEqual({ status: 'passed', message: '', tests: ['passed'] });
		expect(run.files['rejection.probe.ts']).toMatchObject({ status: 'failed', tests: ['passed'] });
		expect(run.files['rejection.probe.ts']?.message).toContain('probe: nobody handles this rejection');
		expect(run.files['exception.probe.ts']).toMatchObject({ status: 'failed', tests: ['passed'] });
		expect(run.files['exception.probe.ts']?.message).toContain('probe: thrown from a timer');
		expect(run.exitCode).toBe(1);
	});

	it('is what failed them: without it (and without vitest`s own check) the same probes pass', async () => {
		const run = await runProbes('none');
		expect(Object.values(run.files).map((file) => file.status)).toEqual(['passed', 'passed', 'passed']);
		expect(run.exitCode).toBe(0);
	});

	it('is backed by vitest`s own check, which fails the run (though not the file) on its own', async () => {
		const run = await runProbes('vitest');
		expect(Object.values(run.files).map((file) => file.status)).toEqual(['passed', 'passed', 'passed']);
		expect(run.exitCode).toBe(1);
	});
});
