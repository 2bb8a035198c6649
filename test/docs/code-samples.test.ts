// Every ```ts sample in README.md and docs/*.md compiles against the real public API, with the
// project's strict settings (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess…).
import { beforeAll, describe, expect, it } from 'vitest';
import { allSamples, extractSamples, type Sample, sampleId, typeCheckSamples } from './samples.js';

const samples = allSamples();
let errors: Map<string, string[]>;

beforeAll(() => {
	errors = typeCheckSamples(samples);
}, 120_000);

describe('code samples of the docs', () => {
	it('finds samples in the README and the guide', () => {
		const docs = new Set(samples.map((sample) => sample.doc));
		expect(docs).toContain('README.md');
		expect(docs).toContain('docs/guide.md');
	});

	for (const sample of samples) {
		it(`type-checks the sample at ${sampleId(sample)}`, () => {
			expect(errors.get(sampleId(sample))).toEqual([]);
		});
	}
});

describe('the sample checker', () => {
	it('reports a sample that misuses the API, at its line in the doc', () => {
		const doc = [
			'# Broken',
			'',
			'```ts',
			"import { definePolicy } from 'mediasoup-watchdog';",
			'',
			'definePolicy({ connectTimeout: 5_000 });',
			'```',
			'',
		].join('\n');
		const [broken] = extractSamples('docs/broken.md', doc);
		expect(broken).toBeDefined();
		const found = typeCheckSamples([broken as Sample]).get(sampleId(broken as Sample));
		expect(found).toHaveLength(1);
		expect(found?.[0]).toMatch(/^docs\/broken\.md:6:16 TS2561 .*'connectTimeout'.*connectTimeoutMs/);
	}, 120_000);

	it('takes ts and typescript blocks only, with their first line', () => {
		const doc = ['```ts', 'const a = 1;', '```', '```js', 'var b;', '```', '~~~typescript', 'const c = 3;', '~~~'].join('\n');
		expect(extractSamples('x.md', doc)).toEqual([
			{ doc: 'x.md', line: 2, code: 'const a = 1;' },
			{ doc: 'x.md', line: 8, code: 'const c = 3;' },
		]);
	});
});
