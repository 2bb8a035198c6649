// A network cut between this host and a test namespace (netns.ts), without iptables: blackhole
// routes. On the host, a /32 blackhole for the namespace's address (nothing the host sends reaches
// it, and nothing leaks to the default route); in the namespace, a /32 blackhole for each host
// address it can reach (its routes back and the host's veth end). restore() puts the routes back.
// Both directions drop every packet (STUN, DTLS, RTP, RTCP); sockets and links stay as they are.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestNetns } from '../netns.js';

const run = promisify(execFile);

async function ip(...args: string[]): Promise<void> {
	await run('ip', args, { timeout: 10_000 });
}

export interface NetworkCut {
	readonly isCut: boolean;
	/** Drops everything between the host and the namespace; resolves once the routes are in place. */
	cut(): Promise<void>;
	/** Undoes cut(); idempotent. */
	restore(): Promise<void>;
}

export function networkCut(ns: TestNetns): NetworkCut {
	let isCut = false;
	return {
		get isCut() {
			return isCut;
		},
		async cut() {
			if (isCut) return;
			isCut = true;
			await ip('route', 'add', 'blackhole', `${ns.address}/32`);
			for (const host of [...ns.routedBack, ns.hostAddress]) {
				await ip('-n', ns.name, 'route', 'replace', 'blackhole', `${host}/32`);
			}
		},
		async restore() {
			if (!isCut) return;
			isCut = false;
			await ip('route', 'del', 'blackhole', `${ns.address}/32`).catch(() => {});
			for (const host of ns.routedBack) {
				await ip('-n', ns.name, 'route', 'replace', `${host}/32`, 'via', ns.hostAddress, 'dev', 'veth0');
			}
			await ip('-n', ns.name, 'route', 'del', 'blackhole', `${ns.hostAddress}/32`).catch(() => {});
		},
	};
}
