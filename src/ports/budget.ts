// The port budget: which ports of the app's configured ranges the watched transports hold, per
// worker, protocol and address, and how many watched transports share each WebRtcServer. Fed by
// the watchdog at watch() and at the end of each watch; read by `snapshot().ports`.
//
// mediasoup keeps one pool per range: on 3.12 the worker's rtcMinPort–rtcMaxPort for each listen IP
// and protocol (worker/src/RTC/PortManager.cpp, mapUdpIpPorts/mapTcpIpPorts); on 3.14+ one per listen
// info's (protocol, IP, portRange), the worker's range still serving listen infos with neither
// `port` nor `portRange`. A transport takes one port per socket (UDP and TCP per listen info); a
// transport on a WebRtcServer takes none, it shares the server's sockets.
import { describeKind, describeValue } from '../checks.js';
import type { PortBudgetSnapshot, PortRange } from '../types.js';

/** What `checkPorts()` returns: the ranges a transport's ports come from, or its WebRtcServer. */
export type CheckedPorts = { readonly ranges: readonly PortRange[] } | { readonly webRtcServerId: string };

const MAX_PORT = 65_535;

/**
 * Checks `WatchOptions.ports`: a range `{ min, max }`, a non-empty list of them, or
 * `{ webRtcServer }`. TypeError for a wrong shape, RangeError for a port out of 1–65535 or min > max.
 */
export function checkPorts(value: unknown): CheckedPorts | undefined {
	if (value === undefined) return undefined;
	if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'webRtcServer' in value) {
		const server = (value as { webRtcServer: unknown }).webRtcServer;
		const id = (server as { id?: unknown } | null | undefined)?.id;
		if (typeof server !== 'object' || server === null || typeof id !== 'string') {
			throw new TypeError(
				`watchTransport() \`ports.webRtcServer\` must be a mediasoup WebRtcServer (with a string \`id\`), got ${describeKind(server)}`,
			);
		}
		return { webRtcServerId: id };
	}
	const list = Array.isArray(value) ? value : [value];
	if (list.length === 0 || list.some((r) => typeof r !== 'object' || r === null)) {
		throw new TypeError(
			`watchTransport() \`ports\` must be a port range { min, max }, a non-empty list of them, or { webRtcServer }, got ${describeValue(value)}`,
		);
	}
	const ranges = list.map((range: Record<string, unknown>, i): PortRange => {
		const at = Array.isArray(value) ? `ports[${i}]` : 'ports';
		const port = (key: 'min' | 'max'): number => {
			const n = range[key];
			if (typeof n !== 'number')
				throw new TypeError(`watchTransport() \`${at}.${key}\` must be a number, got ${describeValue(n)}`);
			if (!Number.isInteger(n) || n < 1 || n > MAX_PORT) {
				throw new RangeError(
					`watchTransport() \`${at}.${key}\` must be a whole port number between 1 and ${MAX_PORT}, got ${describeValue(n)}`,
				);
			}
			return n;
		};
		const min = port('min');
		const max = port('max');
		if (min > max)
			throw new RangeError(`watchTransport() \`${at}.min\` must not be above \`${at}.max\`, got min ${min} and max ${max}`);
		return Object.freeze({ min, max });
	});
	return { ranges };
}

/** A local socket of a transport, from one of its ICE candidates. */
interface Socket {
	readonly protocol: string;
	readonly address: string;
	readonly port: number;
}

interface RangePool {
	readonly pid: number | null;
	readonly protocol: 'udp' | 'tcp';
	readonly address: string;
	readonly min: number;
	readonly max: number;
	/** Port → how many watched transports hold it (more than one only for a shared socket). */
	readonly ports: Map<number, number>;
	transports: number;
}

interface ServerSlots {
	readonly pid: number | null;
	readonly id: string;
	transports: number;
}

/** What one watch holds, to give back at its end. */
type Holding =
	| { readonly pools: ReadonlyArray<{ pool: RangePool; ports: readonly number[] }> }
	| { readonly server: ServerSlots };

export class PortBudget {
	readonly #pools = new Map<string, RangePool>();
	readonly #servers = new Map<string, ServerSlots>();
	readonly #holdings = new Map<object, Holding>();

	/** Records what `holder`'s transport takes (read from its `iceCandidates`); nothing without `ports`. */
	hold(holder: object, pid: number | null, ports: CheckedPorts | undefined, transport: object): void {
		if (!ports || this.#holdings.has(holder)) return;
		if ('webRtcServerId' in ports) {
			const key = `${pid}|${ports.webRtcServerId}`;
			let server = this.#servers.get(key);
			if (!server) {
				server = { pid, id: ports.webRtcServerId, transports: 0 };
				this.#servers.set(key, server);
			}
			server.transports += 1;
			this.#holdings.set(holder, { server });
			return;
		}
		const byPool = new Map<RangePool, number[]>();
		for (const socket of socketsOf(transport)) {
			if (socket.protocol !== 'udp' && socket.protocol !== 'tcp') continue;
			const range = ports.ranges.find((r) => socket.port >= r.min && socket.port <= r.max);
			if (!range) continue;
			const key = `${pid}|${socket.protocol}|${socket.address}|${range.min}-${range.max}`;
			let pool = this.#pools.get(key);
			if (!pool) {
				pool = { pid, protocol: socket.protocol, address: socket.address, ...range, ports: new Map(), transports: 0 };
				this.#pools.set(key, pool);
			}
			const held = byPool.get(pool) ?? [];
			if (held.includes(socket.port)) continue; // one socket, announced and internal candidates
			held.push(socket.port);
			byPool.set(pool, held);
		}
		for (const [pool, held] of byPool) {
			pool.transports += 1;
			for (const port of held) pool.ports.set(port, (pool.ports.get(port) ?? 0) + 1);
		}
		this.#holdings.set(holder, { pools: [...byPool].map(([pool, held]) => ({ pool, ports: held })) });
	}

	/** Gives back what `holder` held. Idempotent. */
	release(holder: object): void {
		const holding = this.#holdings.get(holder);
		if (!holding) return;
		this.#holdings.delete(holder);
		if ('server' in holding) {
			holding.server.transports -= 1;
			if (holding.server.transports === 0) this.#servers.delete(`${holding.server.pid}|${holding.server.id}`);
			return;
		}
		for (const { pool, ports } of holding.pools) {
			pool.transports -= 1;
			for (const port of ports) {
				const left = (pool.ports.get(port) ?? 1) - 1;
				if (left === 0) pool.ports.delete(port);
				else pool.ports.set(port, left);
			}
			if (pool.transports === 0) {
				this.#pools.delete(`${pool.pid}|${pool.protocol}|${pool.address}|${pool.min}-${pool.max}`);
			}
		}
	}

	snapshot(): PortBudgetSnapshot {
		return {
			ranges: [...this.#pools.values()].map((pool) => {
				const size = pool.max - pool.min + 1;
				return {
					pid: pool.pid,
					protocol: pool.protocol,
					address: pool.address,
					min: pool.min,
					max: pool.max,
					size,
					taken: pool.ports.size,
					transports: pool.transports,
					share: pool.ports.size / size,
				};
			}),
			webRtcServers: [...this.#servers.values()].map(({ pid, id, transports }) => ({ pid, id, transports })),
		};
	}
}

/**
 * The transport's local sockets, from its ICE candidates (mediasoup lists one host candidate per
 * socket, two when an announced address also exposes the internal IP). 3.12 names the address
 * `ip`; 3.14+ `address` (the announced one when set). A transport without candidates holds nothing.
 */
function socketsOf(transport: object): Socket[] {
	let candidates: unknown;
	try {
		candidates = (transport as { iceCandidates?: unknown }).iceCandidates;
	} catch {
		return [];
	}
	if (!Array.isArray(candidates)) return [];
	const sockets: Socket[] = [];
	for (const c of candidates as Array<Partial<Record<string, unknown>>>) {
		const address = c?.address ?? c?.ip;
		if (typeof c?.protocol === 'string' && typeof c.port === 'number' && typeof address === 'string') {
			sockets.push({ protocol: c.protocol, address, port: c.port });
		}
	}
	return sockets;
}
