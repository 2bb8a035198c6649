// Finds the relative links of a Markdown file and checks that each resolves: the file (or folder)
// exists and, for `file.md#anchor` or `#anchor`, the heading exists (GitHub's anchor rules).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export interface Link {
	/** 1-based line in the doc. */
	readonly line: number;
	readonly target: string;
}

/** The doc's text with fenced code blocks and inline code spans blanked (lines kept). */
function withoutCode(text: string): string {
	const lines = text.split('\n');
	let fence: string | undefined;
	return lines
		.map((line) => {
			const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
			if (fence) {
				if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
				return '';
			}
			if (marker) {
				fence = marker;
				return '';
			}
			return line.replace(/(`+)[^`]*?\1/g, '');
		})
		.join('\n');
}

/** Inline links and images `[text](target "title")` and reference definitions `[ref]: target`. */
export function extractLinks(text: string): Link[] {
	const links: Link[] = [];
	for (const [index, line] of withoutCode(text).split('\n').entries()) {
		for (const match of line.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*(?:<([^>]*)>|([^)\s]*))(?:\s+"[^"]*")?\s*\)/g)) {
			const target = match[1] ?? match[2];
			if (target !== undefined) links.push({ line: index + 1, target });
		}
		const definition = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$/.exec(line);
		if (definition?.[1]) links.push({ line: index + 1, target: definition[1] });
	}
	return links;
}

/** GitHub's anchors of a Markdown file's headings (`## Foo bar` → `foo-bar`, repeats get `-1`…). */
export function headingAnchors(text: string): Set<string> {
	const anchors = new Set<string>();
	const seen = new Map<string, number>();
	for (const line of withoutCodeKeepingInline(text).split('\n')) {
		const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
		if (heading === undefined) continue;
		const base = slug(heading);
		const count = seen.get(base) ?? 0;
		seen.set(base, count + 1);
		anchors.add(count === 0 ? base : `${base}-${count}`);
	}
	return anchors;
}

function withoutCodeKeepingInline(text: string): string {
	let fence: string | undefined;
	return text
		.split('\n')
		.map((line) => {
			const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
			if (fence) {
				if (marker && marker[0] === fence[0] && line.trim() === marker) fence = undefined;
				return '';
			}
			if (marker) fence = marker;
			return marker ? '' : line;
		})
		.join('\n');
}

/** The anchor GitHub gives a heading's text. */
export function slug(heading: string): string {
	const text = heading
		.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images keep their text
		.replace(/<[^>]+>/g, '') // inline HTML
		.replace(/[`*]/g, '');
	return text
		.toLowerCase()
		.replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
		.replace(/\s/g, '-');
}

/** Every relative link of `doc` (a path under `root`) that does not resolve, as `doc:line target (why)`. */
export function brokenLinks(root: string, doc: string): string[] {
	const path = join(root, doc);
	const text = readFileSync(path, 'utf8');
	const broken: string[] = [];
	for (const { line, target } of extractLinks(text)) {
		if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
		const [rawPath = '', anchor] = target.split('#', 2);
		const file = rawPath === '' ? path : join(dirname(path), decodeURIComponent(rawPath));
		const where = `${doc}:${line} ${target}`;
		if (!existsSync(file)) {
			broken.push(`${where} (no such file: ${relative(root, file)})`);
			continue;
		}
		if (anchor === undefined || anchor === '') continue;
		if (!statSync(file).isFile() || !file.endsWith('.md')) continue;
		if (!headingAnchors(readFileSync(file, 'utf8')).has(decodeURIComponent(anchor).toLowerCase())) {
			broken.push(`${where} (no heading #${anchor} in ${relative(root, file)})`);
		}
	}
	return broken;
}
