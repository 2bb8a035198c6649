// The scale-real benchmark's messages and settings shared by its parts: the section
// (bench/sections/scale-real.ts), the run with the real workers (run.ts) and the lean clients
// (clients.ts).

/** One server transport a lean client connects to. */
export interface ClientTarget {
	/** Index of the transport in the run (also picks the client's own 127.x.y.z address). */
	readonly id: number;
	readonly ufrag: string;
	readonly password: string;
	readonly ip: string;
	readonly port: number;
	/** Sends SRTP audio (an Opus producer with this SSRC), else a data-only client (SCTP association, no messages). */
	readonly ssrc?: number;
}

/** Consent checks a client process skips on purpose: a lossy link, seeded so a run can be replayed. */
export interface ConsentLoss {
	/** Probability that a client skips one consent check (0: none). */
	readonly probability: number;
	/** Seed of the client process's generator (printed in the run's log). */
	readonly seed: number;
}

export type ToClient =
	| { type: 'connect'; targets: ClientTarget[]; consentLoss: ConsentLoss }
	/** Each listed client stops sending anything, `afterMs` after the message (a SIGKILLed client). */
	| { type: 'vanish'; vanish: Array<{ id: number; afterMs: number }> }
	| { type: 'cpu' }
	/** How many consent checks were sent and skipped (ConsentLoss) since the connect. */
	| { type: 'consent' }
	| { type: 'stop' };

export type FromClient =
	| { type: 'fingerprint'; value: string }
	| { type: 'progress'; done: number }
	| { type: 'connected'; ok: number[]; failed: Array<{ id: number; error: string }> }
	/** Wall-clock time (ms since the epoch, sub-millisecond) at which the client went silent. */
	| { type: 'vanished'; id: number; at: number }
	| { type: 'cpu'; micros: number }
	| { type: 'consent'; sent: number; skipped: number };

/** How the lean clients behave (what the report states). */
export const CLIENT_TIMING = {
	/** ICE consent check (STUN Binding request) per client, as werift does (~5 s). */
	consentEveryMs: 5_000,
	/** One SRTP packet per media client every this often: Opus DTX in silence (a packet every 400 ms). */
	rtpEveryMs: 400,
	/** Bytes of Opus payload per packet. */
	rtpPayloadBytes: 20,
	/** DTLS handshakes in flight per client process. */
	concurrentHandshakes: 32,
} as const;

/** Wall-clock milliseconds comparable across processes. */
export const wallNow = (): number => performance.timeOrigin + performance.now();

export const RESULT_PREFIX = '@@scale-real ';
