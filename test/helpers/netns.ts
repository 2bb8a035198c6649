// A network namespace of the test's own, for a mediasoup worker that a client must reach over a
// real (non-loopback) interface: Firefox never pairs with a 127.0.0.1 server candidate
// (/work/shared/clients.md). The namespace gets one end of a veth pair with a /30 that nothing on
// this machine uses, the host keeps the other end, and the namespace gets a /32 route back to each
// of the host's own IPv4 addresses (Firefox's host candidate is its default-route address). The
// worker runs inside it through a wrapper script (`ip netns exec NS <worker> "$@"`, so mediasoup's
// pipes on fds 3/4 still work) and listens on the namespace's veth address.
//
// Nothing leaves the machine: the namespace has no default route, only its /30 and the /32s back to
// this host's addresses. Needs root (ip netns). Names start with NETNS_PREFIX and carry the pid of
// the process that made them, so a later run deletes the namespaces of dead runs.
//
//   const ns = await createTestNetns();
//   const worker = await createTestWorker({ binary: ns.workerBinary(realBinary) });
//   router.createWebRtcTransport({ listenIps: [{ ip: ns.address }] });
//   await ns.remove();
import { execFile, execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Prefix of every namespace (and veth interface) this helper makes. */
export const NETNS_PREFIX = 'mswns';

export interface TestNetns {
	/** Namespace name: `mswns<pid>x<random>`. */
	readonly name: string;
	/** The namespace's veth address: what the worker listens on. */
	readonly address: string;
	/** The host's end of the veth pair (same /30). */
	readonly hostAddress: string;
	/** The /30 in CIDR form. */
	readonly subnet: string;
	/** Host IPv4 addresses the namespace has a /32 route back to (via the veth). */
	readonly routedBack: readonly string[];
	/**
	 * A wrapper script running `binary` inside the namespace (`exec ip netns exec NS binary "$@"`),
	 * to be used as mediasoup's worker binary; removed by remove().
	 */
	workerBinary(binary: string): string;
	/** Deletes the namespace (and so the veth pair) and the wrapper scripts. Idempotent. */
	remove(): Promise<void>;
}

async function ip(...args: string[]): Promise<string> {
	try {
		const { stdout } = await run('ip', args, { timeout: 10_000 });
		return stdout;
	} catch (error) {
		const stderr = (error as { stderr?: string }).stderr?.trim();
		throw new Error(`\`ip ${args.join(' ')}\` failed${stderr ? `: ${stderr}` : ''} (a network namespace needs root)`, {
			cause: error,
		});
	}
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

const NAME = new RegExp(`^${NETNS_PREFIX}(\\d+)x[0-9a-f]+$`);

/** Deletes the namespaces of this helper whose process is gone (a killed test run); returns their names. */
export async function removeStaleNetns(): Promise<string[]> {
	const removed: string[] = [];
	for (const line of (await ip('netns', 'list')).split('\n')) {
		const name = line.split(' ')[0] ?? '';
		const match = NAME.exec(name);
		if (!match || isAlive(Number(match[1]))) continue;
		await ip('netns', 'delete', name).catch(() => {});
		removed.push(name);
	}
	// The wrapper-script folders of dead runs.
	for (const entry of readdirSync(tmpdir())) {
		const match = /^(mswns(\d+)x[0-9a-f]+)-/.exec(entry);
		if (match && !isAlive(Number(match[2]))) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
	}
	return removed;
}

/** Every IPv4 prefix in use on this host (addresses and routes), as [network, length]. */
async function usedPrefixes(): Promise<Array<[number, number]>> {
	const used: Array<[number, number]> = [];
	const text = `${await ip('-4', '-o', 'addr', 'show')}\n${await ip('-4', 'route', 'show', 'table', 'all')}`;
	for (const match of text.matchAll(/(?:^|\s)(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/gm)) {
		used.push([toInt(match[1] as string), match[2] ? Number(match[2]) : 32]);
	}
	return used;
}

function toInt(address: string): number {
	return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function toAddress(n: number): string {
	return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

function overlaps(a: number, aLen: number, b: number, bLen: number): boolean {
	const len = Math.min(aLen, bLen);
	const size = 2 ** (32 - len);
	return Math.floor(a / size) === Math.floor(b / size);
}

/** The host's own non-loopback IPv4 addresses (Firefox's candidates come from these). */
async function hostAddresses(): Promise<string[]> {
	const addresses: string[] = [];
	for (const line of (await ip('-4', '-o', 'addr', 'show')).split('\n')) {
		const match = /^\d+: (\S+)\s+inet (\d+\.\d+\.\d+\.\d+)\//.exec(line);
		if (match && match[1] !== 'lo' && !match[1]?.startsWith(NETNS_PREFIX)) addresses.push(match[2] as string);
	}
	return addresses;
}

/**
 * Makes a namespace with a veth pair on an unused /30 in 10.200.0.0/16 (checked against every
 * address and route on this host), the namespace's loopback up, and /32 routes back to the host's
 * addresses. Deletes stale namespaces of dead runs first.
 */
export async function createTestNetns(): Promise<TestNetns> {
	if (process.getuid?.() !== 0) throw new Error('createTestNetns() needs root (ip netns add)');
	await removeStaleNetns();
	const suffix = randomInt(0x10000, 0xfffff).toString(16);
	const name = `${NETNS_PREFIX}${process.pid}x${suffix}`;
	// Interface names are at most 15 characters; deleting the namespace deletes the pair.
	const hostIf = `${NETNS_PREFIX}${suffix}`;
	const nsIf = 'veth0';
	const used = await usedPrefixes();
	let subnet: number | undefined;
	for (let attempt = 0; attempt < 200 && subnet === undefined; attempt++) {
		const candidate = toInt('10.200.0.0') + randomInt(0, 16_384) * 4;
		if (!used.some(([network, length]) => overlaps(candidate, 30, network, length))) subnet = candidate;
	}
	if (subnet === undefined) throw new Error('no unused /30 found in 10.200.0.0/16 for the test namespace');
	const hostAddress = toAddress(subnet + 1);
	const address = toAddress(subnet + 2);
	const back = await hostAddresses();
	const scripts = mkdtempSync(join(tmpdir(), `${name}-`));

	let created = false;
	let removing: Promise<void> | undefined;
	// A test process that exits without remove() (a timeout, an uncaught error) still deletes it.
	const onExit = (): void => {
		rmSync(scripts, { recursive: true, force: true });
		try {
			execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore', timeout: 5_000 });
		} catch {
			// Already gone; a later run's removeStaleNetns() catches anything left.
		}
	};
	process.once('exit', onExit);
	const remove = (): Promise<void> => {
		removing ??= (async () => {
			process.off('exit', onExit);
			rmSync(scripts, { recursive: true, force: true });
			if (created) await ip('netns', 'delete', name);
			// Deleting the namespace deletes its veth end and with it the pair; a pair made before
			// the move into the namespace failed is deleted here.
			await ip('link', 'delete', hostIf).catch(() => {});
		})();
		return removing;
	};
	try {
		await ip('netns', 'add', name);
		created = true;
		await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', name);
		await ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
		await ip('link', 'set', hostIf, 'up');
		await ip('-n', name, 'link', 'set', 'lo', 'up');
		await ip('-n', name, 'addr', 'add', `${address}/30`, 'dev', nsIf);
		await ip('-n', name, 'link', 'set', nsIf, 'up');
		for (const host of back) await ip('-n', name, 'route', 'add', `${host}/32`, 'via', hostAddress, 'dev', nsIf);
	} catch (error) {
		await remove().catch(() => {});
		throw error;
	}

	let scriptCount = 0;
	return {
		name,
		address,
		hostAddress,
		subnet: `${toAddress(subnet)}/30`,
		routedBack: back,
		workerBinary(binary) {
			const path = join(scripts, `worker-${scriptCount++}.sh`);
			const quoted = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
			writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${quoted(name)} ${quoted(binary)} "$@"\n`);
			chmodSync(path, 0o755);
			return path;
		},
		remove,
	};
}
