// One "SFU node" in its own Node process (redis-node-process.ts): its own mediasoup worker and
// router, its own ioredis client, and one watchdog whose store is `createRedisStore()`. Two of
// them sharing one redis-server are two SFU nodes of a cluster. The test drives each over IPC.
//
//   const a = await startSfuNode({ name: 'A', redisPort, policy });
//   const t = await a.connect('alice');          // a real werift peer, DTLS connected
//   const r = await a.restart(t.transportId);    // watch.restartIce(); the peer follows if granted
//   await a.shutdown();
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CHILD_ENTRY = fileURLToPath(new URL('./redis-node-process.ts', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const START_TIMEOUT_MS = 30_000;
const CALL_TIMEOUT_MS = 30_000;

/** The node's configuration (JSON: sent to the child). */
export interface SfuNodeConfig {
	/** Shows up in errors and in the child's output. */
	name: string;
	redisPort: number;
	keyPrefix?: string;
	commandTimeoutMs?: number;
	policy: {
		connectTimeoutMs: number;
		perUser: { limit: number; windowMs: number };
		maxPendingPerUser: number;
		onStoreError?: { restart?: 'deny' | 'allow'; pending?: 'deny' | 'allow' };
		/** `iceRestart.storm` (off when absent). */
		storm?: { perNode?: number; cluster?: number; windowMs?: number; jitterMs?: number };
		/** Policy `takeover: store.takeover`, with a subscriber made by `client.duplicate()`. */
		takeover?: boolean;
		requireConnectedOnce?: boolean;
		reconnectTimeoutMs?: number;
	};
}

/** A close the node's observer saw; `at` in epoch ms (performance.timeOrigin + now(): comparable across processes). */
export interface CloseRecord {
	transportId: string;
	userId: string | undefined;
	reason: string;
	clean: boolean;
	at: number;
}

/** One transport's restartIce() calls until granted (each denied one waited its retryAfterMs). */
export interface RestartRun {
	transportId: string;
	/** Epoch ms when the granted call started and when it resolved (null when none within the deadline). */
	granted: { start: number; end: number } | null;
	/** Every refusal before it. */
	denials: Array<{ reason: string; retryAfterMs: number | null }>;
}

export interface ConnectResult {
	transportId: string;
	/** Milliseconds from watch start to DTLS connected. */
	timeToConnectMs: number;
}

export interface PendingResult {
	transportId: string;
	/** Watch state once the store answered `addPending` (`closed` when the cap refused it). */
	state: string;
	closeReason: string | null;
}

export type RestartResult =
	| {
			outcome: 'granted';
			/** Milliseconds `watch.restartIce()` took (the store round trip included). */
			decisionMs: number;
			/**
			 * Whether the werift peer followed: its ICE is `connected` again with the new credentials and
			 * data echoes through the worker afterwards.
			 */
			reconnected: boolean;
			/** The watch's state afterwards (`restarting` until its deadline: mediasoup sees no new tuple). */
			watchState: string;
	  }
	| {
			outcome: 'denied';
			decisionMs: number;
			reason: string;
			retryAfterMs: number | null;
			/** `name` / `failure` of the denial's `cause` (a RedisStoreError for `store-unavailable`). */
			causeName: string | undefined;
			causeFailure: string | undefined;
	  };

export interface WatchInfo {
	state: string;
	closeReason: string | null;
}

/** What the child answers to each call. */
export interface NodeRpc {
	connect: { params: { userId: string }; result: ConnectResult };
	pending: { params: { userId: string }; result: PendingResult };
	restart: { params: { transportId: string }; result: RestartResult };
	watch: { params: { transportId: string }; result: WatchInfo };
	close: { params: { transportId: string }; result: WatchInfo };
	canCreate: { params: { userId: string }; result: boolean };
	redisStatus: { params: Record<string, never>; result: string };
	bind: { params: { userId: string }; result: { at: number } };
	closes: { params: Record<string, never>; result: CloseRecord[] };
	idle: { params: { userIds: string[] }; result: string[] };
	restartUntilGranted: {
		params: { transportIds: string[]; startAt: number; spreadMs: number; deadlineMs: number };
		result: RestartRun[];
	};
	problems: { params: Record<string, never>; result: string[] };
	shutdown: { params: Record<string, never>; result: { problems: string[] } };
}

export type NodeMethod = keyof NodeRpc;

export type ParentMessage = { kind: 'call'; id: number; method: NodeMethod; params: unknown };
export type ChildMessage =
	| { kind: 'ready' }
	| { kind: 'fatal'; message: string }
	| { kind: 'result'; id: number; result: unknown }
	| { kind: 'error'; id: number; message: string };

export interface SfuNode {
	readonly name: string;
	readonly pid: number;
	connect(userId: string): Promise<ConnectResult>;
	pending(userId: string): Promise<PendingResult>;
	restart(transportId: string): Promise<RestartResult>;
	watch(transportId: string): Promise<WatchInfo>;
	close(transportId: string): Promise<WatchInfo>;
	canCreate(userId: string): Promise<boolean>;
	redisStatus(): Promise<string>;
	/** `watchdog.bindSession(userId, signal)`; `at`: epoch ms just before. */
	bind(userId: string): Promise<{ at: number }>;
	/** Every close the observer saw so far. */
	closes(): Promise<CloseRecord[]>;
	/** One transport per user, no peer (stays `connecting`). */
	idle(userIds: string[]): Promise<string[]>;
	/**
	 * Each transport calls restartIce() at `startAt` (epoch ms) + a random 0…`spreadMs`, and again
	 * after each denial's retryAfterMs, until granted or `deadlineMs` after `startAt`.
	 */
	restartUntilGranted(params: NodeRpc['restartUntilGranted']['params']): Promise<RestartRun[]>;
	/** Unhandled rejections and uncaught exceptions the child saw so far. */
	problems(): Promise<string[]>;
	/** Closes clients, transports, the worker and the Redis connection; resolves once the child exited. */
	shutdown(): Promise<{ problems: string[] }>;
	/** Kills the child at once (cleanup after a failure). */
	kill(): void;
	output(): string;
}

export async function startSfuNode(config: SfuNodeConfig): Promise<SfuNode> {
	const node = new Node(config);
	try {
		await node.ready();
	} catch (error) {
		node.kill();
		throw error;
	}
	return node;
}

class Node implements SfuNode {
	readonly name: string;
	readonly #child: ChildProcess;
	readonly #pending = new Map<
		number,
		{ resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
	>();
	readonly #lines: string[] = [];
	readonly #exit: Promise<void>;
	#exitInfo: string | undefined;
	#nextId = 1;
	#readyWaiter: ((error?: Error) => void) | undefined;

	constructor(config: SfuNodeConfig) {
		this.name = config.name;
		this.#child = fork(CHILD_ENTRY, [JSON.stringify(config)], {
			execArgv: ['--import', TSX_LOADER],
			stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
			env: { ...process.env },
		});
		for (const stream of [this.#child.stdout, this.#child.stderr]) {
			stream?.setEncoding('utf8');
			stream?.on('data', (chunk: string) => {
				this.#lines.push(...chunk.split('\n').filter(Boolean));
				if (this.#lines.length > 300) this.#lines.splice(0, this.#lines.length - 300);
			});
		}
		this.#child.on('message', (message) => this.#onMessage(message as ChildMessage));
		this.#exit = new Promise((resolve) => {
			this.#child.once('exit', (code, signal) => {
				this.#exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
				for (const [id, call] of this.#pending) {
					this.#pending.delete(id);
					clearTimeout(call.timer);
					call.reject(this.#error(`node ${this.name} ${this.#exitInfo} during a call`));
				}
				this.#readyWaiter?.(this.#error(`node ${this.name} ${this.#exitInfo} before it was ready`));
				resolve();
			});
		});
	}

	get pid(): number {
		const pid = this.#child.pid;
		if (pid === undefined) throw new Error(`node ${this.name} has no pid`);
		return pid;
	}

	output(): string {
		return this.#lines.join('\n');
	}

	#error(message: string): Error {
		return new Error(`${message}\n--- node ${this.name} output ---\n${this.output()}`);
	}

	ready(): Promise<void> {
		return new Promise((resolve, reject) => {
			const timer = setTimeout(
				() => this.#readyWaiter?.(this.#error(`node ${this.name} not ready within ${START_TIMEOUT_MS} ms`)),
				START_TIMEOUT_MS,
			);
			this.#readyWaiter = (error) => {
				this.#readyWaiter = undefined;
				clearTimeout(timer);
				if (error) reject(error);
				else resolve();
			};
		});
	}

	#onMessage(message: ChildMessage): void {
		switch (message.kind) {
			case 'ready':
				this.#readyWaiter?.();
				return;
			case 'fatal':
				this.#readyWaiter?.(this.#error(`node ${this.name} failed to start: ${message.message}`));
				return;
			case 'result':
			case 'error': {
				const call = this.#pending.get(message.id);
				if (!call) return;
				this.#pending.delete(message.id);
				clearTimeout(call.timer);
				if (message.kind === 'result') call.resolve(message.result);
				else call.reject(this.#error(`node ${this.name}: ${message.message}`));
			}
		}
	}

	#call<M extends NodeMethod>(method: M, params: NodeRpc[M]['params']): Promise<NodeRpc[M]['result']> {
		if (this.#exitInfo) return Promise.reject(this.#error(`node ${this.name} ${this.#exitInfo}: cannot call ${method}`));
		const id = this.#nextId++;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#pending.delete(id);
				reject(this.#error(`node ${this.name}: ${method} got no answer within ${CALL_TIMEOUT_MS} ms`));
			}, CALL_TIMEOUT_MS);
			this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
			const message: ParentMessage = { kind: 'call', id, method, params };
			this.#child.send(message);
		});
	}

	connect(userId: string): Promise<ConnectResult> {
		return this.#call('connect', { userId });
	}
	pending(userId: string): Promise<PendingResult> {
		return this.#call('pending', { userId });
	}
	restart(transportId: string): Promise<RestartResult> {
		return this.#call('restart', { transportId });
	}
	watch(transportId: string): Promise<WatchInfo> {
		return this.#call('watch', { transportId });
	}
	close(transportId: string): Promise<WatchInfo> {
		return this.#call('close', { transportId });
	}
	canCreate(userId: string): Promise<boolean> {
		return this.#call('canCreate', { userId });
	}
	redisStatus(): Promise<string> {
		return this.#call('redisStatus', {});
	}
	bind(userId: string): Promise<{ at: number }> {
		return this.#call('bind', { userId });
	}
	closes(): Promise<CloseRecord[]> {
		return this.#call('closes', {});
	}
	idle(userIds: string[]): Promise<string[]> {
		return this.#call('idle', { userIds });
	}
	restartUntilGranted(params: NodeRpc['restartUntilGranted']['params']): Promise<RestartRun[]> {
		return this.#call('restartUntilGranted', params);
	}
	problems(): Promise<string[]> {
		return this.#call('problems', {});
	}

	async shutdown(): Promise<{ problems: string[] }> {
		const result = await this.#call('shutdown', {});
		const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
		await this.#exit;
		clearTimeout(timer);
		return result;
	}

	kill(): void {
		if (!this.#exitInfo) this.#child.kill('SIGKILL');
	}
}
