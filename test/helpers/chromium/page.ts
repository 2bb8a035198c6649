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

	async load({ routerRtpCapabilities, pagehideClose }) {
		device = new Device({ handlerName: 'Chrome111' });
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

	async produce({ audio, video }) {
		const transport = transportOf('send');
		const stream = await navigator.mediaDevices.getUserMedia({ audio, video });
		keep.push(stream);
		const ids: string[] = [];
		for (const track of stream.getTracks()) {
			const producer = await transport.produce({ track });
			keep.push(producer);
			ids.push(producer.id);
		}
		return ids;
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
