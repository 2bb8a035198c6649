// docs/closures.md and docs/policy.md stay true to the code: their tables are parsed and held to
// CLEAN_REASONS, DEFAULT_POLICY, definePolicy()'s validation and the watch's actual behaviour.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CloseReason, DEFAULT_POLICY, definePolicy, type WatchdogPolicyOptions, watchTransport } from '../../src/index.js';
import { CLEAN_REASONS } from '../../src/reasons.js';
import { createFakeTransport, FakeWebRtcServer } from '../helpers/fake-transport.js';

/** The rows of the first markdown table whose header starts with `firstHeader`. */
function table(file: string, firstHeader: string): string[][] {
	const lines = readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8').split('\n');
	const start = lines.findIndex((line) => line.startsWith(`| ${firstHeader} |`));
	if (start < 0) throw new Error(`docs/${file} has no table starting with "${firstHeader}"`);
	const rows: string[][] = [];
	for (const line of lines.slice(start + 2)) {
		if (!line.startsWith('|')) break;
		const cells = line
			.replaceAll('\\|', '\u0000')
			.split('|')
			.slice(1, -1)
			.map((cell) => cell.trim().replaceAll('\u0000', '|'));
		rows.push(cells);
	}
	return rows;
}

const unquote = (cell: string): string => cell.replace(/^`(.*)`$/, '$1');

describe('docs/closures.md', () => {
	const rows = table('closures.md', 'reason');
	const byReason = new Map(rows.map((cells) => [unquote(cells[0] ?? ''), cells]));

	it('has one row for every CloseReason, and no other', () => {
		expect([...byReason.keys()].sort()).toEqual(Object.keys(CLEAN_REASONS).sort());
		expect(rows).toHaveLength(Object.keys(CLEAN_REASONS).length);
	});

	it('gives every reason the `clean` that src/watch/reasons.ts gives it', () => {
		for (const [reason, cells] of byReason) {
			expect(cells[2], reason).toBe(CLEAN_REASONS[reason as CloseReason] ? 'yes' : 'no');
		}
	});

	it('says closedByWatchdog yes exactly for the reasons it calls caused', () => {
		for (const [reason, cells] of byReason) {
			const expected = cells[1] === 'caused' ? 'yes' : 'no';
			expect(cells[3], reason).toBe(expected);
		}
	});

	describe('matches what a watch reports', () => {
		beforeEach(() => {
			vi.useFakeTimers();
		});
		afterEach(() => {
			vi.useRealTimers();
		});

		type Scenario = ReturnType<typeof createFakeTransport> & {
			server: FakeWebRtcServer;
			watch: ReturnType<typeof watchTransport>;
		};
		const scenarios: Partial<Record<CloseReason, (s: Scenario) => unknown>> = {
			'connect-timeout': () => vi.advanceTimersByTimeAsync(DEFAULT_POLICY.connectTimeoutMs),
			'dtls-closed': ({ transport }) => transport.clientCloseNotify(),
			'dtls-failed': ({ transport }) => transport.emitDtlsState('failed'),
			'ice-disconnected': ({ transport }) => {
				transport.connectClient();
				transport.emitIceState('disconnected');
				return vi.advanceTimersByTimeAsync(DEFAULT_POLICY.disconnectGraceMs);
			},
			app: ({ watch }) => watch.close(),
			'transport-closed': ({ transport }) => transport.close(),
			'router-closed': ({ router }) => router.close(),
			'listen-server-closed': ({ server }) => server.close(),
			'worker-died': ({ worker }) => worker.die(),
			stopped: ({ watch }) => watch.stop(),
		};

		for (const [reason, run] of Object.entries(scenarios)) {
			it(`\`${reason}\`: clean and closedByWatchdog as the table says`, async () => {
				const server = new FakeWebRtcServer();
				const fake = createFakeTransport({ webRtcServer: server });
				const policy: WatchdogPolicyOptions = { inactivityTimeoutMs: Number.POSITIVE_INFINITY };
				const watch = watchTransport(fake.transport, policy, { worker: fake.worker });
				await run({ ...fake, server, watch });
				const info = await watch.closed;
				const cells = byReason.get(reason);
				expect(info.reason).toBe(reason);
				expect(info.clean ? 'yes' : 'no').toBe(cells?.[2]);
				expect(info.closedByWatchdog ? 'yes' : 'no').toBe(cells?.[3]);
			});
		}
	});
});

describe('docs/policy.md', () => {
	const rows = table('policy.md', 'option');
	const byOption = new Map(rows.map((cells) => [unquote(cells[0] ?? ''), cells]));

	/** Every option path of the policy, groups included (`iceRestart`, `iceRestart.perUser`, …). */
	function paths(value: object, prefix = ''): string[] {
		return Object.entries(value).flatMap(([key, child]) => {
			const path = `${prefix}${key}`;
			const nested = typeof child === 'object' && child !== null && !Array.isArray(child) ? paths(child, `${path}.`) : [];
			return [path, ...nested];
		});
	}

	/** Options that set `path` to `value`. */
	function optionsAt(path: string, value: unknown): WatchdogPolicyOptions {
		const keys = path.split('.');
		const options: Record<string, unknown> = {};
		let node = options;
		for (const key of keys.slice(0, -1)) {
			const child: Record<string, unknown> = {};
			node[key] = child;
			node = child;
		}
		node[keys.at(-1) ?? ''] = value;
		return options as WatchdogPolicyOptions;
	}

	const read = (value: unknown, path: string): unknown =>
		path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | false)?.[key as never], value);

	const number = (text: string): number => Number(text.replaceAll('_', ''));

	it('has one row for every option, and no row for an option that does not exist', () => {
		expect([...byOption.keys()].sort()).toEqual(paths(DEFAULT_POLICY).sort());
	});

	it('gives the default DEFAULT_POLICY has, for every number, boolean and string option', () => {
		for (const path of paths(DEFAULT_POLICY)) {
			const value = read(DEFAULT_POLICY, path);
			if (!['number', 'boolean', 'string'].includes(typeof value)) continue;
			const cell = unquote(byOption.get(path)?.[2] ?? '');
			const documented =
				typeof value === 'number'
					? number(cell)
					: cell === 'true'
						? true
						: cell === 'false'
							? false
							: cell.replace(/^'(.*)'$/, '$1');
			expect(documented, path).toBe(value);
		}
	});

	it('documents ranges that definePolicy() enforces at both ends', () => {
		for (const [path, cells] of byOption) {
			const range = unquote(cells[3] ?? '');
			if (range === '') continue;
			if (range === '> 0') {
				expect(() => definePolicy(optionsAt(path, 0)), path).toThrow(RangeError);
				expect(read(definePolicy(optionsAt(path, 0.001)), path), path).toBe(0.001);
				continue;
			}
			const match = /^([\d_]+) …(?: ([\d_]+))?$/.exec(range);
			if (!match) throw new Error(`cannot read the range of \`${path}\`: ${range}`);
			const min = number(match[1] ?? '');
			expect(read(definePolicy(optionsAt(path, min)), path), `${path} = ${min}`).toBe(min);
			expect(() => definePolicy(optionsAt(path, min - 1)), `${path} = ${min - 1}`).toThrow(RangeError);
			if (match[2] !== undefined) {
				const max = number(match[2]);
				expect(read(definePolicy(optionsAt(path, max)), path), `${path} = ${max}`).toBe(max);
				expect(() => definePolicy(optionsAt(path, max + 1)), `${path} = ${max + 1}`).toThrow(RangeError);
			}
		}
	});

	it('says truly what Infinity does to each option', () => {
		for (const [path, cells] of byOption) {
			const infinity = cells[4] ?? '';
			if (infinity === '') continue;
			const options = optionsAt(path, Number.POSITIVE_INFINITY);
			if (infinity === 'refused') {
				expect(() => definePolicy(options), path).toThrow(RangeError);
			} else if (infinity === 'off') {
				const resolved = definePolicy(options);
				// A rate limit of Infinity is the same as no limit: the group becomes `false`.
				const off = path === 'iceRestart.perUser.limit' ? resolved.iceRestart.perUser : read(resolved, path);
				expect(off === Number.POSITIVE_INFINITY || off === false, path).toBe(true);
			} else {
				throw new Error(`unknown Infinity column for \`${path}\`: ${infinity}`);
			}
		}
	});
});
