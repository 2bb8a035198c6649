// Reading the text a prom-client Registry serves (`registry.metrics()`) in tests.

/** `name{labels} value` lines of a scrape, as a map (comments left out). */
export function samples(text: string): Map<string, number> {
	const map = new Map<string, number>();
	for (const line of text.split('\n')) {
		if (line === '' || line.startsWith('#')) continue;
		const at = line.lastIndexOf(' ');
		map.set(line.slice(0, at), Number(line.slice(at + 1)));
	}
	return map;
}
