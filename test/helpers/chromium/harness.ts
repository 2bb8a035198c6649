// A real Chromium running mediasoup-client against a real mediasoup router, for integration
// tests. Each client is its own browser (persistent context in a fresh folder) and its own
// signaling server (HTTP + WebSocket on 127.0.0.1).
//
//   const client = await launchChromiumClient(router, { onTransport: (t) => watch(t) });
//   await client.waitForConnected();
//   await client.closeTransport('send'); // DTLS close_notify
//   afterEach(closeAllChromiumClients);
import type { types } from 'mediasoup';
import type { types as clientTypes } from 'mediasoup-client';
import type { BrowserContext, Page } from 'playwright-core';
import type { WebSocket } from 'ws';
import { createTestTransport, type Router, type WebRtcServer, type WebRtcTransport } from '../mediasoup.js';
import { assertChromiumInstalled, type LaunchedChromium, launchChromium } from './browser.js';
import type {
	Direction,
	PageConnectionStateChange,
	PageSocketOptions,
	PageTransportParameters,
	SignalingRequest,
} from './protocol.js';
import { type SignalingServer, type SocketClose, startSignalingServer } from './signaling.js';

export { assertChromiumInstalled, CHROMIUM_ARGS, CHROMIUM_PATH } from './browser.js';
export type { Direction, PageConnectionStateChange, PageSocketOptions } from './protocol.js';
export type { SocketClose } from './signaling.js';

export interface ChromiumClientOptions {
	/** Create the server transports on this WebRtcServer instead of their own ports. */
	webRtcServer?: WebRtcServer;
	/** Which transports to create. Default 'both'. */
	transports?: 'send' | 'recv' | 'both';
	/**
	 * Produce the fake microphone and camera (getUserMedia) on the send transport. Default: true
	 * when there is a send transport. With both transports, the recv transport consumes them.
	 */
	produce?: boolean;
	/**
	 * What `produce` produces: which fake tracks, and mediasoup-client's `zeroRtpOnPause` (pausing
	 * the producer in the page, see pauseProducerInPage(), then stops its RTP), and `simulcast`
	 * (video in two layers: a server producer of type 'simulcast' with two encodings). Default:
	 * audio and video, without either.
	 */
	media?: { audio?: boolean; video?: boolean; zeroRtpOnPause?: boolean; simulcast?: boolean };
	/** Also produce one DataChannel (and consume it on the recv transport). Enables SCTP. */
	data?: boolean;
	/** Producers of others (e.g. another client's) for the recv transport to consume. */
	consume?: types.Producer[];
	/**
	 * Default true. false: the server transports are created and handed to the page, which
	 * creates its mediasoup-client transports but never produces or consumes, so they never
	 * start ICE or DTLS ("never connected").
	 */
	connect?: boolean;
	/**
	 * Called right after each server transport is created, before its parameters go to the page
	 * (so before any ICE or DTLS event). A returned promise is awaited.
	 */
	onTransport?: (transport: WebRtcTransport, direction: Direction) => void | Promise<void>;
	/** appData of the server transports (each gets its own copy). */
	appData?: Record<string, unknown>;
	/** The page closes its mediasoup-client transports on `pagehide` (page close → close_notify). */
	pagehideClose?: boolean;
	/**
	 * The server transports listen on TCP only, so Chromium connects over ICE-TCP and a page
	 * close or kill closes the TCP connection (ICE `'disconnected'` at once). Default false.
	 */
	tcpOnly?: boolean;
	/**
	 * The ICE candidates the page is given for each server transport, e.g. to route Chromium
	 * through a TCP proxy the test controls. Default: the transport's own `iceCandidates`.
	 */
	iceCandidates?: (transport: WebRtcTransport, direction: Direction) => types.IceCandidate[];
	/**
	 * Bound for the client's start, in ms: Chromium's launch, the page's load and signaling
	 * socket, the Device load and (when it produces) getUserMedia. Default 60 000: on an idle
	 * machine all of it takes under a second, with four launching at once on 2 busy cores 7–12 s.
	 * A start that fails or runs out of time throws a {@link ChromiumStartError}.
	 */
	startTimeoutMs?: number;
	/**
	 * Called once the client is ready to connect (browser launched, page loaded, Device loaded,
	 * camera and microphone acquired), right before the first server transport is created: what
	 * happens to the transports from then on is up to the page and the server, not the launch. A
	 * returned promise is awaited.
	 */
	onReady?: (timings: Pick<ChromiumClientTimings, 'browser' | 'page' | 'ready'>) => void | Promise<void>;
}

/** Default of {@link ChromiumClientOptions.startTimeoutMs}. */
export const DEFAULT_CHROMIUM_START_TIMEOUT_MS = 60_000;

/** The step of a Chromium client's start that failed. */
export type ChromiumStartStep = 'browser' | 'page' | 'device' | 'media';

/**
 * A Chromium client that did not start (its browser, page, Device or media): a failure of the
 * harness, before any server transport existed. Whatever it had started is closed.
 */
export class ChromiumStartError extends Error {
	override readonly name = 'ChromiumStartError';
	readonly step: ChromiumStartStep;
	/** Milliseconds from the launch to the failure. */
	readonly afterMs: number;

	constructor(step: ChromiumStartStep, afterMs: number, cause: unknown) {
		const reason = cause instanceof Error ? cause.message : String(cause);
		super(`Chromium client did not start (step '${step}', after ${Math.round(afterMs)} ms): ${reason}`, { cause });
		this.step = step;
		this.afterMs = afterMs;
	}
}

/** Milliseconds spent in each launch step. */
export interface ChromiumClientTimings {
	/** Chromium start (launchPersistentContext), alongside the signaling server's. */
	browser: number;
	/** Page load until its signaling WebSocket is open. */
	page: number;
	/** Device load, media, transports, produce and consume. */
	setup: number;
	/** From the launch until the client was ready to connect (see `onReady`). */
	ready: number;
	total: number;
}

export interface ChromiumClient {
	readonly context: BrowserContext;
	readonly page: Page;
	/** pid of the main Chromium process. */
	readonly browserPid: number;
	/** Folder of this browser (profile, TMPDIR); removed by close(). */
	readonly root: string;
	readonly signalingUrl: string;
	readonly timings: ChromiumClientTimings;
	readonly sendTransport: WebRtcTransport | undefined;
	readonly recvTransport: WebRtcTransport | undefined;
	/** The server transports this client has, send first. */
	readonly transports: WebRtcTransport[];
	/** Server-side producers of this page (audio first, then video). */
	readonly producers: types.Producer[];
	/** Server-side consumers on the recv transport. */
	readonly consumers: types.Consumer[];
	readonly dataProducers: types.DataProducer[];
	readonly dataConsumers: types.DataConsumer[];
	/** The server side of the page's current signaling WebSocket. */
	readonly socket: WebSocket;
	readonly closed: boolean;

	/** The server transport of `direction`; throws if this client has none. */
	transport(direction: Direction): WebRtcTransport;
	/** Resolves with the next page socket that connects after this call. */
	nextSocket(timeoutMs?: number): Promise<WebSocket>;
	/** Resolves when `socket` (default: the current one) has closed, with its code; never rejects. */
	socketClosed(socket?: WebSocket): Promise<SocketClose>;
	/**
	 * Resolves when the server transports reach dtlsState 'connected': by default those that
	 * carry something (send if it produces, recv if it consumes). Rejects on 'failed'/'closed'
	 * or after `timeoutMs` (default 10 s).
	 */
	waitForConnected(options?: { directions?: Direction[]; timeoutMs?: number }): Promise<void>;
	/** mediasoup-client `transport.close()` in the page: a clean close (DTLS close_notify). */
	closeTransport(direction: Direction): Promise<void>;
	/** closeTransport() for every transport the client has. */
	closeTransports(): Promise<void>;
	/** `page.close()`: nothing reaches the media server (unless `pagehideClose`). */
	closePage(): Promise<void>;
	/** pids of this browser's live processes (main, zygotes, renderers, utilities, crashpad). */
	processes(): number[];
	/** SIGKILL every process of this browser; resolves once all are gone. */
	kill(): Promise<void>;
	/** SIGKILL only the main browser process; resolves once it is gone. */
	killBrowserProcess(): Promise<void>;
	/**
	 * mediasoup-client `producer.pause()` in the page, for a producer made with the `media` option
	 * (by server producer id); with `zeroRtpOnPause`, resolves once the page has sent no RTP for it
	 * for 600 ms (rejects if it still does 5 s after the pause).
	 */
	pauseProducerInPage(producerId: string): Promise<void>;
	/** mediasoup-client `transport.restartIce({ iceParameters })` in the page; resolves when done. */
	restartIce(direction: Direction, iceParameters: types.IceParameters): Promise<void>;
	/** Every connectionState of the page's mediasoup-client transports, oldest first. */
	connectionStates(): Promise<Record<Direction, PageConnectionStateChange[]>>;
	/** The page closes its WebSocket (code 1000 by default) and opens a new one; resolves with it. */
	reconnectSocket(options?: PageSocketOptions): Promise<WebSocket>;
	/** The page closes its WebSocket (code 1000 by default) and opens none; resolves with the close. */
	dropSocket(options?: PageSocketOptions): Promise<SocketClose>;
	/** Tears down browser, folder, signaling server and server transports. Idempotent. */
	close(): Promise<void>;
}

/** close() of every client (also partly launched ones) not closed yet. */
const openClients = new Set<() => Promise<void>>();

/** Closes every client launched in this process that is still open (use in afterEach). */
export async function closeAllChromiumClients(): Promise<void> {
	await Promise.all([...openClients].map((close) => close()));
}

/** Launches Chromium with mediasoup-client connected to `router` (see ChromiumClientOptions). */
export async function launchChromiumClient(router: Router, options: ChromiumClientOptions = {}): Promise<ChromiumClient> {
	assertChromiumInstalled();
	const started = performance.now();
	const which = options.transports ?? 'both';
	const hasSend = which !== 'recv';
	const hasRecv = which !== 'send';
	const connect = options.connect ?? true;
	const produce = options.produce ?? hasSend;
	const data = options.data ?? false;
	if ((produce || data) && !hasSend) throw new Error('produce and data need a send transport');
	if (options.consume?.length && !hasRecv) throw new Error('consume needs a recv transport');

	let sendTransport: WebRtcTransport | undefined;
	let recvTransport: WebRtcTransport | undefined;
	const producers: types.Producer[] = [];
	const consumers: types.Consumer[] = [];
	const dataProducers: types.DataProducer[] = [];
	const dataConsumers: types.DataConsumer[] = [];

	const serverTransport = (direction: Direction): WebRtcTransport => {
		const transport = direction === 'send' ? sendTransport : recvTransport;
		if (!transport) throw new Error(`this client has no ${direction} transport`);
		return transport;
	};

	const handle = async (request: SignalingRequest): Promise<unknown> => {
		switch (request.method) {
			case 'connect':
				await serverTransport(request.data.direction).connect({
					dtlsParameters: request.data.dtlsParameters as types.DtlsParameters,
				});
				return null;
			case 'produce': {
				const producer = await serverTransport('send').produce({
					kind: request.data.kind,
					rtpParameters: request.data.rtpParameters as types.RtpParameters,
					appData: request.data.appData,
				});
				producers.push(producer);
				return { id: producer.id };
			}
			case 'produceData': {
				const dataProducer = await serverTransport('send').produceData({
					sctpStreamParameters: request.data.sctpStreamParameters as types.SctpStreamParameters,
					label: request.data.label,
					protocol: request.data.protocol,
					appData: request.data.appData,
				});
				dataProducers.push(dataProducer);
				return { id: dataProducer.id };
			}
		}
	};

	let signaling: SignalingServer | undefined;
	let browser: LaunchedChromium | undefined;
	let closing: Promise<void> | undefined;
	const close = (): Promise<void> => {
		closing ??= (async () => {
			const errors: unknown[] = [];
			await browser?.close().catch((error: unknown) => errors.push(error));
			await signaling?.close().catch((error: unknown) => errors.push(error));
			for (const transport of [sendTransport, recvTransport]) if (transport && !transport.closed) transport.close();
			openClients.delete(close);
			if (errors.length > 0) throw new AggregateError(errors, 'closing the Chromium client failed');
		})();
		return closing;
	};

	// Filled in below; close() can run on a partly launched client.
	const client = {} as ChromiumClient;
	openClients.add(close);
	const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_CHROMIUM_START_TIMEOUT_MS;
	// The start (up to the first server transport) has its own bound; running out of it closes
	// what started, which makes the step in progress fail.
	let step: ChromiumStartStep | undefined = 'browser';
	let startTimedOut = false;
	const startTimer = setTimeout(() => {
		startTimedOut = true;
		close().catch(() => {});
	}, startTimeoutMs);
	try {
		// Signaling server and browser start side by side; whatever started is kept for close().
		let browserReady = started;
		const [signalingStart, browserStart] = await Promise.allSettled([
			startSignalingServer(handle),
			launchChromium({ timeoutMs: startTimeoutMs }).then((launchedBrowser) => {
				browserReady = performance.now();
				return launchedBrowser;
			}),
		]);
		if (signalingStart.status === 'fulfilled') signaling = signalingStart.value;
		if (browserStart.status === 'fulfilled') browser = browserStart.value;
		if (closing) {
			// close() ran while we were starting (e.g. afterEach after a test timeout).
			await Promise.all([signaling?.close(), browser?.close()]);
			throw new Error('the Chromium client was closed while launching');
		}
		if (signalingStart.status === 'rejected') throw signalingStart.reason;
		if (browserStart.status === 'rejected') throw browserStart.reason;
		if (!signaling || !browser) throw new Error('unreachable');
		step = 'page';
		const pageStarted = performance.now();
		const firstSocket = signaling.nextSocket(startTimeoutMs);
		const [, first] = await Promise.all([browser.page.goto(signaling.url, { timeout: startTimeoutMs }), firstSocket]);
		await browser.page.evaluate(() => window.__msHarness.ready());
		const setupStarted = performance.now();
		const page = browser.page;

		step = 'device';
		const rtpCapabilities = (await page.evaluate((loadOptions) => window.__msHarness.load(loadOptions), {
			routerRtpCapabilities: router.rtpCapabilities as clientTypes.RtpCapabilities,
			pagehideClose: options.pagehideClose ?? false,
		})) as types.RtpCapabilities;
		const media = {
			audio: options.media?.audio ?? true,
			video: options.media?.video ?? true,
			zeroRtpOnPause: options.media?.zeroRtpOnPause ?? false,
			simulcast: options.media?.simulcast ?? false,
		};
		if (connect && produce) {
			// Camera and microphone before the transports, as an app asks for them before it joins:
			// from the transports' creation on, the page only has to produce.
			step = 'media';
			await page.evaluate((o) => window.__msHarness.acquireMedia(o), { audio: media.audio, video: media.video });
		}
		const readyAt = performance.now();
		step = undefined;
		clearTimeout(startTimer);
		await options.onReady?.({ browser: browserReady - started, page: setupStarted - pageStarted, ready: readyAt - started });

		for (const direction of ['send', 'recv'] as const) {
			if (direction === 'send' ? !hasSend : !hasRecv) continue;
			const transport = await createTestTransport(router, {
				enableSctp: data,
				appData: { ...options.appData },
				tcpOnly: options.tcpOnly ?? false,
				...(options.webRtcServer ? { webRtcServer: options.webRtcServer } : {}),
			});
			if (direction === 'send') sendTransport = transport;
			else recvTransport = transport;
			await options.onTransport?.(transport, direction);
			await page.evaluate(([dir, parameters]) => window.__msHarness.createTransport(dir, parameters), [
				direction,
				{
					id: transport.id,
					iceParameters: transport.iceParameters,
					iceCandidates: options.iceCandidates?.(transport, direction) ?? transport.iceCandidates,
					dtlsParameters: transport.dtlsParameters,
					...(transport.sctpParameters ? { sctpParameters: transport.sctpParameters } : {}),
				} as PageTransportParameters,
			] as const);
		}

		if (connect) {
			if (produce && options.media) await page.evaluate((o) => window.__msHarness.produceTracks(o), media);
			else if (produce) await page.evaluate(() => window.__msHarness.produce({ audio: true, video: true }));
			if (data) await page.evaluate(() => window.__msHarness.produceData('harness'));
			if (hasRecv) {
				const recv = serverTransport('recv');
				const toConsume = [...(hasSend ? producers : []), ...(options.consume ?? [])];
				for (const producer of toConsume) {
					if (!router.canConsume({ producerId: producer.id, rtpCapabilities })) {
						throw new Error(`the page cannot consume producer ${producer.id} (${producer.kind})`);
					}
					const consumer = await recv.consume({ producerId: producer.id, rtpCapabilities, paused: true });
					consumers.push(consumer);
					await page.evaluate((parameters) => window.__msHarness.consume(parameters), {
						id: consumer.id,
						producerId: producer.id,
						kind: consumer.kind,
						rtpParameters: consumer.rtpParameters as clientTypes.RtpParameters,
					});
					await consumer.resume();
				}
				for (const dataProducer of hasSend ? dataProducers : []) {
					const dataConsumer = await recv.consumeData({ dataProducerId: dataProducer.id });
					dataConsumers.push(dataConsumer);
					await page.evaluate((parameters) => window.__msHarness.consumeData(parameters), {
						id: dataConsumer.id,
						dataProducerId: dataProducer.id,
						sctpStreamParameters: dataConsumer.sctpStreamParameters as clientTypes.SctpStreamParameters,
						label: dataConsumer.label,
						protocol: dataConsumer.protocol,
					});
				}
			}
		}

		const done = performance.now();
		const timings: ChromiumClientTimings = {
			browser: browserReady - started,
			page: setupStarted - pageStarted,
			setup: done - setupStarted,
			ready: readyAt - started,
			total: done - started,
		};
		const expectedToConnect = (): Direction[] => {
			if (!connect) return [];
			const directions: Direction[] = [];
			if (producers.length > 0 || dataProducers.length > 0) directions.push('send');
			if (consumers.length > 0 || dataConsumers.length > 0) directions.push('recv');
			return directions;
		};
		const launched = browser;
		const server = signaling;

		Object.defineProperties(
			client,
			Object.getOwnPropertyDescriptors({
				context: launched.context,
				page,
				browserPid: launched.browserPid,
				root: launched.root,
				signalingUrl: server.url,
				timings,
				get sendTransport() {
					return sendTransport;
				},
				get recvTransport() {
					return recvTransport;
				},
				get transports() {
					return [sendTransport, recvTransport].filter((t): t is WebRtcTransport => t !== undefined);
				},
				producers,
				consumers,
				dataProducers,
				dataConsumers,
				get socket() {
					return server.socket ?? first;
				},
				get closed() {
					return closing !== undefined;
				},
				transport: serverTransport,
				nextSocket: (timeoutMs?: number) => server.nextSocket(timeoutMs),
				socketClosed: (which?: WebSocket) => server.socketClosed(which ?? server.socket ?? first),
				async waitForConnected({ directions = expectedToConnect(), timeoutMs = 10_000 } = {}) {
					if (!connect) throw new Error('this client was launched with connect: false and never connects');
					await Promise.all(directions.map((direction) => dtlsConnected(serverTransport(direction), timeoutMs)));
				},
				async closeTransport(direction: Direction) {
					await page.evaluate((dir) => window.__msHarness.closeTransport(dir), direction);
				},
				async closeTransports() {
					const directions = ['send', 'recv'].filter((d) => (d === 'send' ? hasSend : hasRecv)) as Direction[];
					await page.evaluate((dirs) => {
						for (const dir of dirs) window.__msHarness.closeTransport(dir);
					}, directions);
				},
				closePage: () => page.close(),
				processes: () => launched.processes(),
				kill: () => launched.kill(),
				killBrowserProcess: () => launched.killBrowserProcess(),
				async pauseProducerInPage(producerId: string) {
					await page.evaluate((id) => window.__msHarness.pauseProducer(id), producerId);
				},
				async restartIce(direction: Direction, iceParameters: types.IceParameters) {
					await page.evaluate(([dir, parameters]) => window.__msHarness.restartIce(dir, parameters), [
						direction,
						iceParameters as clientTypes.IceParameters,
					] as const);
				},
				connectionStates: () => page.evaluate(() => window.__msHarness.connectionStates()),
				async reconnectSocket(socketOptions: PageSocketOptions = {}) {
					const [next] = await Promise.all([
						server.nextSocket(),
						page.evaluate((o) => window.__msHarness.reconnectSocket(o), socketOptions),
					]);
					return next;
				},
				async dropSocket(socketOptions: PageSocketOptions = {}) {
					const closed = server.socketClosed(server.socket ?? first);
					await page.evaluate((o) => window.__msHarness.dropSocket(o), socketOptions);
					return closed;
				},
				close,
			} satisfies ChromiumClient),
		);
		return client;
	} catch (error) {
		clearTimeout(startTimer);
		await close().catch(() => {});
		if (step === undefined) throw error;
		throw new ChromiumStartError(
			step,
			performance.now() - started,
			startTimedOut ? new Error(`not started within ${startTimeoutMs} ms (startTimeoutMs)`, { cause: error }) : error,
		);
	}
}

/** Resolves when `transport` is DTLS-connected; rejects on failed/closed or after `timeoutMs`. */
export function dtlsConnected(transport: WebRtcTransport, timeoutMs: number): Promise<void> {
	if (transport.dtlsState === 'connected') return Promise.resolve();
	if (transport.closed) return Promise.reject(new Error(`transport ${transport.id} is closed`));
	return new Promise<void>((resolve, reject) => {
		const done = (error?: Error): void => {
			clearTimeout(timer);
			transport.off('dtlsstatechange', onState);
			if (error) reject(error);
			else resolve();
		};
		const onState = (state: types.DtlsState): void => {
			if (state === 'connected') done();
			else if (state === 'failed' || state === 'closed') done(new Error(`transport ${transport.id} DTLS ${state}`));
		};
		const timer = setTimeout(
			() => done(new Error(`transport ${transport.id} not DTLS-connected within ${timeoutMs} ms (${transport.dtlsState})`)),
			timeoutMs,
		);
		transport.on('dtlsstatechange', onState);
	});
}
