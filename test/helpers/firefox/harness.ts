// A real Firefox ESR running mediasoup-client (its Firefox120 handler) against a real mediasoup
// router, for integration tests. One Firefox per launchFirefoxClients(); each client is a tab of it
// with its own signaling server (the Chromium harness's page bundle and server, on 127.0.0.1) and
// one server transport, on its own port or on a WebRtcServer, listening on `address`.
//
// Firefox never pairs with a 127.0.0.1 server candidate: run the worker in a network namespace
// (test/helpers/netns.ts) and listen on its veth address.
//
//   const firefox = await launchFirefoxClients();
//   const client = await firefox.open(router, { address: ns.address, direction: 'send', data: true });
//   await client.waitForConnected();
//   await firefox.kill();           // SIGKILL every Firefox process: nothing reaches the server
//   afterEach(closeAllFirefoxClients);
import type { types } from 'mediasoup';
import type { types as clientTypes } from 'mediasoup-client';
import type { Page } from 'puppeteer-core';
import { dtlsConnected } from '../chromium/harness.js';
import type { Direction, PageTransportParameters, SignalingRequest } from '../chromium/protocol.js';
import { type SignalingServer, startSignalingServer } from '../chromium/signaling.js';
import type { Router, WebRtcServer, WebRtcTransport } from '../mediasoup.js';
import { FirefoxHarnessError, type KilledFirefox, type LaunchedFirefox, launchFirefox } from './browser.js';

export { FIREFOX_PATH, FIREFOX_PREFS, FirefoxHarnessError } from './browser.js';

export interface FirefoxClientOptions {
	/** The IPv4 address the server transport listens on (own port), e.g. a test namespace's veth address. */
	address: string;
	/** Put the server transport on this WebRtcServer (which must listen on a non-loopback address). */
	webRtcServer?: WebRtcServer;
	/** The one transport of this client: 'send' produces, 'recv' consumes. */
	direction: Direction;
	/** Produce the fake microphone (send); `zeroRtpOnPause` as in mediasoup-client. */
	audio?: { zeroRtpOnPause?: boolean };
	/** Produce one DataChannel (send); enables SCTP. */
	data?: boolean;
	/** Producers to consume (recv); each consumer is resumed once the page consumes it. */
	consume?: types.Producer[];
	/** Called right after the server transport is created, before its parameters go to the page. */
	onTransport?: (transport: WebRtcTransport) => void | Promise<void>;
	/** appData of the server transport. */
	appData?: Record<string, unknown>;
}

export interface FirefoxClient {
	readonly page: Page;
	readonly transport: WebRtcTransport;
	readonly producers: types.Producer[];
	readonly consumers: types.Consumer[];
	readonly dataProducers: types.DataProducer[];
	/** Milliseconds from open() until the page had produced/consumed what it was asked to. */
	readonly setupMs: number;
	/** Resolves once the server transport is DTLS-connected; rejects on failed/closed or after `timeoutMs` (default 15 s). */
	waitForConnected(timeoutMs?: number): Promise<void>;
	/** mediasoup-client `transport.close()` in the page (DTLS close_notify). */
	closeTransport(): Promise<void>;
	/**
	 * mediasoup-client `producer.pause()` in the page only (the server is not told); with
	 * `zeroRtpOnPause`, resolves once the page has sent no RTP for 600 ms.
	 */
	pauseProducerInPage(producerId: string): Promise<void>;
	/** Closes the tab, its signaling server and the server transport. Idempotent. */
	close(): Promise<void>;
}

export interface FirefoxClients {
	readonly firefox: LaunchedFirefox;
	/** Opens a client in a new tab (see FirefoxClientOptions). */
	open(router: Router, options: FirefoxClientOptions): Promise<FirefoxClient>;
	/** SIGKILL every Firefox process (after freezing them all); resolves once all are gone. */
	kill(): Promise<KilledFirefox>;
	/** Closes every client, then Firefox, and removes its folder. Idempotent. */
	close(): Promise<void>;
}

const open = new Set<() => Promise<void>>();

/** Closes every Firefox launched in this process that is still open (use in afterEach). */
export async function closeAllFirefoxClients(): Promise<void> {
	await Promise.all([...open].map((close) => close()));
}

/** Launches one Firefox (retried once; a FirefoxHarnessError if it cannot start) to open clients in. */
export async function launchFirefoxClients(): Promise<FirefoxClients> {
	const firefox = await launchFirefox();
	const clients = new Set<FirefoxClient>();
	let closing: Promise<void> | undefined;
	const close = (): Promise<void> => {
		closing ??= (async () => {
			await Promise.allSettled([...clients].map((c) => c.close()));
			await firefox.close();
			open.delete(close);
		})();
		return closing;
	};
	open.add(close);
	return {
		firefox,
		async open(router, options) {
			if (closing) throw new Error('this Firefox is closed');
			const client = await openClient(firefox, router, options);
			clients.add(client);
			return client;
		},
		kill: () => firefox.kill(),
		close,
	};
}

async function openClient(firefox: LaunchedFirefox, router: Router, options: FirefoxClientOptions): Promise<FirefoxClient> {
	const started = performance.now();
	const send = options.direction === 'send';
	if ((options.audio || options.data) && !send) throw new Error('audio and data need a send client');
	if (options.consume?.length && send) throw new Error('consume needs a recv client');
	let transport: WebRtcTransport | undefined;
	const producers: types.Producer[] = [];
	const consumers: types.Consumer[] = [];
	const dataProducers: types.DataProducer[] = [];
	const server = (): WebRtcTransport => {
		if (!transport) throw new Error('no server transport yet');
		return transport;
	};
	const handle = async (request: SignalingRequest): Promise<unknown> => {
		switch (request.method) {
			case 'connect':
				await server().connect({ dtlsParameters: request.data.dtlsParameters as types.DtlsParameters });
				return null;
			case 'produce': {
				const producer = await server().produce({
					kind: request.data.kind,
					rtpParameters: request.data.rtpParameters as types.RtpParameters,
				});
				producers.push(producer);
				return { id: producer.id };
			}
			case 'produceData': {
				const dataProducer = await server().produceData({
					sctpStreamParameters: request.data.sctpStreamParameters as types.SctpStreamParameters,
					label: request.data.label,
					protocol: request.data.protocol,
				});
				dataProducers.push(dataProducer);
				return { id: dataProducer.id };
			}
		}
	};

	let signaling: SignalingServer | undefined;
	let page: Page | undefined;
	let closing: Promise<void> | undefined;
	const close = (): Promise<void> => {
		closing ??= (async () => {
			await page?.close().catch(() => {});
			await signaling?.close().catch(() => {});
			if (transport && !transport.closed) transport.close();
		})();
		return closing;
	};
	try {
		signaling = await startSignalingServer(handle);
		page = await firefox.browser.newPage().catch((error: unknown) => {
			throw new FirefoxHarnessError(`Firefox could not open a tab: ${String(error)}`, { cause: error });
		});
		const tab = page;
		const firstSocket = signaling.nextSocket(20_000);
		await Promise.all([tab.goto(signaling.url), firstSocket]);
		await tab.evaluate(() => window.__msHarness.ready());
		const rtpCapabilities = (await tab.evaluate(
			(capabilities) =>
				window.__msHarness.load({ routerRtpCapabilities: capabilities, pagehideClose: false, handlerName: 'Firefox120' }),
			router.rtpCapabilities as clientTypes.RtpCapabilities,
		)) as types.RtpCapabilities;

		const common = {
			enableUdp: true,
			enableTcp: true,
			preferUdp: true,
			enableSctp: options.data ?? false,
			appData: { ...options.appData },
		};
		transport = options.webRtcServer
			? await router.createWebRtcTransport({ ...common, webRtcServer: options.webRtcServer })
			: await router.createWebRtcTransport({ ...common, listenIps: [{ ip: options.address }] });
		await options.onTransport?.(transport);
		const parameters: PageTransportParameters = {
			id: transport.id,
			iceParameters: transport.iceParameters,
			iceCandidates: transport.iceCandidates as clientTypes.IceCandidate[],
			dtlsParameters: transport.dtlsParameters as clientTypes.DtlsParameters,
			...(transport.sctpParameters ? { sctpParameters: transport.sctpParameters as clientTypes.SctpParameters } : {}),
		};
		await tab.evaluate((direction, p) => window.__msHarness.createTransport(direction, p), options.direction, parameters);

		if (options.audio) {
			const zeroRtpOnPause = options.audio.zeroRtpOnPause ?? false;
			await tab.evaluate(
				(z) => window.__msHarness.produceTracks({ audio: true, video: false, zeroRtpOnPause: z, simulcast: false }),
				zeroRtpOnPause,
			);
		}
		if (options.data) await tab.evaluate(() => window.__msHarness.produceData('firefox'));
		for (const producer of options.consume ?? []) {
			if (!router.canConsume({ producerId: producer.id, rtpCapabilities })) {
				throw new Error(`Firefox cannot consume producer ${producer.id} (${producer.kind})`);
			}
			const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true });
			consumers.push(consumer);
			await tab.evaluate((c) => window.__msHarness.consume(c), {
				id: consumer.id,
				producerId: producer.id,
				kind: consumer.kind,
				rtpParameters: consumer.rtpParameters as clientTypes.RtpParameters,
			});
			await consumer.resume();
		}
		const serverTransport = transport;
		return {
			page: tab,
			transport: serverTransport,
			producers,
			consumers,
			dataProducers,
			setupMs: performance.now() - started,
			waitForConnected: (timeoutMs = 15_000) => dtlsConnected(serverTransport, timeoutMs),
			async closeTransport() {
				await tab.evaluate((direction) => window.__msHarness.closeTransport(direction), options.direction);
			},
			async pauseProducerInPage(producerId) {
				await tab.evaluate((id) => window.__msHarness.pauseProducer(id), producerId);
			},
			close,
		};
	} catch (error) {
		await close();
		throw error;
	}
}
