// Every relative link in README.md and docs/*.md resolves to a file of the repository, and every
// `#anchor` to a heading of its target.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokenLinks, extractLinks, headingAnchors, slug } from './links.js';
import { docFiles, ROOT } from './samples.js';

describe('relative links of the docs', () => {
	for (const doc of docFiles()) {
		it(`resolves every relative link of ${doc}`, () => {
			expect(brokenLinks(ROOT, doc)).toEqual([]);
		});
	}
});

describe('the link checker', () => {
	it('extracts inline links, images and reference definitions, skipping code', () => {
		const text = [
			'see [the guide](docs/guide.md) and [x](https://example.com "title")',
			'![diagram](<docs/a b.png>) `[not](a.md)`',
			'[ref]: docs/faq.md#top',
		].join('\n');
		expect(extractLinks(text)).toEqual([
			{ line: 1, target: 'docs/guide.md' },
			{ line: 1, target: 'https://example.com' },
			{ line: 2, target: 'docs/a b.png' },
			{ line: 3, target: 'docs/faq.md#top' },
		]);
	});

	it('reports a missing file, a missing heading and a missing anchor in the same file, at their lines', async () => {
		const root = await mkdtemp(join(tmpdir(), 'msw-links-'));
		try {
			await mkdir(join(root, 'docs'));
			await writeFile(join(root, 'docs/a.md'), '# A\n\n## Step `one`: go!\n');
			await writeFile(
				join(root, 'README.md'),
				[
					'# Readme',
					'[ok](docs/a.md#step-one-go) [ok too](#readme)',
					'[gone](docs/missing.md)',
					'[bad anchor](docs/a.md#step-two)',
					'[bad local](#nowhere) `[in code](docs/nope.md)`',
					'```md',
					'[in a block](docs/nope.md)',
					'```',
				].join('\n'),
			);
			expect(brokenLinks(root, 'README.md')).toEqual([
				'README.md:3 docs/missing.md (no such file: docs/missing.md)',
				'README.md:4 docs/a.md#step-two (no heading #step-two in docs/a.md)',
				'README.md:5 #nowhere (no heading #nowhere in README.md)',
			]);
		} finally {
			await rm(root, { recursive: true, force: true });
		}
	});

	it('makes anchors as GitHub does', () => {
		expect(slug('5. The ICE restart round trip with mediasoup-client')).toBe(
			'5-the-ice-restart-round-trip-with-mediasoup-client',
		);
		expect(slug("Why don't I get a transport `close` event?")).toBe('why-dont-i-get-a-transport-close-event');
		expect([...headingAnchors('# FAQ\n## Same\n## Same\n```\n# not a heading\n```\n')]).toEqual(['faq', 'same', 'same-1']);
	});
});
