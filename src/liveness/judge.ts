// The verdict on one connected transport from successive getStats() samples. Pure logic: no
// timers, no I/O; the scheduler feeds it samples and acts on what it returns. docs/liveness.md
// explains every rule here and the measurements behind it.

/**
 * How many times its longest proven healthy silence a transport may stay silent before it is
 * judged gone. A client with a 5 s consent cadence (werift, Firefox) gets 15–18 s, so one or two
 * lost consent checks never close it; Chromium (2.5 s) stays at `inactivityTimeoutMs`.
 */
export const CADENCE_FACTOR = 3;

/**
 * Reply bytes (what the worker sends that is not RTP: STUN responses, RTCP, SCTP) count as a sign
 * of life only when the transport was sampled at least this often: the server's own SCTP
 * heartbeats (every ~30 s) must not pass for consent replies.
 */
export const ECHO_MAX_SAMPLE_INTERVAL_MS = 10_000;

/** The counters read from `getStats()[0]`. */
export interface LivenessSample {
	/** When the request was sent (the counters are at least this fresh). */
	readonly sentAt: number;
	/** When the response arrived. */
	readonly at: number;
	readonly bytesReceived: number;
	/** bytesSent minus RTP/RTX/probation bytes sent; undefined when the stats lack them. */
	readonly replyBytes: number | undefined;
	/** RTP bytes received plus sent; undefined when the stats lack them. */
	readonly mediaBytes: number | undefined;
}

/** Whether reply bytes may be taken as consent replies (the server sends no media of its own). */
export type EchoEligibility = 'unknown' | 'yes' | 'no';

export type Verdict =
	| { readonly kind: 'alive' }
	/** Silent past its bound: close it. */
	| { readonly kind: 'inactive'; readonly silentMs: number; readonly boundMs: number; readonly lastSignAt: number }
	/** Inbound bytes are silent past the bound but replies moved: ask whether the transport carries media. */
	| { readonly kind: 'check-echo' }
	/** Silent inbound bytes, moving replies, and no way to tell consent replies from server traffic. */
	| { readonly kind: 'unjudged'; readonly reason: string };

const ALIVE: Verdict = Object.freeze({ kind: 'alive' });

/** Reads the counters the judge needs from one `getStats()` result, or undefined if absent. */
export function readSample(stats: unknown, sentAt: number, at: number): LivenessSample | undefined {
	const first = Array.isArray(stats) ? (stats[0] as Record<string, unknown> | undefined) : undefined;
	if (!first || typeof first.bytesReceived !== 'number') return undefined;
	const n = (key: string): number | undefined => {
		const value = first[key];
		return typeof value === 'number' ? value : undefined;
	};
	const bytesSent = n('bytesSent');
	const rtpSent = n('rtpBytesSent');
	const rtpReceived = n('rtpBytesReceived');
	return {
		sentAt,
		at,
		bytesReceived: first.bytesReceived,
		replyBytes:
			bytesSent === undefined || rtpSent === undefined
				? undefined
				: bytesSent - rtpSent - (n('rtxBytesSent') ?? 0) - (n('probationBytesSent') ?? 0),
		mediaBytes: rtpSent === undefined || rtpReceived === undefined ? undefined : rtpSent + rtpReceived,
	};
}

/**
 * Whether a transport's `dump()` shows no producers and no consumers: then nothing but consent
 * replies (and SCTP) leaves the worker for it. undefined when the dump is not understood.
 */
export function carriesNoMedia(dump: unknown): boolean | undefined {
	if (typeof dump !== 'object' || dump === null) return undefined;
	const { producerIds, consumerIds } = dump as { producerIds?: unknown; consumerIds?: unknown };
	if (!Array.isArray(producerIds) || !Array.isArray(consumerIds)) return undefined;
	return producerIds.length === 0 && consumerIds.length === 0;
}

/**
 * The liveness state of one connected transport. A sign of life is inbound bytes growing, or,
 * for a transport that carries no media, the worker's replies growing (on a WebRtcServer, STUN
 * consent requests are not counted in `bytesReceived`, but mediasoup's responses are counted
 * in `bytesSent`).
 */
export class TransportJudge {
	readonly #timeoutMs: number;
	#lastBytes: number | undefined;
	#lastReply: number | undefined;
	#lastMedia: number | undefined;
	#prevSentAt: number | undefined;
	/** When the last sign of life was observed. */
	#signAt: number;
	/** When reply bytes were last seen growing (a sign of life only if the echo is eligible). */
	#replyAt: number | undefined;
	/** sentAt of the latest sample that saw no sign of life since #signAt. */
	#staleAt: number | undefined;
	#provenMaxMs = 0;
	#echo: EchoEligibility = 'unknown';

	constructor(inactivityTimeoutMs: number, trackedAt: number) {
		this.#timeoutMs = inactivityTimeoutMs;
		this.#signAt = trackedAt;
	}

	/** The silence after which this transport is judged gone, in milliseconds. */
	get boundMs(): number {
		return Math.max(this.#timeoutMs, CADENCE_FACTOR * this.#provenMaxMs);
	}

	/** The longest silence observed while the transport was alive, in milliseconds. */
	get provenSilenceMs(): number {
		return this.#provenMaxMs;
	}

	get echo(): EchoEligibility {
		return this.#echo;
	}

	get lastSignAt(): number {
		return this.#signAt;
	}

	observe(sample: LivenessSample): Verdict {
		const interval = this.#prevSentAt === undefined ? Number.POSITIVE_INFINITY : sample.sentAt - this.#prevSentAt;
		this.#prevSentAt = sample.sentAt;
		const previous = this.#lastBytes;
		const grewIn = previous !== undefined && sample.bytesReceived !== previous;
		const grewReply = grew(this.#lastReply, sample.replyBytes);
		const grewMedia = grew(this.#lastMedia, sample.mediaBytes);
		this.#lastBytes = sample.bytesReceived;
		this.#lastReply = sample.replyBytes;
		this.#lastMedia = sample.mediaBytes;

		if (previous === undefined) {
			// Baseline: bytes may have arrived up to now, so assume they did (never judge early).
			this.#signAt = Math.max(this.#signAt, sample.at);
			return ALIVE;
		}
		// Media moving (server sending RTP, or client sending RTP) means replies include RTCP.
		if (grewMedia) this.#echo = 'unknown';
		if (grewReply) this.#replyAt = sample.at;
		const replyIsSign = grewReply && this.#echo === 'yes' && interval <= ECHO_MAX_SAMPLE_INTERVAL_MS;
		if (grewIn || replyIsSign) {
			this.#sign(sample.at);
			return ALIVE;
		}
		this.#staleAt = sample.sentAt;
		const silentMs = sample.sentAt - this.#signAt;
		const boundMs = this.boundMs;
		if (silentMs < boundMs) return ALIVE;

		const repliesMoved = this.#replyAt !== undefined && this.#replyAt > this.#signAt;
		if (!repliesMoved || this.#echo === 'no') {
			return { kind: 'inactive', silentMs, boundMs, lastSignAt: this.#signAt };
		}
		if (interval > ECHO_MAX_SAMPLE_INTERVAL_MS) {
			return {
				kind: 'unjudged',
				reason: "sampled too rarely to tell the worker's consent replies from its own SCTP heartbeats",
			};
		}
		if (this.#echo === 'unknown') return { kind: 'check-echo' };
		// Consent replies, last seen between samples too far apart to count then: they still give
		// the transport the benefit of the doubt for one bound.
		const replyAt = this.#replyAt ?? this.#signAt;
		const sinceReplyMs = sample.sentAt - replyAt;
		if (sinceReplyMs < boundMs) return ALIVE;
		return { kind: 'inactive', silentMs: sinceReplyMs, boundMs, lastSignAt: replyAt };
	}

	/**
	 * The transport's dump said whether it carries media. With none, its replies are consent
	 * replies: the latest one is a sign of life. With media, silence of inbound bytes decides.
	 */
	echoChecked(noMedia: boolean, now: number): Verdict {
		this.#echo = noMedia ? 'yes' : 'no';
		if (noMedia) {
			if (this.#replyAt !== undefined && this.#replyAt > this.#signAt) {
				// The silence before this was of inbound bytes only: do not learn it as a cadence.
				this.#signAt = this.#replyAt;
				this.#staleAt = undefined;
			}
			return ALIVE;
		}
		const silentMs = (this.#staleAt ?? now) - this.#signAt;
		const boundMs = this.boundMs;
		if (silentMs < boundMs) return ALIVE;
		return { kind: 'inactive', silentMs, boundMs, lastSignAt: this.#signAt };
	}

	#sign(at: number): void {
		if (this.#staleAt !== undefined) {
			this.#provenMaxMs = Math.max(this.#provenMaxMs, this.#staleAt - this.#signAt);
			this.#staleAt = undefined;
		}
		this.#signAt = at;
	}
}

function grew(last: number | undefined, now: number | undefined): boolean {
	return last !== undefined && now !== undefined && now !== last;
}
