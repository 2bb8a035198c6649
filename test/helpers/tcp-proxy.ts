// A TCP proxy on 127.0.0.1 in front of one server port, for tests that need to take a real client's
// ICE-TCP connections away and give them back: `cut()` closes every proxied connection (the
// server sees each TCP connection close), `block()` makes the proxy close every new connection at
// once (the client cannot reconnect), `unblock()` lets them through again.
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export interface TcpProxy {
	/** The proxy's own port, to give the client instead of the server's. */
	readonly port: number;
	/** Connections accepted and piped to the server so far. */
	readonly accepted: number;
	/** Connections closed at once while blocked. */
	readonly refused: number;
	/** Proxied connections open now. */
	readonly open: number;
	/**
	 * Closes proxied connections, both sides; returns how many. `serverSidePort`: only the one whose
	 * port towards the server is this (the `remotePort` of the server's selected tuple).
	 */
	cut(serverSidePort?: number): number;
	block(): void;
	unblock(): void;
	close(): Promise<void>;
}

/** Starts a proxy to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
	const pairs = new Set<[Socket, Socket]>();
	let blocked = false;
	let accepted = 0;
	let refused = 0;
	const server: Server = createServer((client) => {
		if (blocked) {
			refused += 1;
			client.destroy();
			return;
		}
		accepted += 1;
		client.setNoDelay(true);
		const upstream = tcpConnect({ host: '127.0.0.1', port: targetPort, noDelay: true });
		const pair: [Socket, Socket] = [client, upstream];
		pairs.add(pair);
		const end = (): void => {
			pairs.delete(pair);
			client.destroy();
			upstream.destroy();
		};
		for (const socket of pair) {
			socket.on('error', end);
			socket.on('close', end);
		}
		client.pipe(upstream);
		upstream.pipe(client);
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			server.off('error', reject);
			resolve();
		});
	});
	const address = server.address();
	if (address === null || typeof address === 'string') throw new Error('the TCP proxy has no port');
	const cut = (serverSidePort?: number): number => {
		let count = 0;
		for (const pair of [...pairs]) {
			const [client, upstream] = pair;
			if (serverSidePort !== undefined && upstream.localPort !== serverSidePort) continue;
			pairs.delete(pair);
			client.destroy();
			upstream.destroy();
			count += 1;
		}
		return count;
	};
	return {
		port: address.port,
		get accepted() {
			return accepted;
		},
		get refused() {
			return refused;
		},
		get open() {
			return pairs.size;
		},
		cut,
		block: () => {
			blocked = true;
		},
		unblock: () => {
			blocked = false;
		},
		close: () =>
			new Promise<void>((resolve) => {
				cut();
				server.close(() => resolve());
			}),
	};
}
