// docs/benchmarks.md is made of sections, each written by its own benchmark and kept when another
// one runs alone: the core report (bench/run.ts sections 1–3) first, then one marked block per
// extra section (`<!-- bench:NAME -->` … `<!-- /bench:NAME -->`), in the order of
// bench/sections/index.ts. Running one section (`BENCH_SECTIONS=fidelity npm run bench`)
// replaces its block and leaves every other figure as it was, with its own date.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const begin = (name: string): string => `<!-- bench:${name} -->`;
const end = (name: string): string => `<!-- /bench:${name} -->`;

/** The marked blocks of a report, by name, in file order. */
export function readSections(file: string): Map<string, string> {
	const sections = new Map<string, string>();
	if (!existsSync(file)) return sections;
	const text = readFileSync(file, 'utf8');
	for (const match of text.matchAll(/<!-- bench:([a-z0-9-]+) -->\n([\s\S]*?)<!-- \/bench:\1 -->/g)) {
		sections.set(match[1] as string, match[2] as string);
	}
	return sections;
}

/** The part of a report before its first marked block (the core report). */
export function readCore(file: string): string {
	if (!existsSync(file)) return '';
	const text = readFileSync(file, 'utf8');
	const first = text.indexOf('<!-- bench:');
	return first === -1 ? text : text.slice(0, first);
}

/** Writes `core` and `sections` (name → markdown) to `file`, blocks in `order`, unknown names last. */
export function writeReport(file: string, core: string, sections: ReadonlyMap<string, string>, order: readonly string[]): void {
	const names = [...order.filter((name) => sections.has(name)), ...[...sections.keys()].filter((name) => !order.includes(name))];
	const blocks = names.map((name) => `${begin(name)}\n${(sections.get(name) ?? '').trimEnd()}\n${end(name)}\n`);
	writeFileSync(file, [core.trimEnd(), '', ...blocks].join('\n'));
}

/** Replaces (or adds) one section's block in `file`, keeping the core report and every other block. */
export function writeSection(file: string, name: string, markdown: string, order: readonly string[]): void {
	const sections = readSections(file);
	sections.set(name, markdown);
	writeReport(file, readCore(file), sections, order);
}
