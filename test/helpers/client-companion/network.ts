// A silent network cut between this host and a test namespace (netns.ts), without iptables: every
// packet either way is dropped one hop away from the browser, so neither browser gets a send error
// or a link change (a cut in the middle of the path, which only timeouts reveal).
//   - in the namespace, policy-routing rules drop what arrives on its veth and what its sockets
//     (the worker) send: `ip rule ... blackhole`, ahead of the local table (moved behind them once);
//   - on the host, the namespace address's neighbour entry is pinned (`nud permanent`) while cut, so
//     no ARP failure tells the host (and through it the browser) that the path is gone.
// A blackhole *route* on the host would not do: the browser's sendto() then fails at once (Firefox
// reports 'disconnected' 18 ms after such a cut, measured; Chromium ignores it).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestNetns } from '../netns.js';

const run = promisify(execFile);

async function ip(...args: string[]): Promise<string> {
	return (await run('ip', args, { timeout: 10_000 })).stdout;
}

export interface NetworkCut {
	readonly isCut: boolean;
	/** Drops everything between the host and the namespace; resolves once the rules are in place. */
	cut(): Promise<void>;
	/** Undoes cut(); idempotent. */
	restore(): Promise<void>;
}

export function networkCut(ns: TestNetns): NetworkCut {
	let isCut = false;
	let prepared: Promise<{ hostIf: string; mac: string }> | undefined;
	const prepare = (): Promise<{ hostIf: string; mac: string }> => {
		prepared ??= (async () => {
			// The local table moves behind the cut's rules (pref 0 cannot be shared).
			await ip('-n', ns.name, 'rule', 'add', 'pref', '100', 'lookup', 'local');
			await ip('-n', ns.name, 'rule', 'del', 'pref', '0', 'lookup', 'local');
			const hostIf = /\bdev (\S+)/.exec(await ip('-o', 'route', 'get', ns.address))?.[1];
			const mac = /link\/ether (\S+)/.exec(await ip('-n', ns.name, '-o', 'link', 'show', 'veth0'))?.[1];
			if (!hostIf || !mac) throw new Error(`cannot find the veth pair of namespace ${ns.name}`);
			return { hostIf, mac };
		})();
		return prepared;
	};
	return {
		get isCut() {
			return isCut;
		},
		async cut() {
			if (isCut) return;
			const { hostIf, mac } = await prepare();
			isCut = true;
			await ip('neigh', 'replace', ns.address, 'lladdr', mac, 'dev', hostIf, 'nud', 'permanent');
			await ip('-n', ns.name, 'rule', 'add', 'pref', '10', 'iif', 'veth0', 'blackhole');
			await ip('-n', ns.name, 'rule', 'add', 'pref', '11', 'from', ns.address, 'blackhole');
		},
		async restore() {
			if (!isCut) return;
			isCut = false;
			const { hostIf } = await prepare();
			await ip('-n', ns.name, 'rule', 'del', 'pref', '10').catch(() => {});
			await ip('-n', ns.name, 'rule', 'del', 'pref', '11').catch(() => {});
			// Learnt again by ARP on the next packet.
			await ip('neigh', 'del', ns.address, 'dev', hostIf).catch(() => {});
		},
	};
}
