// Extracts the ```ts code samples of the docs and type-checks them with the project's strict
// compiler settings, each sample as a module of its own, `mediasoup-watchdog` (and its subpaths)
// resolved to src/, plus the ambient names of prelude.d.mts.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export const ROOT = join(import.meta.dirname, '../..');
const PRELUDE = join(ROOT, 'test/docs/prelude.d.mts');
/** Where the samples live for the compiler (never written to disk). */
const SAMPLES_DIR = join(ROOT, '.doc-samples');

export interface Sample {
	/** e.g. `docs/guide.md`. */
	readonly doc: string;
	/** 1-based line of the sample's first code line in the doc. */
	readonly line: number;
	readonly code: string;
}

/** README.md and every docs/*.md, relative to the project root. */
export function docFiles(): string[] {
	const docs = readdirSync(join(ROOT, 'docs'), { withFileTypes: true })
		.filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
		.map((entry) => `docs/${entry.name}`)
		.sort();
	return ['README.md', ...docs];
}

/** Every fenced block whose info string is `ts` or `typescript`. */
export function extractSamples(doc: string, text: string): Sample[] {
	const samples: Sample[] = [];
	const lines = text.split('\n');
	let open: { fence: string; ts: boolean; start: number; body: string[] } | undefined;
	for (const [index, line] of lines.entries()) {
		if (!open) {
			const match = /^ {0,3}(`{3,}|~{3,})\s*([\w-]*)/.exec(line);
			if (match?.[1]) {
				const lang = (match[2] ?? '').toLowerCase();
				open = { fence: match[1], ts: lang === 'ts' || lang === 'typescript', start: index + 2, body: [] };
			}
			continue;
		}
		const fence = open.fence;
		if (line.trimStart().startsWith(fence) && line.trim().replaceAll(fence[0] ?? '`', '') === '') {
			if (open.ts) samples.push({ doc, line: open.start, code: open.body.join('\n') });
			open = undefined;
			continue;
		}
		open.body.push(line);
	}
	if (open) throw new Error(`${doc}: a code block opened at line ${open.start - 1} is never closed`);
	return samples;
}

/** Every sample of README.md and docs/*.md. */
export function allSamples(): Sample[] {
	return docFiles().flatMap((doc) => extractSamples(doc, readFileSync(join(ROOT, doc), 'utf8')));
}

export function sampleId(sample: Sample): string {
	return `${sample.doc}:${sample.line}`;
}

function compilerOptions(): ts.CompilerOptions {
	const parsed = ts.parseJsonConfigFileContent(
		{
			extends: './tsconfig.json',
			compilerOptions: {
				noEmit: true,
				declaration: false,
				sourceMap: false,
				rootDir: '.',
				lib: ['ES2022', 'ESNext.Disposable', 'DOM'],
				types: ['node'],
				baseUrl: '.',
				paths: {
					'mediasoup-watchdog': ['./src/index.ts'],
					'mediasoup-watchdog/redis': ['./src/adapters/redis.ts'],
					'mediasoup-watchdog/prometheus': ['./src/adapters/prometheus.ts'],
					'mediasoup-watchdog/client': ['./src/client/index.ts'],
				},
			},
			files: [],
		},
		ts.sys,
		ROOT,
	);
	const fatal = parsed.errors.filter((error) => error.code !== 18002); // "files list is empty"
	if (fatal.length > 0) throw new Error(ts.formatDiagnostics(fatal, formatHost));
	return parsed.options;
}

const formatHost: ts.FormatDiagnosticsHost = {
	getCanonicalFileName: (fileName) => fileName,
	getCurrentDirectory: () => ROOT,
	getNewLine: () => '\n',
};

/**
 * Type-checks every sample in one program. Returns each sample's errors as
 * `doc:line:column message` (line and column in the doc), keyed by `sampleId()`.
 */
export function typeCheckSamples(samples: readonly Sample[]): Map<string, string[]> {
	const options = compilerOptions();
	const files = new Map<string, Sample>();
	for (const [index, sample] of samples.entries()) {
		files.set(join(SAMPLES_DIR, `sample-${index}.ts`), sample);
	}
	const host = ts.createCompilerHost(options, true);
	const { fileExists, readFile, getSourceFile } = host;
	host.fileExists = (fileName) => files.has(fileName) || fileExists.call(host, fileName);
	host.readFile = (fileName) => files.get(fileName)?.code ?? readFile.call(host, fileName);
	host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
		const sample = files.get(fileName);
		if (sample) return ts.createSourceFile(fileName, sample.code, languageVersion, true);
		return getSourceFile.call(host, fileName, languageVersion, onError, shouldCreate);
	};
	const program = ts.createProgram({ rootNames: [PRELUDE, ...files.keys()], options, host });

	const result = new Map<string, string[]>(samples.map((sample) => [sampleId(sample), []]));
	const preludeErrors: string[] = [];
	for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
		const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
		const file = diagnostic.file;
		const sample = file ? files.get(file.fileName) : undefined;
		if (file && sample && diagnostic.start !== undefined) {
			const { line, character } = file.getLineAndCharacterOfPosition(diagnostic.start);
			result.get(sampleId(sample))?.push(`${sample.doc}:${sample.line + line}:${character + 1} TS${diagnostic.code} ${message}`);
		} else if (file?.fileName === PRELUDE || !file) {
			preludeErrors.push(`${file ? relative(ROOT, file.fileName) : '(global)'} TS${diagnostic.code} ${message}`);
		}
		// Errors inside src/ are the typecheck's business, not the docs'.
	}
	if (preludeErrors.length > 0) throw new Error(`the samples' prelude does not compile:\n${preludeErrors.join('\n')}`);
	return result;
}
