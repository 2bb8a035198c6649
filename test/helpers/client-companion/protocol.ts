// Wire format between the companion test page (app.ts) and its server (server.ts): JSON requests
// over one WebSocket, plus the page's `window.__companionApp` that the test drives.

export const WS_PATH = '/ws';
export const APP_PATH = '/app.js';
/** Where the page imports `mediasoup-watchdog/client` from (a plain `<script type="module">`). */
export const CLIENT_PREFIX = '/mediasoup-watchdog/';
export const CLIENT_PATH = `${CLIENT_PREFIX}client.js`;
export const GOODBYE_PATH = '/goodbye';

export type Direction = 'send' | 'recv';

export type CompanionRequest =
	| { method: 'join'; data: { userId: string } }
	| { method: 'createTransport'; data: { direction: Direction } }
	| { method: 'connect'; data: { transportId: string; dtlsParameters: unknown } }
	| { method: 'produce'; data: { transportId: string; kind: 'audio' | 'video'; rtpParameters: unknown } }
	| { method: 'consume'; data: { transportId: string; producerId: string; rtpCapabilities: unknown } }
	| { method: 'restartIce'; data: { transportId: string } };

export type WireRequest = CompanionRequest & { id: number };
export type WireResponse = { id: number; ok: true; data: unknown } | { id: number; ok: false; error: string };

/** The server's answer to `restartIce`: the watchdog's grant or its denial. */
export type RestartReply = { iceParameters: unknown } | { denied: string; retryAfterMs?: number };

/** What the test asks the page to do (window.__companionApp.start). */
export interface StartOptions {
	userId: string;
	/** mediasoup-client handler: 'Chrome111' or 'Firefox120'. */
	handlerName: string;
	/** A send transport producing the fake microphone (default true). */
	send?: boolean;
	/** A recv transport consuming it (default false). */
	recv?: boolean;
	/**
	 * Default true. false: the page answers mediasoup-client's 'connect' itself and never sends its
	 * DTLS parameters to the server: ICE connects, DTLS never does (a transport that never connected).
	 */
	forwardConnect?: boolean;
	/** watchRestarts() options (numbers only). */
	companion?: {
		disconnectedGraceMs?: number;
		backoffMs?: number;
		maxBackoffMs?: number;
		maxAttempts?: number;
		jitterMs?: number;
	};
}

/** One line of the page's log: a companion event or a connectionstatechange, `at` = Date.now(). */
export interface PageLogEntry {
	at: number;
	direction: Direction;
	event: string;
	payload: unknown;
}

export interface CompanionApp {
	/** Names of the module's exports, and a smoke call of each helper (test 5). */
	exports(): { names: string[]; types: Record<string, string>; closeAction: string; denial: string };
	start(options: StartOptions): Promise<{ transportIds: Partial<Record<Direction, string>> }>;
	connectionState(direction: Direction): string;
	log(): PageLogEntry[];
}
