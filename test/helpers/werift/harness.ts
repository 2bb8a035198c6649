// A real werift peer, in its own child process, connected to a server-side mediasoup
// WebRtcTransport (data-only, `enableSctp: true`) without mediasoup-client: the SDP is built
// from the transport's parameters (sdp.ts). Because the peer is a separate process the tests can
// SIGKILL it (a vanished client: werift never sends close_notify), SIGSTOP it (a frozen one) or
// close it.
//
//   const client = await startWeriftClient({ transport });
//   await client.waitForConnected();
//   ...
//   afterEach(() => closeAllWeriftClients());
//
// Starting the child (fork, tsx, werift import) takes about a second idle and well over 10 s on
// 2 busy cores: a cost of the harness, not of a client. A test whose transport has a deadline
// spawns first and creates (and watches) the transport once the peer is ready:
//
//   const peer = await spawnWeriftClient();
//   const transport = await createTestTransport(router, { enableSctp: true });
//   watchdog.watch(transport);
//   const client = await peer.connect({ transport });
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { types } from 'mediasoup';
import type {
	ChannelSpec,
	ChildToParent,
	ClientEvent,
	ClientStateSnapshot,
	ParentToChild,
	RpcMethod,
	RpcMethods,
} from './protocol.js';
import { buildAnswerSdp, type OfferInfo, parseOffer, type ServerParams } from './sdp.js';

const CHILD_ENTRY = fileURLToPath(new URL('./client-process.ts', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const OUTPUT_LINES_KEPT = 200;
const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * Default of {@link WeriftClientOptions.spawnTimeoutMs}: forking Node with tsx and importing werift
 * takes about a second on an idle machine and more than 10 s on 2 cores busy with browsers.
 */
export const DEFAULT_WERIFT_SPAWN_TIMEOUT_MS = 60_000;

/** Options of `spawnWeriftClient()`: the child process alone. */
export interface WeriftSpawnOptions {
	/** `DEBUG` for the child (werift logs with `debug`, e.g. `'werift*'`); kept in `output()`. */
	debug?: string;
	/**
	 * Bound for the child's start (fork, tsx, werift import) until it says ready, in ms. Default
	 * {@link DEFAULT_WERIFT_SPAWN_TIMEOUT_MS}. A child that misses it is killed and spawned once more.
	 */
	spawnTimeoutMs?: number;
}

/** Options of `WeriftPeer.connect()`: the negotiation with one server transport. */
export interface WeriftConnectOptions {
	/** Server-side transport, created with `enableSctp: true` and not yet connected. */
	transport: types.WebRtcTransport;
	/**
	 * Create a server-side DataProducer (werift → server) and a DataConsumer of it on the same
	 * transport (server → werift), so `echo()` can move data through the real worker.
	 * Default true. Either way werift opens one negotiated channel (id 0) so SCTP comes up.
	 */
	echo?: boolean;
	/** Bound for each signaling step, in ms. Default 10 000. */
	timeoutMs?: number;
}

export type WeriftClientOptions = WeriftSpawnOptions & WeriftConnectOptions;

/** A werift child that is up and not yet negotiated with any transport. */
export interface WeriftPeer {
	/** Child process id. */
	readonly pid: number;
	/** Milliseconds the spawn took (the last attempt's), and how many attempts it needed. */
	readonly spawn: { readonly ms: number; readonly attempts: number };
	/**
	 * Negotiates the child with `transport` (once per peer). Resolves once the signaling is done;
	 * call `waitForConnected()` for the handshakes. On failure the child is gone.
	 */
	connect(options: WeriftConnectOptions): Promise<WeriftClient>;
	/** Ends the child (when it will not be connected after all). */
	close(): Promise<void>;
}

/** The step of `startWeriftClient()` that failed. */
export type WeriftStartStep = 'spawn' | 'signaling';

/**
 * A werift client that did not start: its child process did not come up, or the offer/answer
 * with the server transport failed. A failure of the harness, with the child's output; the child
 * is gone.
 */
export class WeriftStartError extends Error {
	override readonly name = 'WeriftStartError';
	readonly step: WeriftStartStep;
	/** Milliseconds from the call to the failure. */
	readonly afterMs: number;

	constructor(step: WeriftStartStep, afterMs: number, cause: Error) {
		super(`werift client did not start (step '${step}', after ${Math.round(afterMs)} ms): ${cause.message}`, { cause });
		this.step = step;
		this.afterMs = afterMs;
	}
}

/** Something the server-side transport reported (its observer), with `Date.now()`. */
export type ServerEvent =
	| { type: 'icestatechange'; state: types.IceState; at: number }
	| { type: 'iceselectedtuplechange'; tuple: types.TransportTuple; at: number }
	| { type: 'dtlsstatechange'; state: types.DtlsState; at: number }
	| { type: 'sctpstatechange'; state: types.SctpState; at: number };

/** Milliseconds spent in each step of `startWeriftClient()`. */
export interface StartTimings {
	/** Fork + tsx + werift import until the child said ready. */
	spawnMs: number;
	/** Server DataProducer/DataConsumer (with `echo`), then peer connection, channels, offer and gathering in the child. */
	offerMs: number;
	/** `transport.connect()` plus werift applying the answer. */
	signalingMs: number;
	/** Whole `startWeriftClient()` call. */
	totalMs: number;
}

export interface RestartIceOptions {
	/**
	 * Call `iceTransport.start()` after the new descriptions (default true). werift 0.24–0.25
	 * sends no checks without it, so `kick: false` gives a client whose restart silently stalls.
	 */
	kick?: boolean;
	/** How long to wait for ICE to reconnect before returning, in ms (default 5 000). */
	waitMs?: number;
}

/** Result of `restartIce()`, as the child saw it. */
export interface RestartIceResult {
	iceStatesBefore: string[];
	/** 'connected' once ICE reconnected; 'checking' if it had not within `waitMs`. */
	iceStatesAfter: string[];
	/** Errors from `iceTransport.start()` so far (later ones arrive as 'icestartfailed' events). */
	startErrors: string[];
	/** Wall time of the whole restart (offer, answer, start and wait). */
	ms: number;
}

export interface WeriftClient {
	/** Child process id. */
	readonly pid: number;
	readonly transport: types.WebRtcTransport;
	readonly timings: StartTimings;
	/** Events from the transport's observer since the start, oldest first. */
	readonly serverEvents: readonly ServerEvent[];
	/** Events from werift (state changes, channel opens, messages, faults), oldest first. */
	readonly clientEvents: readonly ClientEvent[];
	/** True once the child process has exited (killed, closed or crashed). */
	readonly exited: boolean;
	/** Server-side data path, when `echo` is on. */
	readonly dataProducer: types.DataProducer | undefined;
	readonly dataConsumer: types.DataConsumer | undefined;
	/**
	 * Resolves when the server's DTLS and SCTP and werift's connection are all 'connected';
	 * rejects early (with the child's output) if the child dies or DTLS fails. Times are ms from
	 * the start of the negotiation (`connect()`, after the spawn; see `timings`) to the server's
	 * DTLS 'connected' and to all of them (within the 5 ms poll).
	 */
	waitForConnected(timeoutMs?: number): Promise<{ dtlsConnectedMs: number; allConnectedMs: number }>;
	/** Sends `text` werift → server → werift through the worker; resolves with the round trip in ms. */
	echo(text: string, timeoutMs?: number): Promise<number>;
	/**
	 * Applies the server's new ICE parameters (from `transport.restartIce()`) through a new
	 * offer/answer and kicks ICE; resolves once ICE reconnected or `waitMs` passed.
	 */
	restartIce(iceParameters: types.IceParameters, options?: RestartIceOptions): Promise<RestartIceResult>;
	/** werift's own view of the connection. */
	state(): Promise<ClientStateSnapshot>;
	/** SIGKILL: the peer vanishes without a word. */
	kill(): void;
	/** SIGSTOP: the peer freezes (no consent checks, nothing). */
	stop(): void;
	/** SIGCONT after `stop()`. */
	cont(): void;
	/** `pc.close()` in the child, then its exit; kills a stopped or unresponsive child. Idempotent. */
	close(): Promise<void>;
	/** The child's recent stdout/stderr (last 200 lines). */
	output(): string;
}

const liveClients = new Set<Client>();
const decorated = new WeakSet<Error>();

/** Closes every client started by this module that is still around (use in `afterEach`). */
export async function closeAllWeriftClients(): Promise<void> {
	await Promise.all([...liveClients].map((client) => client.close()));
}

/**
 * Spawns a werift peer in its own process and waits until it is ready. A child that does not come
 * up within `spawnTimeoutMs` (or dies first) is killed and spawned once more: a harness failure,
 * reported as a `WeriftStartError` with step 'spawn' when the second attempt fails too.
 */
export async function spawnWeriftClient(options: WeriftSpawnOptions = {}): Promise<WeriftPeer> {
	const spawnTimeoutMs = options.spawnTimeoutMs ?? DEFAULT_WERIFT_SPAWN_TIMEOUT_MS;
	const started = performance.now();
	let firstFailure: Error | undefined;
	for (let attempt = 1; ; attempt++) {
		const attemptStarted = performance.now();
		const client = new Client(options);
		try {
			await client.ready(spawnTimeoutMs);
			const spawn = { ms: performance.now() - attemptStarted, attempts: attempt };
			client.timings.spawnMs = spawn.ms;
			return {
				pid: client.pid,
				spawn,
				connect: (connectOptions) => negotiate(client, connectOptions),
				close: () => client.close(),
			};
		} catch (error) {
			const decorated = client.decorate(error);
			await client.close();
			if (attempt >= 2) {
				const cause = firstFailure
					? new Error(`${decorated.message}\n--- first attempt ---\n${firstFailure.message}`)
					: decorated;
				throw new WeriftStartError('spawn', performance.now() - started, cause);
			}
			firstFailure = decorated;
		}
	}
}

/**
 * Spawns a werift peer in its own process and negotiates it with `transport`: werift offers (one
 * negotiated DataChannel per stream), the server answers as ICE-Lite with `a=setup:passive`, and
 * `transport.connect()` gets werift's sha-256 fingerprint with role 'client'. Resolves once the
 * signaling is done; call `waitForConnected()` for the handshakes. The spawn happens after the
 * transport exists: when the transport is watched with a deadline, `spawnWeriftClient()` first.
 */
export async function startWeriftClient(options: WeriftClientOptions): Promise<WeriftClient> {
	if (options.transport.closed) throw new Error('startWeriftClient: the transport is closed');
	const peer = await spawnWeriftClient(options);
	return peer.connect(options);
}

async function negotiate(client: Client, options: WeriftConnectOptions): Promise<WeriftClient> {
	const { transport } = options;
	const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	const { sctpParameters } = transport;
	if (transport.closed || !sctpParameters) {
		await client.close();
		throw new Error(
			`WeriftPeer.connect: ${transport.closed ? 'the transport is closed' : 'the transport has no sctpParameters; create it with enableSctp: true'}`,
		);
	}
	const server: ServerParams = {
		iceParameters: transport.iceParameters,
		iceCandidates: transport.iceCandidates,
		dtlsParameters: transport.dtlsParameters,
		sctpParameters,
	};
	client.attach(transport, server);

	const started = performance.now();
	try {
		const channels: ChannelSpec[] = [{ label: 'up', id: 0 }];
		if (options.echo ?? true) {
			const dataProducer = await transport.produceData({
				sctpStreamParameters: { streamId: 0, ordered: true },
				label: 'werift-up',
			});
			const dataConsumer = await transport.consumeData({ dataProducerId: dataProducer.id });
			const downId = dataConsumer.sctpStreamParameters?.streamId;
			if (downId === undefined) throw new Error('server DataConsumer has no SCTP stream id');
			client.dataProducer = dataProducer;
			client.dataConsumer = dataConsumer;
			client.downLabel = downId === 0 ? 'up' : 'down';
			if (downId !== 0) channels.push({ label: 'down', id: downId });
		}

		const { sdp: offerSdp } = await client.call('offer', { channels }, timeoutMs);
		const offered = performance.now();
		const offer = parseOffer(offerSdp);
		client.offer = offer;
		// The answer says a=setup:passive (server is the DTLS server), so werift is the client.
		await transport.connect({ dtlsParameters: { role: 'client', fingerprints: [offer.fingerprint] } });
		const { dtlsRole } = await client.call('answer', { sdp: buildAnswerSdp(offer, server) }, timeoutMs);
		if (dtlsRole !== 'client') {
			throw new Error(`werift took DTLS role '${dtlsRole}' from the answer, but the server was told 'client'`);
		}
		const done = performance.now();
		client.timings = {
			spawnMs: client.timings.spawnMs,
			offerMs: offered - started,
			signalingMs: done - offered,
			totalMs: client.timings.spawnMs + (done - started),
		};
		return client;
	} catch (error) {
		const output = client.output();
		await client.close();
		throw new WeriftStartError('signaling', performance.now() - started, client.decorate(error, output));
	}
}

interface Pending {
	method: RpcMethod;
	resolve: (result: unknown) => void;
	reject: (error: Error) => void;
	timer: NodeJS.Timeout;
}

class Client implements WeriftClient {
	timings: StartTimings = { spawnMs: 0, offerMs: 0, signalingMs: 0, totalMs: 0 };
	readonly serverEvents: ServerEvent[] = [];
	readonly clientEvents: ClientEvent[] = [];
	dataProducer: types.DataProducer | undefined;
	dataConsumer: types.DataConsumer | undefined;
	downLabel = 'up';
	offer: OfferInfo | undefined;

	#transport: types.WebRtcTransport | undefined;
	#server: ServerParams | undefined;
	#startedWall = Date.now();
	readonly #child: ChildProcess;
	readonly #pending = new Map<number, Pending>();
	readonly #lines: string[] = [];
	readonly #exit: Promise<void>;
	#exitInfo: string | undefined;
	#nextId = 1;
	#stopped = false;
	#closing: Promise<void> | undefined;
	#readyWaiter: (() => void) | undefined;
	#isReady = false;
	#detach: () => void = () => {};

	constructor(options: WeriftSpawnOptions) {
		this.#child = fork(CHILD_ENTRY, [], {
			execArgv: ['--import', TSX_LOADER],
			stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
			env: { ...process.env, DEBUG: options.debug ?? '' },
		});
		liveClients.add(this);
		for (const stream of [this.#child.stdout, this.#child.stderr]) {
			stream?.setEncoding('utf8');
			stream?.on('data', (chunk: string) => this.#record(chunk));
		}
		this.#child.on('error', (error) => this.#record(`[harness] child process error: ${error.message}\n`));
		this.#child.on('message', (message) => this.#onMessage(message as ChildToParent));
		this.#exit = new Promise((resolve) => {
			this.#child.once('exit', (code, signal) => {
				this.#exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
				for (const [id, pending] of this.#pending) {
					this.#pending.delete(id);
					clearTimeout(pending.timer);
					pending.reject(this.decorate(new Error(`werift child ${this.#exitInfo} during '${pending.method}'`)));
				}
				this.#readyWaiter?.();
				resolve();
			});
		});
	}

	/** Binds the child to its server transport (once): events from its observer, and the clock of `waitForConnected()`. */
	attach(transport: types.WebRtcTransport, server: ServerParams): void {
		if (this.#transport) throw new Error('this werift peer is already connected to a transport (one per peer)');
		this.#transport = transport;
		this.#server = server;
		this.#startedWall = Date.now();
		const observer = transport.observer;
		const on = {
			icestatechange: (state: types.IceState) => this.#serverEvent({ type: 'icestatechange', state, at: Date.now() }),
			iceselectedtuplechange: (tuple: types.TransportTuple) =>
				this.#serverEvent({ type: 'iceselectedtuplechange', tuple, at: Date.now() }),
			dtlsstatechange: (state: types.DtlsState) => this.#serverEvent({ type: 'dtlsstatechange', state, at: Date.now() }),
			sctpstatechange: (state: types.SctpState) => this.#serverEvent({ type: 'sctpstatechange', state, at: Date.now() }),
		};
		observer.on('icestatechange', on.icestatechange);
		observer.on('iceselectedtuplechange', on.iceselectedtuplechange);
		observer.on('dtlsstatechange', on.dtlsstatechange);
		observer.on('sctpstatechange', on.sctpstatechange);
		this.#detach = () => {
			observer.off('icestatechange', on.icestatechange);
			observer.off('iceselectedtuplechange', on.iceselectedtuplechange);
			observer.off('dtlsstatechange', on.dtlsstatechange);
			observer.off('sctpstatechange', on.sctpstatechange);
		};
	}

	get transport(): types.WebRtcTransport {
		if (!this.#transport) throw new Error('this werift peer is not connected to a transport yet (WeriftPeer.connect)');
		return this.#transport;
	}

	get pid(): number {
		const { pid } = this.#child;
		if (pid === undefined) throw new Error('werift child has no pid (spawn failed)');
		return pid;
	}

	get exited(): boolean {
		return this.#exitInfo !== undefined;
	}

	#serverEvent(event: ServerEvent): void {
		this.serverEvents.push(event);
	}

	#record(chunk: string): void {
		this.#lines.push(...chunk.split('\n').filter((line) => line.length > 0));
		if (this.#lines.length > OUTPUT_LINES_KEPT) this.#lines.splice(0, this.#lines.length - OUTPUT_LINES_KEPT);
	}

	output(): string {
		return this.#lines.join('\n');
	}

	/** Adds the pid, exit status, werift faults and child output to an error (once). */
	decorate(error: unknown, output = this.output()): Error {
		if (error instanceof Error && decorated.has(error)) return error;
		const base = error instanceof Error ? error : new Error(String(error));
		const faults = this.clientEvents.flatMap((e) => (e.type === 'fault' ? [e.message] : []));
		const parts = [`werift client (pid ${this.#child.pid ?? '?'}, ${this.#exitInfo ?? 'running'}): ${base.message}`];
		if (faults.length > 0) parts.push(`--- werift faults ---\n${faults.join('\n')}`);
		if (output) parts.push(`--- child output (last ${OUTPUT_LINES_KEPT} lines) ---\n${output}`);
		const result = new Error(parts.join('\n'), { cause: base });
		decorated.add(result);
		return result;
	}

	#onMessage(message: ChildToParent): void {
		switch (message.kind) {
			case 'ready':
				this.#isReady = true;
				this.#readyWaiter?.();
				return;
			case 'event':
				this.clientEvents.push(message.event);
				return;
			case 'result':
			case 'error': {
				const pending = this.#pending.get(message.id);
				if (!pending) return;
				this.#pending.delete(message.id);
				clearTimeout(pending.timer);
				if (message.kind === 'result') pending.resolve(message.result);
				else pending.reject(this.decorate(new Error(`'${pending.method}' failed in the child: ${message.message}`)));
			}
		}
	}

	async ready(timeoutMs: number): Promise<void> {
		if (this.#isReady) return;
		await new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#readyWaiter = undefined;
				reject(new Error(`werift child not ready within ${timeoutMs} ms (spawnTimeoutMs)`));
			}, timeoutMs);
			this.#readyWaiter = () => {
				this.#readyWaiter = undefined;
				clearTimeout(timer);
				if (this.#isReady) resolve();
				else reject(new Error(`werift child ${this.#exitInfo ?? 'failed'} before it was ready`));
			};
		});
	}

	call<M extends RpcMethod>(method: M, params: RpcMethods[M]['params'], timeoutMs: number): Promise<RpcMethods[M]['result']> {
		if (this.exited) return Promise.reject(this.decorate(new Error(`cannot call '${method}': child ${this.#exitInfo}`)));
		const id = this.#nextId++;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#pending.delete(id);
				reject(
					this.decorate(
						new Error(`'${method}' got no answer within ${timeoutMs} ms${this.#stopped ? ' (child is SIGSTOPped)' : ''}`),
					),
				);
			}, timeoutMs);
			this.#pending.set(id, { method, resolve: resolve as (result: unknown) => void, reject, timer });
			const message = { kind: 'rpc', id, method, params } as ParentToChild;
			this.#child.send(message, (error) => {
				if (!error) return;
				const pending = this.#pending.get(id);
				if (!pending) return;
				this.#pending.delete(id);
				clearTimeout(timer);
				reject(this.decorate(new Error(`could not send '${method}' to the child: ${error.message}`)));
			});
		});
	}

	async waitForConnected(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ dtlsConnectedMs: number; allConnectedMs: number }> {
		const deadline = Date.now() + timeoutMs;
		const wantSctp = this.transport.sctpParameters !== undefined;
		for (;;) {
			const dtls = this.transport.dtlsState;
			const sctp = this.transport.sctpState;
			const clientState = [...this.clientEvents].reverse().find((e) => e.type === 'connectionstatechange');
			const clientConnected = clientState?.type === 'connectionstatechange' && clientState.state === 'connected';
			if (dtls === 'connected' && (!wantSctp || sctp === 'connected') && clientConnected) break;
			if (dtls === 'failed' || dtls === 'closed' || this.transport.closed) {
				throw this.decorate(new Error(`server DTLS went '${dtls}' (transport closed: ${this.transport.closed})`));
			}
			if (this.exited) throw this.decorate(new Error('child exited before connecting'));
			if (Date.now() > deadline) {
				throw this.decorate(
					new Error(
						`not connected within ${timeoutMs} ms: server ice=${this.transport.iceState} dtls=${dtls} sctp=${sctp}, werift=${clientState?.type === 'connectionstatechange' ? clientState.state : 'new'}`,
					),
				);
			}
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
		const allAt = Date.now();
		const dtlsAt = this.serverEvents.find((e) => e.type === 'dtlsstatechange' && e.state === 'connected')?.at ?? allAt;
		return { dtlsConnectedMs: dtlsAt - this.#startedWall, allConnectedMs: allAt - this.#startedWall };
	}

	async echo(text: string, timeoutMs = 5_000): Promise<number> {
		if (!this.dataConsumer) throw new Error('echo() needs the echo data path (startWeriftClient({ echo: true }))');
		const sent = performance.now();
		const seen = this.clientEvents.length;
		await this.call('send', { label: 'up', data: text }, timeoutMs);
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const back = this.clientEvents
				.slice(seen)
				.find((e) => e.type === 'message' && e.label === this.downLabel && e.data === text);
			if (back) return performance.now() - sent;
			if (this.exited) throw this.decorate(new Error('child exited while waiting for the echo'));
			if (Date.now() > deadline) throw this.decorate(new Error(`echo of '${text}' not back within ${timeoutMs} ms`));
			await new Promise((resolve) => setTimeout(resolve, 2));
		}
	}

	async restartIce(iceParameters: types.IceParameters, options: RestartIceOptions = {}): Promise<RestartIceResult> {
		if (!this.offer || !this.#server) throw new Error('restartIce() before the client was negotiated');
		this.#server.iceParameters = iceParameters;
		const waitMs = options.waitMs ?? 5_000;
		const started = performance.now();
		const result = await this.call(
			'restartIce',
			{ sdp: buildAnswerSdp(this.offer, this.#server), kick: options.kick ?? true, waitMs },
			waitMs + DEFAULT_TIMEOUT_MS,
		);
		return { ...result, ms: performance.now() - started };
	}

	state(): Promise<ClientStateSnapshot> {
		return this.call('state', {}, DEFAULT_TIMEOUT_MS);
	}

	#signal(signal: NodeJS.Signals): void {
		if (this.exited) throw this.decorate(new Error(`cannot send ${signal}: child already ${this.#exitInfo}`));
		this.#child.kill(signal);
	}

	kill(): void {
		this.#signal('SIGKILL');
	}

	stop(): void {
		this.#signal('SIGSTOP');
		this.#stopped = true;
	}

	cont(): void {
		this.#signal('SIGCONT');
		this.#stopped = false;
	}

	close(): Promise<void> {
		this.#closing ??= this.#close();
		return this.#closing;
	}

	async #close(): Promise<void> {
		this.#detach();
		if (!this.exited) {
			if (this.#stopped) {
				this.#child.kill('SIGKILL');
			} else {
				await this.call('close', {}, 2_000).catch(() => this.#child.kill('SIGKILL'));
			}
			const timer = setTimeout(() => this.#child.kill('SIGKILL'), 2_000);
			await this.#exit;
			clearTimeout(timer);
		}
		if (this.dataConsumer && !this.dataConsumer.closed) this.dataConsumer.close();
		if (this.dataProducer && !this.dataProducer.closed) this.dataProducer.close();
		liveClients.delete(this);
	}
}
