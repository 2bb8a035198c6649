// A fake mediasoup 3.12 WebRtcTransport (and the Worker, Router and WebRtcServer around it) for
// unit tests. It emits the event sequences the real mediasoup Node layer emits, read from
// node_modules/mediasoup/node/lib (3.12.16) and checked against 3.27:
//
//   worker notification   transport.safeEmit(event, state) then transport.observer.safeEmit(event, state);
//                         the getter (iceState / dtlsState) already holds the new value.
//   transport.close()     states become 'closed' silently; '@close'; observer 'close'. Nothing on
//                         the transport itself (no 'routerclose', no state event).
//   router.close()        every transport: states 'closed'; 'routerclose'; observer 'close'.
//   worker died           worker.died = true first; then every router closes its transports as
//                         above ('routerclose', observer 'close'); then the worker emits 'died'.
//   worker.close()        like a death but worker.died stays false and the worker emits no 'died'.
//   webRtcServer.close()  every transport on it: states 'closed'; '@listenserverclose';
//                         'listenserverclose'; observer 'close'.
//   Chromium connecting   iceselectedtuplechange; icestatechange 'connected'; dtlsstatechange
//                         'connecting', then 'connected'; icestatechange 'completed'. When the
//                         nominating check (USE-CANDIDATE) reaches the worker during the DTLS
//                         handshake (seen on 3.27 under a CPU hog), 'completed' comes between
//                         'connecting' and 'connected': connectClient({ nominated: 'during-handshake' }).
//   client close_notify   dtlsstatechange 'closed' (the transport stays open; see clients.md).
//
// test/integration/core-fake-fidelity.test.ts replays each of these on the real worker and
// compares, event by event.
//
// Like mediasoup's EnhancedEventEmitter.safeEmit, a throwing listener is caught (and recorded in
// `listenerErrors` so a test can assert none of ours threw) and stops the remaining listeners of
// that emit.
//
//   const worker = new FakeWorker();
//   const router = worker.createRouter();
//   const transport = router.createWebRtcTransport({ appData: { userId: 'alice' } });
//   transport.connectClient();          // ICE connected, tuple, DTLS connecting → connected, ICE completed
//   transport.clientCloseNotify();      // dtlsstatechange 'closed'
//   expect(transport.watchListenerCount()).toBe(0);
import { EventEmitter } from 'node:events';

/** ICE states of a mediasoup WebRtcTransport (no 'failed' in mediasoup). */
export type FakeIceState = 'new' | 'connected' | 'completed' | 'disconnected' | 'closed';
/** DTLS states of a mediasoup WebRtcTransport. */
export type FakeDtlsState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

/** When the client's nominating ICE check reaches the worker, against the DTLS handshake. */
export type FakeNomination = 'after-handshake' | 'during-handshake';

export interface FakeTuple {
	readonly localIp: string;
	readonly localPort: number;
	readonly remoteIp: string;
	readonly remotePort: number;
	readonly protocol: 'udp' | 'tcp';
}

export interface FakeIceParameters {
	readonly usernameFragment: string;
	readonly password: string;
	readonly iceLite: boolean;
}

/** Byte counters of `getStats()[0]`, as mediasoup 3.12's WebRtcTransportStat names them. */
export interface FakeTransportCounters {
	bytesReceived: number;
	bytesSent: number;
	rtpBytesReceived: number;
	rtpBytesSent: number;
	rtxBytesReceived: number;
	rtxBytesSent: number;
	probationBytesSent: number;
}

/** What `getStats()` resolves with: one WebRtcTransportStat of mediasoup 3.12 (bitrates are 0). */
export interface FakeTransportStat extends FakeTransportCounters {
	readonly type: 'webrtc-transport';
	readonly transportId: string;
	readonly timestamp: number;
	readonly recvBitrate: number;
	readonly sendBitrate: number;
	readonly rtpRecvBitrate: number;
	readonly rtpSendBitrate: number;
	readonly rtxRecvBitrate: number;
	readonly rtxSendBitrate: number;
	readonly probationSendBitrate: number;
	readonly iceRole: 'controlled';
	readonly iceState: FakeIceState;
	readonly iceSelectedTuple?: FakeTuple;
	readonly dtlsState: FakeDtlsState;
}

/** mediasoup rejects requests on a closed transport with an InvalidStateError. */
export class FakeInvalidStateError extends Error {
	override name = 'InvalidStateError';
}

/** An EventEmitter whose `safeEmit` behaves like mediasoup's EnhancedEventEmitter.safeEmit. */
export class FakeEnhancedEmitter extends EventEmitter {
	/** Errors thrown by listeners during `safeEmit` (mediasoup only logs them). */
	readonly listenerErrors: Array<{ event: string; error: unknown }> = [];

	safeEmit(event: string, ...args: unknown[]): boolean {
		const had = this.listenerCount(event) > 0;
		try {
			return this.emit(event, ...args);
		} catch (error) {
			this.listenerErrors.push({ event, error });
			return had;
		}
	}
}

let nextId = 1;
const newId = (kind: string): string => `fake-${kind}-${nextId++}`;

export interface FakeTransportOptions<AppData> {
	readonly id?: string;
	readonly appData?: AppData;
	/** Start in these states (e.g. a transport that is watched after it connected). */
	readonly iceState?: FakeIceState;
	readonly dtlsState?: FakeDtlsState;
	/** Put the transport on this WebRtcServer (it then closes with `listenserverclose`). */
	readonly webRtcServer?: FakeWebRtcServer;
}

/**
 * A fake mediasoup WebRtcTransport. The `emit*` / `client*` methods play what the worker notifies;
 * `close()`, `routerClosed()` and `listenServerClosed()` play the three close paths of the Node
 * layer. Stats and ICE restarts are stubs you control:
 *
 * - `getStats()` resolves with one full 3.12 WebRtcTransportStat: `bytesReceived` (a plain field)
 *   and the other byte counters in `counters` are what it reports; `getStatsImpl` replaces it
 *   all (return a never-settling promise to model a stuck worker). `getStatsCalls` counts calls;
 *   like mediasoup it rejects once the transport is closed.
 * - `restartIceImpl` replaces `restartIce()`; by default it resolves with fresh parameters on the
 *   next microtask and, like mediasoup, changes no state and emits nothing. `restartIceCalls`
 *   counts calls.
 */
export class FakeWebRtcTransport<AppData extends Record<string, unknown> = Record<string, unknown>> extends FakeEnhancedEmitter {
	readonly id: string;
	readonly observer = new FakeEnhancedEmitter();
	appData: AppData;
	iceParameters: FakeIceParameters;
	iceSelectedTuple: FakeTuple | undefined;

	/** `getStats()[0].bytesReceived` (kept as its own field for convenience). */
	bytesReceived = 0;
	/** The other byte counters `getStats()` reports (`bytesReceived` is the field above). */
	readonly counters: Omit<FakeTransportCounters, 'bytesReceived'> = {
		bytesSent: 0,
		rtpBytesReceived: 0,
		rtpBytesSent: 0,
		rtxBytesReceived: 0,
		rtxBytesSent: 0,
		probationBytesSent: 0,
	};
	getStatsCalls = 0;
	getStatsImpl: (() => Promise<FakeTransportStat[]>) | undefined;
	restartIceCalls = 0;
	restartIceImpl: (() => Promise<FakeIceParameters>) | undefined;

	/** Where `close()` reports itself (router / WebRtcServer bookkeeping, like '@close'). */
	readonly webRtcServer: FakeWebRtcServer | undefined;
	#closed = false;
	#iceState: FakeIceState;
	#dtlsState: FakeDtlsState;
	#restarts = 0;
	#tuples = 0;

	constructor(options: FakeTransportOptions<AppData> = {}) {
		super();
		this.id = options.id ?? newId('transport');
		this.appData = options.appData ?? ({} as AppData);
		this.#iceState = options.iceState ?? 'new';
		this.#dtlsState = options.dtlsState ?? 'new';
		this.iceParameters = { usernameFragment: `${this.id}-ufrag-0`, password: `${this.id}-pwd-0`, iceLite: true };
		this.webRtcServer = options.webRtcServer;
		options.webRtcServer?.transports.add(this);
	}

	get closed(): boolean {
		return this.#closed;
	}

	get iceState(): FakeIceState {
		return this.#iceState;
	}

	get dtlsState(): FakeDtlsState {
		return this.#dtlsState;
	}

	/* ------------------------------------------------------------ worker notifications */

	/** `icestatechange`: the getter changes first, then the transport, then its observer emit. */
	emitIceState(iceState: FakeIceState): void {
		this.#assertOpen('emitIceState');
		this.#iceState = iceState;
		this.safeEmit('icestatechange', iceState);
		this.observer.safeEmit('icestatechange', iceState);
	}

	/** `dtlsstatechange`, in the same order as `emitIceState`. */
	emitDtlsState(dtlsState: FakeDtlsState): void {
		this.#assertOpen('emitDtlsState');
		this.#dtlsState = dtlsState;
		this.safeEmit('dtlsstatechange', dtlsState);
		this.observer.safeEmit('dtlsstatechange', dtlsState);
	}

	/** `iceselectedtuplechange` (a new client port, e.g. after an ICE restart from Chromium). */
	emitSelectedTuple(tuple: Partial<FakeTuple> = {}): void {
		this.#assertOpen('emitSelectedTuple');
		this.#tuples += 1;
		const selected: FakeTuple = {
			localIp: '127.0.0.1',
			localPort: 40_000,
			remoteIp: '127.0.0.1',
			remotePort: 50_000 + this.#tuples,
			protocol: 'udp',
			...tuple,
		};
		this.iceSelectedTuple = selected;
		this.safeEmit('iceselectedtuplechange', selected);
		this.observer.safeEmit('iceselectedtuplechange', selected);
	}

	/**
	 * A client connecting, in the order the worker reports a Chromium connection (checked by
	 * test/integration/core-fake-fidelity.test.ts): selected tuple, ICE connected, DTLS
	 * connecting → connected, ICE completed. The worker's ICE server goes 'completed' on the
	 * client's nominating check, which Chromium sends after its first check: usually once DTLS is
	 * up, sometimes while the handshake is still under way (`nominated: 'during-handshake'`).
	 */
	connectClient({ nominated = 'after-handshake' }: { nominated?: FakeNomination } = {}): void {
		this.emitSelectedTuple();
		this.emitIceState('connected');
		this.emitDtlsState('connecting');
		if (nominated === 'during-handshake') this.emitIceState('completed');
		this.emitDtlsState('connected');
		if (nominated === 'after-handshake') this.emitIceState('completed');
	}

	/** The client's `pc.close()`: a DTLS close_notify. The transport stays open. */
	clientCloseNotify(): void {
		this.emitDtlsState('closed');
	}

	/* ------------------------------------------------------------ close paths */

	/** The app's `transport.close()`: no event on the transport, only the observer's `close`. */
	close(): void {
		if (this.#closed) return;
		this.#markClosed();
		this.emit('@close');
		this.observer.safeEmit('close');
	}

	/** What the Router does to each transport when it (or its worker) closes. */
	routerClosed(): void {
		if (this.#closed) return;
		this.#markClosed();
		this.safeEmit('routerclose');
		this.observer.safeEmit('close');
	}

	/** What a WebRtcServer does to each transport on it when it closes. */
	listenServerClosed(): void {
		if (this.#closed) return;
		this.#markClosed();
		this.emit('@listenserverclose');
		this.safeEmit('listenserverclose');
		this.observer.safeEmit('close');
	}

	/* ------------------------------------------------------------ requests to the worker */

	async getStats(): Promise<FakeTransportStat[]> {
		this.getStatsCalls += 1;
		if (this.getStatsImpl) return this.getStatsImpl();
		if (this.#closed) throw new FakeInvalidStateError(`transport closed [transportId:${this.id}]`);
		return [
			{
				type: 'webrtc-transport',
				transportId: this.id,
				timestamp: performance.now(),
				...this.counters,
				bytesReceived: this.bytesReceived,
				recvBitrate: 0,
				sendBitrate: 0,
				rtpRecvBitrate: 0,
				rtpSendBitrate: 0,
				rtxRecvBitrate: 0,
				rtxSendBitrate: 0,
				probationSendBitrate: 0,
				iceRole: 'controlled',
				iceState: this.#iceState,
				...(this.iceSelectedTuple ? { iceSelectedTuple: this.iceSelectedTuple } : {}),
				dtlsState: this.#dtlsState,
			},
		];
	}

	async restartIce(): Promise<FakeIceParameters> {
		this.restartIceCalls += 1;
		if (this.restartIceImpl) return this.restartIceImpl();
		if (this.#closed) throw new FakeInvalidStateError(`transport closed [transportId:${this.id}]`);
		this.#restarts += 1;
		this.iceParameters = {
			usernameFragment: `${this.id}-ufrag-${this.#restarts}`,
			password: `${this.id}-pwd-${this.#restarts}`,
			iceLite: true,
		};
		return this.iceParameters;
	}

	/* ------------------------------------------------------------ leak checks */

	/**
	 * Listeners on the transport and its observer, leaving out mediasoup-internal `@` events.
	 * After a watch ends this must be what it was before the watch started (usually 0).
	 */
	watchListenerCount(): number {
		let count = 0;
		for (const emitter of [this, this.observer] as EventEmitter[]) {
			for (const name of emitter.eventNames()) {
				if (typeof name === 'string' && name.startsWith('@')) continue;
				count += emitter.listenerCount(name);
			}
		}
		return count;
	}

	/** Listener counts per event, for precise failure messages (`{ 'observer:close': 1, … }`). */
	listenerMap(): Record<string, number> {
		const map: Record<string, number> = {};
		for (const [prefix, emitter] of [
			['', this],
			['observer:', this.observer],
		] as const) {
			for (const name of emitter.eventNames()) {
				if (typeof name === 'string' && name.startsWith('@')) continue;
				map[`${prefix}${String(name)}`] = emitter.listenerCount(name);
			}
		}
		return map;
	}

	/** Errors thrown by listeners of the transport or its observer (mediasoup would only log them). */
	allListenerErrors(): Array<{ event: string; error: unknown }> {
		return [...this.listenerErrors, ...this.observer.listenerErrors];
	}

	#markClosed(): void {
		this.#closed = true;
		this.#iceState = 'closed';
		this.#dtlsState = 'closed';
		this.iceSelectedTuple = undefined;
		this.webRtcServer?.transports.delete(this);
	}

	#assertOpen(what: string): void {
		if (this.#closed) {
			throw new Error(
				`fake transport: ${what}() after close is impossible in mediasoup (it stops notifications) [transportId:${this.id}]`,
			);
		}
	}
}

/** A fake Router: `close()` closes each of its transports with `routerClosed()`. */
export class FakeRouter {
	readonly id = newId('router');
	readonly transports = new Set<FakeWebRtcTransport<Record<string, unknown>>>();
	#closed = false;

	get closed(): boolean {
		return this.#closed;
	}

	createWebRtcTransport<AppData extends Record<string, unknown> = Record<string, unknown>>(
		options: FakeTransportOptions<AppData> = {},
	): FakeWebRtcTransport<AppData> {
		if (this.#closed) throw new FakeInvalidStateError('router closed');
		const transport = new FakeWebRtcTransport<AppData>(options);
		const entry = transport as unknown as FakeWebRtcTransport<Record<string, unknown>>;
		this.transports.add(entry);
		transport.on('@close', () => this.transports.delete(entry));
		transport.on('@listenserverclose', () => this.transports.delete(entry));
		return transport;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#closeTransports();
	}

	/** Called by the worker when it closes or dies. */
	workerClosed(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#closeTransports();
	}

	#closeTransports(): void {
		for (const transport of this.transports) transport.routerClosed();
		this.transports.clear();
	}
}

/** A fake WebRtcServer: `close()` closes each transport on it with `listenServerClosed()`. */
export class FakeWebRtcServer {
	readonly id = newId('webrtcserver');
	readonly transports = new Set<FakeWebRtcTransport<Record<string, unknown>>>();
	#closed = false;

	get closed(): boolean {
		return this.#closed;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const transport of [...this.transports]) transport.listenServerClosed();
		this.transports.clear();
	}
}

/**
 * A fake Worker: `died` is true before its routers close their transports (as in mediasoup's
 * `Worker.died()`), and it emits `died` after them.
 */
export class FakeWorker extends FakeEnhancedEmitter {
	readonly pid = 0;
	readonly routers = new Set<FakeRouter>();
	#closed = false;
	#died = false;

	get closed(): boolean {
		return this.#closed;
	}

	get died(): boolean {
		return this.#died;
	}

	createRouter(): FakeRouter {
		const router = new FakeRouter();
		this.routers.add(router);
		return router;
	}

	/** The worker subprocess died (e.g. SIGKILL). */
	die(error: Error = new Error('worker process died unexpectedly [signal:SIGKILL]')): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#died = true;
		this.#closeRouters();
		this.safeEmit('died', error);
	}

	/** The app's `worker.close()`. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#closeRouters();
	}

	#closeRouters(): void {
		for (const router of this.routers) router.workerClosed();
		this.routers.clear();
	}
}

/**
 * A transport on a fresh worker and router, with `appData: { userId: 'alice' }` unless given; the
 * usual unit-test start. The appData type is inferred from `options.appData`.
 */
export function createFakeTransport<AppData extends Record<string, unknown> = { userId: string }>(
	options: FakeTransportOptions<AppData> = {},
): { worker: FakeWorker; router: FakeRouter; transport: FakeWebRtcTransport<AppData> } {
	const worker = new FakeWorker();
	const router = worker.createRouter();
	const transport = router.createWebRtcTransport<AppData>({
		appData: { userId: 'alice' } as unknown as AppData,
		...options,
	});
	return { worker, router, transport };
}
