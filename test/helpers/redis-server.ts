// A real Debian `redis-server` for integration tests: 127.0.0.1, a free port, a temp dir, no
// persistence. Tests can stop it, start it again on the same port, and freeze it (SIGSTOP).
//
//   const redis = await startRedisServer();
//   ... new Redis({ port: redis.port }) ...
//   afterAll(() => redis.close());
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const START_TIMEOUT_MS = 10_000;

export interface RedisServer {
	readonly host: '127.0.0.1';
	readonly port: number;
	/** Whether the server process is running (and not stopped by `stop()`). */
	readonly running: boolean;
	/** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. Data is lost. */
	stop(): Promise<void>;
	/** Starts it again on the same port (empty, since nothing is persisted). */
	start(): Promise<void>;
	/** SIGKILL (a crash: no shutdown, connections reset) and waits for the exit. */
	kill(): Promise<void>;
	/** SIGSTOP: the server keeps its connections but answers nothing. */
	freeze(): void;
	/** SIGCONT after `freeze()`. */
	thaw(): void;
	/** Sends one command through a fresh connection (RESP inline) and returns the raw reply line. */
	command(...args: string[]): Promise<string>;
	/** `DBSIZE` as a number. */
	dbsize(): Promise<number>;
	/** `KEYS *`, sorted (test data sets are tiny). */
	keys(): Promise<string[]>;
	/** Stops the server and removes its directory. */
	close(): Promise<void>;
	/** The server's recent output. */
	output(): string;
}

/** Fails loudly, with the install line, when Debian's redis-server is missing. */
export function assertRedisServerInstalled(): void {
	const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
	if (probe.error || probe.status !== 0) {
		throw new Error(
			`redis-server not found (${probe.error?.message ?? `exit ${probe.status}`}): these tests need a real Redis. Install it with \`sudo apt-get install -y redis-server\` (Debian/Ubuntu) or set REDIS_SERVER_BIN`,
		);
	}
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			server.close(() => resolve(port));
		});
	});
}

/** How to start one server beyond the defaults (redis-cluster.ts, redis-sentinel.ts). */
export interface RedisServerOptions {
	/** More command-line options, e.g. `['--cluster-enabled', 'yes']` or `['--replicaof', host, port]`. */
	readonly extraArgs?: readonly string[];
	/**
	 * Runs `redis-server <dir>/sentinel.conf --sentinel` with this config text (port, bind and dir
	 * are added) instead of a data server. Sentinel rewrites the file; each server has its own dir.
	 */
	readonly sentinelConfig?: string;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
	assertRedisServerInstalled();
	const dir = mkdtempSync(join(tmpdir(), 'mediasoup-watchdog-redis-'));
	const port = await freePort();
	const server = new Server(port, dir, options);
	try {
		await server.start();
	} catch (error) {
		await server.close();
		throw error;
	}
	return server;
}

class Server implements RedisServer {
	readonly host = '127.0.0.1' as const;
	readonly port: number;
	readonly #dir: string;
	#child: ChildProcess | undefined;
	#exited: Promise<void> = Promise.resolve();
	readonly #lines: string[] = [];
	readonly #options: RedisServerOptions;

	constructor(port: number, dir: string, options: RedisServerOptions) {
		this.port = port;
		this.#dir = dir;
		this.#options = options;
	}

	#argv(): string[] {
		if (this.#options.sentinelConfig !== undefined) {
			const file = join(this.#dir, 'sentinel.conf');
			writeFileSync(file, `port ${this.port}\nbind 127.0.0.1\ndir ${this.#dir}\n${this.#options.sentinelConfig}\n`);
			return [file, '--sentinel'];
		}
		return [
			'--port',
			String(this.port),
			'--bind',
			'127.0.0.1',
			'--dir',
			this.#dir,
			'--save',
			'',
			'--appendonly',
			'no',
			'--daemonize',
			'no',
			'--protected-mode',
			'yes',
			'--loglevel',
			'notice',
			...(this.#options.extraArgs ?? []),
		];
	}

	get running(): boolean {
		return this.#child !== undefined;
	}

	output(): string {
		return this.#lines.join('\n');
	}

	async start(): Promise<void> {
		if (this.#child) throw new Error(`redis-server already running on port ${this.port}`);
		const child = spawn(REDIS_SERVER, this.#argv(), { stdio: ['ignore', 'pipe', 'pipe'] });
		this.#child = child;
		for (const stream of [child.stdout, child.stderr]) {
			stream?.setEncoding('utf8');
			stream?.on('data', (chunk: string) => {
				this.#lines.push(...chunk.split('\n').filter(Boolean));
				if (this.#lines.length > 200) this.#lines.splice(0, this.#lines.length - 200);
			});
		}
		this.#exited = new Promise((resolve) => {
			child.once('exit', () => {
				if (this.#child === child) this.#child = undefined;
				resolve();
			});
		});
		const deadline = Date.now() + START_TIMEOUT_MS;
		for (;;) {
			if (!this.#child) throw new Error(`redis-server exited at start (port ${this.port}):\n${this.output()}`);
			try {
				if ((await this.command('PING')) === '+PONG') return;
			} catch {
				// not listening yet
			}
			if (Date.now() > deadline) {
				throw new Error(`redis-server did not answer PING within ${START_TIMEOUT_MS} ms:\n${this.output()}`);
			}
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
	}

	async stop(): Promise<void> {
		const child = this.#child;
		if (!child) return;
		child.kill('SIGCONT'); // a frozen server cannot handle SIGTERM
		child.kill('SIGTERM');
		const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
		await this.#exited;
		clearTimeout(timer);
	}

	async kill(): Promise<void> {
		this.#child?.kill('SIGKILL');
		await this.#exited;
	}

	freeze(): void {
		if (!this.#child) throw new Error('redis-server is not running');
		this.#child.kill('SIGSTOP');
	}

	thaw(): void {
		if (!this.#child) throw new Error('redis-server is not running');
		this.#child.kill('SIGCONT');
	}

	command(...args: string[]): Promise<string> {
		const payload = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
		return new Promise((resolve, reject) => {
			const socket = new Socket();
			let data = '';
			const timer = setTimeout(() => {
				socket.destroy();
				reject(new Error(`redis-server did not answer ${args[0]} within 2 s`));
			}, 2_000);
			socket.setEncoding('utf8');
			socket.once('error', (error) => {
				clearTimeout(timer);
				reject(error);
			});
			socket.on('data', (chunk: string) => {
				data += chunk;
				if (!isCompleteReply(data)) return;
				clearTimeout(timer);
				socket.destroy();
				resolve(data.replace(/\r\n$/, ''));
			});
			socket.connect(this.port, this.host, () => socket.write(payload));
		});
	}

	async dbsize(): Promise<number> {
		const reply = await this.command('DBSIZE');
		if (!reply.startsWith(':')) throw new Error(`unexpected DBSIZE reply ${JSON.stringify(reply)}`);
		return Number(reply.slice(1));
	}

	async keys(): Promise<string[]> {
		const reply = await this.command('KEYS', '*');
		return parseArray(reply).sort();
	}

	async close(): Promise<void> {
		await this.stop();
		rmSync(this.#dir, { recursive: true, force: true });
	}
}

/** Whether `data` holds one whole RESP reply (simple, error, integer, bulk or flat array of bulks). */
function isCompleteReply(data: string): boolean {
	if (!data.endsWith('\r\n')) return false;
	const type = data[0];
	if (type === '+' || type === '-' || type === ':') return true;
	if (type === '$') return data.startsWith('$-1') || data.split('\r\n').length >= 3;
	if (type === '*') {
		const count = Number(data.slice(1, data.indexOf('\r\n')));
		return count <= 0 || data.split('\r\n').length - 2 >= count * 2;
	}
	return true;
}

function parseArray(reply: string): string[] {
	if (!reply.startsWith('*')) throw new Error(`expected an array reply, got ${JSON.stringify(reply)}`);
	const lines = reply.split('\r\n');
	const out: string[] = [];
	for (let i = 1; i < lines.length; i += 2) {
		const value = lines[i + 1];
		if (value !== undefined) out.push(value);
	}
	return out;
}
