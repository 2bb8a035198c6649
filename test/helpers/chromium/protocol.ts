// Shared between the Node side (harness.ts, signaling.ts) and the browser side (page.ts).
// Types only at runtime: nothing here may import Node or mediasoup (server) code.
import type { types } from 'mediasoup-client';

/** Which of a client's two WebRtcTransports: 'send' produces, 'recv' consumes. */
export type Direction = 'send' | 'recv';

/** Path of the WebSocket endpoint on the signaling server. */
export const WS_PATH = '/ws';
/** Path of the esbuild bundle of page.ts. */
export const SCRIPT_PATH = '/page.js';

// ---------------------------------------------------------------------------------------------
// Signaling over the WebSocket: the page asks, the server answers.
// ---------------------------------------------------------------------------------------------

export interface ConnectRequest {
	method: 'connect';
	data: { direction: Direction; dtlsParameters: types.DtlsParameters };
}

export interface ProduceRequest {
	method: 'produce';
	data: { kind: types.MediaKind; rtpParameters: types.RtpParameters; appData: types.AppData };
}

export interface ProduceDataRequest {
	method: 'produceData';
	data: {
		sctpStreamParameters: types.SctpStreamParameters;
		label: string;
		protocol: string;
		appData: types.AppData;
	};
}

/** Page → server request; the server replies with a {@link SignalingResponse} of the same id. */
export type SignalingRequest = { kind: 'request'; id: number } & (ConnectRequest | ProduceRequest | ProduceDataRequest);

export type SignalingResponse =
	| { kind: 'response'; id: number; ok: true; data: unknown }
	| { kind: 'response'; id: number; ok: false; error: string };

// ---------------------------------------------------------------------------------------------
// Control: the Node side drives the page with `page.evaluate(() => window.__msHarness.…)`, so
// control keeps working while the signaling socket is dropped.
// ---------------------------------------------------------------------------------------------

export interface LoadOptions {
	routerRtpCapabilities: types.RtpCapabilities;
	/** Register a `pagehide` handler that closes every mediasoup-client transport. */
	pagehideClose: boolean;
	/** mediasoup-client handler of the Device. Default 'Chrome111' (the Firefox harness passes 'Firefox120'). */
	handlerName?: 'Chrome111' | 'Firefox120';
}

export interface PageTransportParameters {
	id: string;
	iceParameters: types.IceParameters;
	iceCandidates: types.IceCandidate[];
	dtlsParameters: types.DtlsParameters;
	sctpParameters?: types.SctpParameters;
}

export interface PageConsumeParameters {
	id: string;
	producerId: string;
	kind: types.MediaKind;
	rtpParameters: types.RtpParameters;
}

export interface PageDataConsumeParameters {
	id: string;
	dataProducerId: string;
	sctpStreamParameters: types.SctpStreamParameters;
	label: string;
	protocol: string;
}

/** One change of a mediasoup-client transport's `connectionState`, as seen in the page. */
export interface PageConnectionStateChange {
	state: types.ConnectionState;
	/** `performance.timeOrigin + performance.now()` in the page (ms since the epoch). */
	at: number;
}

export interface PageSocketOptions {
	/** Close code the page sends: 1000 or 3000–4999 (browsers refuse anything else). */
	code?: number;
	reason?: string;
}

/** What page.ts puts on `window.__msHarness`. */
export interface PageApi {
	/** Resolves once the first signaling WebSocket is open. */
	ready(): Promise<void>;
	/** Creates and loads the mediasoup-client Device; returns its RTP capabilities. */
	load(options: LoadOptions): Promise<types.RtpCapabilities>;
	/** Creates the mediasoup-client transport for the server transport's parameters. */
	createTransport(direction: Direction, parameters: PageTransportParameters): void;
	/**
	 * getUserMedia (fake devices) ahead of the transports, so that producing later only produces:
	 * the first `produce()`/`produceTracks()` asking for the same tracks takes this stream.
	 */
	acquireMedia(options: { audio: boolean; video: boolean }): Promise<void>;
	/** getUserMedia (fake devices) and produce the tracks; returns the server producer ids. */
	produce(options: { audio: boolean; video: boolean }): Promise<string[]>;
	/** Produces one DataChannel on the send transport; returns the server data producer id. */
	produceData(label: string): Promise<string>;
	consume(parameters: PageConsumeParameters): Promise<void>;
	consumeData(parameters: PageDataConsumeParameters): Promise<void>;
	/** mediasoup-client `transport.close()`: a clean close (DTLS close_notify). */
	closeTransport(direction: Direction): void;
	restartIce(direction: Direction, iceParameters: types.IceParameters): Promise<void>;
	/** Every connectionState the page's transports went through, oldest first. */
	connectionStates(): Record<Direction, PageConnectionStateChange[]>;
	/** Closes the signaling socket and opens a new one; resolves once the new one is open. */
	reconnectSocket(options: PageSocketOptions): Promise<void>;
	/** Closes the signaling socket (no new one). */
	dropSocket(options: PageSocketOptions): void;
}

declare global {
	interface Window {
		__msHarness: PageApi;
	}
}
