// mediasoup-watchdog/client as a browser gets it: bundled alone, minified, for the browser. It must
// stay small (≤ 4 KB gzipped) and import nothing (no Node built-in, no dependency).
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('the client bundle', () => {
	it('is ≤ 4 KB minified + gzipped and imports nothing', async () => {
		const result = await build({
			entryPoints: ['src/client/index.ts'],
			bundle: true,
			minify: true,
			format: 'esm',
			platform: 'browser',
			target: 'es2022',
			write: false,
			metafile: true,
		});
		const code = result.outputFiles[0]?.contents ?? new Uint8Array();
		const gzipped = gzipSync(code, { level: 9 }).length;
		console.log(`client bundle: ${code.length} B minified, ${gzipped} B gzipped`);
		expect(gzipped).toBeLessThanOrEqual(4096);
		const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports);
		expect(imports).toEqual([]);
		expect(Object.keys(result.metafile.inputs).every((input) => input.startsWith('src/'))).toBe(true);
		const text = new TextDecoder().decode(code);
		expect(text).not.toMatch(/\brequire\(|from"node:|process\./);
	});
});
