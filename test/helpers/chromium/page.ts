// Browser side of the Chromium harness: bundled by esbuild (signaling.ts) and run in the page.
// It keeps a signaling WebSocket to the harness and exposes `window.__msHarness` for control.
import { Device, type types } from 'mediasoup-client';
import {
	type ConnectRequest,
	type Direction,
	type PageApi,
	type PageConnectionStateChange,
	type ProduceDataRequest,
	type ProduceRequest,
	type SignalingResponse,
	WS_PATH,
} from './protocol.js';

type RequestBody = ConnectRequest | ProduceRequest | ProduceDataRequest;

// Additions to the page API, declared here rather than in protocol.ts (merged into PageApi).
declare module './protocol.js' {
	interface PageApi {
		/**
		 * Like produce(), with mediasoup-client's `zeroRtpOnPause`: pausing such a producer stops its
		 * RTP (mediasoup-client 3.18 sets its transceiver 'inactive' and renegotiates). Returns the
		 * server producer ids.
		 */
		produceTracks(options: { audio: boolean; video: boolean; zeroRtpOnPause: boolean; simulcast: boolean }): Promise<string[]>;
		/**
		 * mediasoup-client `producer.pause()` of a producer made by produceTracks(); with
		 * `zeroRtpOnPause`, resolves once its RTCRtpSender has sent no RTP packet for 600 ms, and
		 * rejects if it still sends 5 s after the pause.
		 */
		pauseProducer(producerId: string): Promise<void>;
	}
}

let socket: WebSocket;
let opened: Promise<void>;
let nextRequestId = 1;
const pending = new Map<number, { resolve: (data: unknown) => void; reject: (error: Error) => void }>();

function openSocket(): Promise<void> {
	const ws = new WebSocket(`ws://${location.host}${WS_PATH}`);
	socket = ws;
	ws.addEventListener('message', (event) => {
		const message = JSON.parse(String(event.data)) as SignalingResponse;
		const request = pending.get(message.id);
		if (!request) return;
		pending.delete(message.id);
		if (message.ok) request.resolve(message.data);
		else request.reject(new Error(message.error));
	});
	opened = new Promise<void>((resolve, reject) => {
		ws.addEventListener('open', () => resolve(), { once: true });
		ws.addEventListener('error', () => reject(new Error('signaling WebSocket failed to open')), { once: true });
	});
	// `ready()` may never be awaited for a replaced socket.
	opened.catch(() => {});
	return opened;
}

async function request<T>(body: RequestBody): Promise<T> {
	await opened;
	const id = nextRequestId++;
	return new Promise<T>((resolve, reject) => {
		pending.set(id, { resolve: resolve as (data: unknown) => void, reject });
		socket.send(JSON.stringify({ kind: 'request', id, ...body }));
	});
}

let device: Device | undefined;
const transports: Partial<Record<Direction, types.Transport>> = {};
const states: Record<Direction, PageConnectionStateChange[]> = { send: [], recv: [] };
const keep: unknown[] = [];
/**
 * Two simulcast layers for the fake camera (640x480: Chromium sends at most two layers at that
 * size): the server producer is then of type 'simulcast' with two encodings, the only kind the
 * worker runs its RTP inactivity check on (the producer score hint).
 */
const SIMULCAST_ENCODINGS = [
	{ scaleResolutionDownBy: 2, maxBitrate: 150_000 },
	{ scaleResolutionDownBy: 1, maxBitrate: 500_000 },
];

/** Producers made by produceTracks(), by server id, with their `zeroRtpOnPause`. */
const producers = new Map<string, { producer: types.Producer; zeroRtpOnPause: boolean }>();

/** The stream of acquireMedia(), for the first produce that asks for the same tracks. */
let acquired: { audio: boolean; video: boolean; stream: MediaStream } | undefined;

/** The acquired stream if it has the tracks asked for (once), else a new getUserMedia. */
async function userMedia(audio: boolean, video: boolean): Promise<MediaStream> {
	if (acquired && acquired.audio === audio && acquired.video === video) {
		const { stream } = acquired;
		acquired = undefined;
		return stream;
	}
	return navigator.mediaDevices.getUserMedia({ audio, video });
}

function transportOf(direction: Direction): types.Transport {
	const transport = transports[direction];
	if (!transport) throw new Error(`no ${direction} transport in the page`);
	return transport;
}

function deviceOf(): Device {
	if (!device) throw new Error('load() first');
	return device;
}

const api: PageApi = {
	ready: () => opened,

	async load({ routerRtpCapabilities, pagehideClose, handlerName = 'Chrome111' }) {
		device = new Device({ handlerName });
		await device.load({ routerRtpCapabilities });
		if (pagehideClose) {
			addEventListener('pagehide', () => {
				for (const transport of Object.values(transports)) transport.close();
			});
		}
		return device.rtpCapabilities;
	},

	createTransport(direction, parameters) {
		const current = deviceOf();
		const transport = direction === 'send' ? current.createSendTransport(parameters) : current.createRecvTransport(parameters);
		transports[direction] = transport;
		transport.on('connect', ({ dtlsParameters }, callback, errback) => {
			request({ method: 'connect', data: { direction, dtlsParameters } }).then(() => callback(), errback);
		});
		transport.on('connectionstatechange', (state) => {
			states[direction].push({ state, at: performance.timeOrigin + performance.now() });
		});
		if (direction === 'send') {
			transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
				request<{ id: string }>({ method: 'produce', data: { kind, rtpParameters, appData } }).then(callback, errback);
			});
			transport.on('producedata', ({ sctpStreamParameters, label, protocol, appData }, callback, errback) => {
				request<{ id: string }>({
					method: 'produceData',
					data: { sctpStreamParameters, label: label ?? '', protocol: protocol ?? '', appData },
				}).then(callback, errback);
			});
		}
	},

	async acquireMedia({ audio, video }) {
		acquired = { audio, video, stream: await navigator.mediaDevices.getUserMedia({ audio, video }) };
	},

	async produce({ audio, video }) {
		const transport = transportOf('send');
		const stream = await userMedia(audio, video);
		keep.push(stream);
		const ids: string[] = [];
		for (const track of stream.getTracks()) {
			const producer = await transport.produce({ track });
			keep.push(producer);
			ids.push(producer.id);
		}
		return ids;
	},

	async produceTracks({ audio, video, zeroRtpOnPause, simulcast }) {
		const transport = transportOf('send');
		const stream = await userMedia(audio, video);
		keep.push(stream);
		const ids: string[] = [];
		for (const track of stream.getTracks()) {
			const encodings = simulcast && track.kind === 'video' ? SIMULCAST_ENCODINGS : undefined;
			const producer = await transport.produce({ track, zeroRtpOnPause, ...(encodings ? { encodings } : {}) });
			producers.set(producer.id, { producer, zeroRtpOnPause });
			ids.push(producer.id);
		}
		return ids;
	},

	async pauseProducer(producerId) {
		const made = producers.get(producerId);
		if (!made) throw new Error(`no producer ${producerId} made by produceTracks() in the page`);
		const { producer, zeroRtpOnPause } = made;
		producer.pause();
		const sender = producer.rtpSender;
		if (!zeroRtpOnPause || !sender) return;
		const packetsSent = async (): Promise<number> => {
			let sent = 0;
			(await sender.getStats()).forEach((report: { type: string; packetsSent?: number }) => {
				if (report.type === 'outbound-rtp') sent += report.packetsSent ?? 0;
			});
			return sent;
		};
		const deadline = performance.now() + 5_000;
		let last = await packetsSent();
		let quietSince = performance.now();
		while (performance.now() - quietSince < 600) {
			if (performance.now() > deadline) throw new Error(`producer ${producerId} still sends RTP 5 s after pause()`);
			await new Promise((resolve) => setTimeout(resolve, 100));
			const now = await packetsSent();
			if (now !== last) {
				last = now;
				quietSince = performance.now();
			}
		}
	},

	async produceData(label) {
		const dataProducer = await transportOf('send').produceData({ label, ordered: true });
		keep.push(dataProducer);
		return dataProducer.id;
	},

	async consume(parameters) {
		const consumer = await transportOf('recv').consume(parameters);
		keep.push(consumer);
	},

	async consumeData(parameters) {
		const dataConsumer = await transportOf('recv').consumeData(parameters);
		keep.push(dataConsumer);
	},

	closeTransport(direction) {
		transportOf(direction).close();
	},

	async restartIce(direction, iceParameters) {
		await transportOf(direction).restartIce({ iceParameters });
	},

	connectionStates: () => states,

	reconnectSocket({ code = 1000, reason = '' }) {
		if (socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN) {
			socket.close(code, reason);
		}
		return openSocket();
	},

	dropSocket({ code = 1000, reason = '' }) {
		socket.close(code, reason);
	},
};

window.__msHarness = api;
void openSocket();
