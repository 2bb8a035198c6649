// The test page's app (bundled by esbuild with mediasoup-client, server.ts): a minimal
// mediasoup-client app that uses `mediasoup-watchdog/client` the way docs/client.md says. The
// companion itself is NOT bundled here: the page loads it from a plain `<script type="module">`
// (server.ts PAGE_HTML), which puts the module on `window.__mswClient` before this script runs.
import { Device, type types } from 'mediasoup-client';
import type * as Companion from '../../../src/client/index.js';
import {
	type CompanionApp,
	type CompanionRequest,
	type Direction,
	GOODBYE_PATH,
	type PageLogEntry,
	type RestartReply,
	type StartOptions,
	type WireResponse,
	WS_PATH,
} from './protocol.js';

declare global {
	interface Window {
		__mswClient?: typeof Companion;
		__companionApp: CompanionApp;
	}
}

function companion(): typeof Companion {
	const loaded = window.__mswClient;
	if (!loaded) throw new Error('mediasoup-watchdog/client was not loaded by the page');
	return loaded;
}

const socket = new WebSocket(`ws://${location.host}${WS_PATH}`);
const opened = new Promise<void>((resolve, reject) => {
	socket.addEventListener('open', () => resolve(), { once: true });
	socket.addEventListener('error', () => reject(new Error('signaling WebSocket failed')), { once: true });
});
let nextId = 1;
const pending = new Map<number, { resolve: (data: unknown) => void; reject: (error: Error) => void }>();
socket.addEventListener('message', (event) => {
	const message = JSON.parse(String(event.data)) as WireResponse;
	const waiter = pending.get(message.id);
	if (!waiter) return;
	pending.delete(message.id);
	if (message.ok) waiter.resolve(message.data);
	else waiter.reject(new Error(message.error));
});

async function request<T>(body: CompanionRequest): Promise<T> {
	await opened;
	const id = nextId++;
	return new Promise<T>((resolve, reject) => {
		pending.set(id, { resolve: resolve as (data: unknown) => void, reject });
		socket.send(JSON.stringify({ id, ...body }));
	});
}

const log: PageLogEntry[] = [];
const transports: Partial<Record<Direction, types.Transport>> = {};
const keep: unknown[] = [];

function transportOf(direction: Direction): types.Transport {
	const transport = transports[direction];
	if (!transport) throw new Error(`no ${direction} transport`);
	return transport;
}

const app: CompanionApp = {
	exports() {
		const client = companion() as unknown as Record<string, unknown>;
		const names = Object.keys(client).sort();
		const types: Record<string, string> = {};
		for (const name of names) types[name] = typeof client[name];
		return {
			names,
			types,
			closeAction: companion().actionForClose({ reason: 'client-left', clean: true }),
			denial: companion().denialAction('rate-limited', 1000),
		};
	},

	async start(options: StartOptions) {
		const { watchRestarts, declareDeparture } = companion();
		const { routerRtpCapabilities } = await request<{ routerRtpCapabilities: types.RtpCapabilities }>({
			method: 'join',
			data: { userId: options.userId },
		});
		const device = new Device({ handlerName: options.handlerName as types.BuiltinHandlerName });
		await device.load({ routerRtpCapabilities });
		const forwardConnect = options.forwardConnect ?? true;
		const directions: Direction[] = [];
		if (options.send ?? true) directions.push('send');
		if (options.recv) directions.push('recv');
		for (const direction of directions) {
			const parameters = await request<types.TransportOptions>({ method: 'createTransport', data: { direction } });
			const transport = direction === 'send' ? device.createSendTransport(parameters) : device.createRecvTransport(parameters);
			transports[direction] = transport;
			transport.on('connect', ({ dtlsParameters }, callback, errback) => {
				if (!forwardConnect) {
					callback();
					return;
				}
				request({ method: 'connect', data: { transportId: transport.id, dtlsParameters } }).then(() => callback(), errback);
			});
			transport.on('connectionstatechange', (state) => {
				log.push({ at: Date.now(), direction, event: 'connectionstatechange', payload: state });
			});
			if (direction === 'send') {
				transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
					request<{ id: string }>({ method: 'produce', data: { transportId: transport.id, kind, rtpParameters } }).then(
						callback,
						errback,
					);
				});
			}
			// The companion, as docs/client.md wires it: the app's signaling asks the server.
			const restarts = watchRestarts(transport, {
				...options.companion,
				requestRestart: async (t) => {
					const answer = await request<RestartReply>({ method: 'restartIce', data: { transportId: t.id } });
					return 'iceParameters' in answer
						? { granted: true, iceParameters: answer.iceParameters }
						: { granted: false, reason: answer.denied, retryAfterMs: answer.retryAfterMs };
				},
			});
			for (const event of ['request', 'restarted', 'denied', 'rejoin', 'giveup'] as const) {
				restarts.on(event, (payload) => log.push({ at: Date.now(), direction, event, payload }));
			}
		}
		declareDeparture({
			transports: () => Object.values(transports),
			goodbye: () => navigator.sendBeacon(GOODBYE_PATH, JSON.stringify({ userId: options.userId })),
		});
		if (transports.send) {
			const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
			const track = stream.getAudioTracks()[0];
			if (!track) throw new Error('getUserMedia gave no audio track');
			const producer = await transports.send.produce({ track });
			keep.push(stream, producer);
			if (transports.recv) {
				const recv = transports.recv;
				const consumer = await request<types.ConsumerOptions>({
					method: 'consume',
					data: { transportId: recv.id, producerId: producer.id, rtpCapabilities: device.rtpCapabilities },
				});
				keep.push(await recv.consume(consumer));
			}
		}
		const transportIds: Partial<Record<Direction, string>> = {};
		for (const direction of directions) transportIds[direction] = transportOf(direction).id;
		return { transportIds };
	},

	connectionState: (direction) => transportOf(direction).connectionState,
	log: () => log,
};

window.__companionApp = app;
