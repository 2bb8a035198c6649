// The verdict on one connected transport from successive getStats() samples. Pure logic: no
// timers, no I/O; the scheduler feeds it samples and acts on what it returns. docs/liveness.md
// explains every rule here and the measurements behind it.

/**
 * How many times the longest gap read between two of its signs of life a transport may stay silent
 * before it is judged gone, so two lost consent checks never close it. A client with a 5 s consent
 * cadence (werift, Firefox) polled every 2 s reads as up to 6 s: 18 s; Chromium's DataChannel
 * (2.5 s) 12 s; a transport with media stays at `inactivityTimeoutMs`.
 */
export const CADENCE_FACTOR = 3;

/**
 * The longest bound there is, and the bound of a transport without media whose client has not yet
 * shown its cadence: twice RFC 7675's 30 s consent expiry, the longest `iceConsentTimeout` mediasoup
 * accepts. RFC 8445 sets no upper limit on a keepalive interval (Tr ≥ 15 s); libnice, under
 * GStreamer's webrtcbin, sends a STUN Binding indication every 25 s and no consent checks at all, so
 * a live client may be silent for 25 s at a time, and 50 s when one keepalive is lost.
 */
export const MAX_BOUND_MS = 60_000;

/**
 * How long a transport without media must have been watched before the silences it showed are
 * taken as its cadence: longer than the slowest keepalive a client may use (libnice's 25 s) and as
 * long as RFC 7675's consent expiry. Two quick signs right after connecting (the DTLS and SCTP
 * set-up) say nothing about a client that then sends a keepalive every 25 s.
 */
export const CADENCE_WINDOW_MS = 30_000;

/**
 * RFC 3550's minimum RTCP interval. A client that stops sending RTP but not RTCP (a microphone
 * muted with `zeroRtpOnPause`) then sends RTCP every 0.5–1.5 × 5 s: while that lasts, its bound is
 * at least 3 × this. Until a second RTCP-only packet shows the client is still there (one RTCP
 * packet right after the RTP may be its goodbye, an RTCP BYE), the bound is 2 × this.
 */
export const RTCP_INTERVAL_MS = 5_000;

/**
 * On a transport with SCTP, reply bytes that are not whole consent replies (the worker's own SCTP
 * heartbeats, every ~30 s, maybe with consent replies mixed in) are left unjudged when the
 * transport was sampled less often than this; sampled this often, a live client soon shows a
 * growth of whole consent replies alone, so they are not a sign of life.
 */
export const ECHO_MAX_SAMPLE_INTERVAL_MS = 10_000;

/**
 * The size of mediasoup's answer to one ICE consent check (a STUN Binding success response with
 * XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT), counted in `bytesSent` as is, without
 * TCP framing: 64 bytes to an IPv4 client, 76 to an IPv6 one.
 */
export const CONSENT_REPLY_BYTES = { ipv4: 64, ipv6: 76 } as const;

/**
 * RTP still moving this long after the client's last sign of life means the transport had live
 * media the client did not answer. Shorter: the media may just have ended with the client's silence.
 */
export const MEDIA_GRACE_MS = 3_000;

/** The counters read from `getStats()[0]`. */
export interface LivenessSample {
	/**
	 * When the request was sent. Growth and silence are both timed at this moment, so a slow
	 * answer neither hides a poll period nor shortens a silence.
	 */
	readonly sentAt: number;
	readonly bytesReceived: number;
	/** bytesSent minus RTP/RTX/probation bytes sent; undefined when the stats lack them. */
	readonly replyBytes: number | undefined;
	/**
	 * RTP bytes received plus sent, the worker's bandwidth probes (probation padding) included;
	 * undefined when the stats lack them. Probes are RTP a live client answers (transport-cc
	 * feedback), and they come with RTCP of the worker's own: a transport that was only probed has
	 * replies that are not all consent replies.
	 */
	readonly mediaBytes: number | undefined;
	/** The size of one consent reply to the selected tuple's client; undefined when no tuple is selected. */
	readonly consentReplyBytes?: number | undefined;
	/** RTP bytes received from the client; undefined when the stats lack them. */
	readonly rtpInBytes?: number | undefined;
}

/** What the worker said about the transport's producers and consumers at the start of a silence. */
export type MediaState = 'unknown' | 'present' | 'absent';

export type Verdict =
	| { readonly kind: 'alive' }
	/** Silent past its bound: close it. */
	| { readonly kind: 'inactive'; readonly silentMs: number; readonly boundMs: number; readonly lastSignAt: number }
	/** Inbound bytes just fell silent on a transport that carried media: ask whether it still has producers or consumers. */
	| { readonly kind: 'check-media' }
	/** Silent inbound bytes, moving replies, and no way to tell consent replies from the worker's own traffic. */
	| { readonly kind: 'unjudged'; readonly reason: string };

const ALIVE: Verdict = Object.freeze({ kind: 'alive' });

/**
 * Reads the counters the judge needs from one `getStats()` result, or undefined if absent. Called
 * once per poll: one object of one shape, no closure (every key present, undefined when absent).
 */
export function readSample(stats: unknown, sentAt: number): LivenessSample | undefined {
	const first = Array.isArray(stats) ? (stats[0] as Record<string, unknown> | undefined) : undefined;
	if (!first || typeof first.bytesReceived !== 'number') return undefined;
	const bytesSent = numberAt(first, 'bytesSent');
	const rtpSent = numberAt(first, 'rtpBytesSent');
	const rtpReceived = numberAt(first, 'rtpBytesReceived');
	const probationSent = numberAt(first, 'probationBytesSent') ?? 0;
	const tuple = first.iceSelectedTuple as { remoteIp?: unknown } | undefined;
	const remoteIp = typeof tuple?.remoteIp === 'string' ? tuple.remoteIp : undefined;
	return {
		sentAt,
		bytesReceived: first.bytesReceived,
		replyBytes:
			bytesSent === undefined || rtpSent === undefined
				? undefined
				: bytesSent - rtpSent - (numberAt(first, 'rtxBytesSent') ?? 0) - probationSent,
		mediaBytes: rtpSent === undefined || rtpReceived === undefined ? undefined : rtpSent + rtpReceived + probationSent,
		consentReplyBytes:
			remoteIp === undefined ? undefined : remoteIp.includes(':') ? CONSENT_REPLY_BYTES.ipv6 : CONSENT_REPLY_BYTES.ipv4,
		rtpInBytes: rtpReceived,
	};
}

function numberAt(stat: Record<string, unknown>, key: string): number | undefined {
	const value = stat[key];
	return typeof value === 'number' ? value : undefined;
}

/**
 * Whether a transport's `dump()` shows producers or consumers. undefined when the dump is not
 * understood.
 */
export function carriesMedia(dump: unknown): boolean | undefined {
	if (typeof dump !== 'object' || dump === null) return undefined;
	const { producerIds, consumerIds } = dump as { producerIds?: unknown; consumerIds?: unknown };
	if (!Array.isArray(producerIds) || !Array.isArray(consumerIds)) return undefined;
	return producerIds.length > 0 || consumerIds.length > 0;
}

/**
 * The liveness state of one connected transport, fed its getStats() samples.
 *
 * A sign of life is inbound bytes growing. On a transport that never carried RTP, the worker's
 * replies growing are one too: on a WebRtcServer, STUN consent requests are not counted in
 * `bytesReceived`, but mediasoup's responses are counted in `bytesSent`, and such a transport
 * sends nothing else of its own but SCTP heartbeats. Once a transport carried RTP, the worker
 * keeps sending RTCP and BWE feedback of its own, so replies prove nothing; then inbound silence
 * is conclusive if the transport still had producers or consumers when it began (a live client
 * answers media with RTCP), and is left unjudged if its media had ended.
 */
export class TransportJudge {
	readonly #timeoutMs: number;
	readonly #sctp: boolean;
	#lastBytes: number | undefined;
	#lastReply: number | undefined;
	#lastMedia: number | undefined;
	#prevSentAt: number | undefined;
	/** When the last sign of life was observed. */
	#signAt: number;
	/** When reply bytes were last seen growing. */
	#replyAt: number | undefined;
	/** When RTP bytes (either way) were last seen growing. */
	#mediaAt: number | undefined;
	/** Whether the transport ever carried RTP, probes included (its RTP counters are not zero). */
	#carriedMedia = false;
	/** From dump(), at the start of the current silence; 'unknown' again whenever RTP moves. */
	#media: MediaState = 'unknown';
	/** sentAt of the latest sample that saw no sign of life since #signAt. */
	#staleAt: number | undefined;
	#provenMaxMs = 0;
	/** Signs of life seen after the first sample, counted up to 2. */
	#signs = 0;
	/** sentAt of the first sample (the baseline); undefined before it. */
	#firstSentAt: number | undefined;
	#lastRtpIn: number | undefined;
	/** Whether RTP from the client grew at the last sample that saw it grow or not. */
	#rtpInFlowing = false;
	/**
	 * Signs of life without RTP since the client stopped sending RTP, counted up to 2: one may be
	 * its goodbye (an RTCP BYE); two mean it is quiet (muted), not gone.
	 */
	#quietSigns = 0;

	/**
	 * @param sctp - whether the transport has SCTP (DataChannels): then the worker sends SCTP
	 *   heartbeats of its own every ~30 s, and replies count only when sampled often enough.
	 */
	constructor(inactivityTimeoutMs: number, trackedAt: number, sctp = true) {
		this.#timeoutMs = inactivityTimeoutMs;
		this.#signAt = trackedAt;
		this.#sctp = sctp;
	}

	/** The silence after which this transport is judged gone, in milliseconds. */
	get boundMs(): number {
		if (!this.#carriedMedia && !this.cadenceShown) return Math.max(this.#timeoutMs, MAX_BOUND_MS);
		let cadenceMs = this.#provenMaxMs;
		let floorMs = this.#timeoutMs;
		if (this.#quietSigns >= 2) cadenceMs = Math.max(cadenceMs, RTCP_INTERVAL_MS);
		else if (this.#quietSigns === 1) floorMs = Math.max(floorMs, 2 * RTCP_INTERVAL_MS);
		return Math.max(floorMs, Math.min(CADENCE_FACTOR * cadenceMs, MAX_BOUND_MS));
	}

	/**
	 * Whether the transport has shown its cadence: two signs of life after its first sample, the
	 * last at least `CADENCE_WINDOW_MS` after it. Until then a transport without media is judged at
	 * `MAX_BOUND_MS`, as the slowest client the standards allow; one with media at its bound.
	 */
	get cadenceShown(): boolean {
		return this.#signs >= 2 && this.#firstSentAt !== undefined && this.#signAt - this.#firstSentAt >= CADENCE_WINDOW_MS;
	}

	/**
	 * The longest gap read while the transport was alive, in milliseconds: from one sample with a
	 * sign of life to the next, for a transport that never carried RTP; the silence seen, for one
	 * that did.
	 */
	get provenSilenceMs(): number {
		return this.#provenMaxMs;
	}

	/** Whether the worker's replies count as signs of life (a transport that never carried RTP). */
	get echo(): boolean {
		return !this.#carriedMedia && this.#lastReply !== undefined;
	}

	/** Whether the latest sample saw no sign of life since the last one (a silence has begun). */
	get silent(): boolean {
		return this.#staleAt !== undefined;
	}

	get media(): MediaState {
		return this.#media;
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
		// On SCTP, only a growth of whole consent replies is one: the worker sends SCTP heartbeats of its own.
		const consentReplies =
			grewReply &&
			(!this.#sctp || isWholeConsentReplies((sample.replyBytes ?? 0) - (this.#lastReply ?? 0), sample.consentReplyBytes));
		const grewMedia = grew(this.#lastMedia, sample.mediaBytes);
		this.#lastBytes = sample.bytesReceived;
		this.#lastReply = sample.replyBytes;
		this.#lastMedia = sample.mediaBytes;
		if (sample.mediaBytes !== undefined && sample.mediaBytes > 0) this.#carriedMedia = true;
		if (grewMedia) {
			this.#mediaAt = sample.sentAt;
			this.#media = 'unknown';
		}
		if (grewReply) this.#replyAt = sample.sentAt;

		if (previous === undefined) {
			// Baseline: bytes may have arrived up to now, so assume they did (never judge early).
			this.#signAt = Math.max(this.#signAt, sample.sentAt);
			this.#firstSentAt = this.#signAt;
			return ALIVE;
		}
		const grewRtpIn = grew(this.#lastRtpIn, sample.rtpInBytes);
		this.#lastRtpIn = sample.rtpInBytes;
		if (grewRtpIn) {
			this.#rtpInFlowing = true;
			this.#quietSigns = 0;
		} else if (grewIn && (this.#rtpInFlowing || this.#quietSigns > 0)) {
			// Inbound bytes without RTP, after RTP: the client stopped sending media. The first such
			// growth may be its RTCP BYE; a second one shows it muted, not gone. What it still sends
			// (RTCP) has a cadence of its own, up to 7.5 s for Chromium.
			this.#rtpInFlowing = false;
			if (this.#quietSigns < 2) this.#quietSigns += 1;
		}
		if (grewIn || (consentReplies && this.echo)) {
			this.#sign(sample.sentAt);
			return ALIVE;
		}
		const onset = this.#staleAt === undefined;
		this.#staleAt = sample.sentAt;
		if (onset && this.#carriedMedia && this.#media === 'unknown' && this.#lastReply !== undefined) {
			return { kind: 'check-media' };
		}
		return this.#judge(sample.sentAt, interval);
	}

	/** The worker's dump at the start of the silence: did the transport have producers or consumers? */
	mediaChecked(present: boolean): Verdict {
		this.#media = present ? 'present' : 'absent';
		const at = this.#staleAt;
		if (at === undefined) return ALIVE; // a sign of life came in meanwhile
		return this.#judge(at, 0);
	}

	#judge(at: number, interval: number): Verdict {
		const silentMs = at - this.#signAt;
		const boundMs = this.boundMs;
		if (silentMs < boundMs) return ALIVE;
		if (this.#signs === 0 && !this.#carriedMedia && !this.#sctp) {
			// Nothing moved since it connected, and nothing of the worker's asks for an answer: a live
			// client whose only keepalives are STUN indications (libnice), which a WebRtcServer does
			// not count, looks exactly like this.
			return {
				kind: 'unjudged',
				reason:
					'no sign of life since it connected, and no media or SCTP a live client must answer (its keepalives may be STUN indications, which a WebRtcServer does not count)',
			};
		}
		const inactive: Verdict = { kind: 'inactive', silentMs, boundMs, lastSignAt: this.#signAt };
		// Nothing at all moved since the last sign: no consent replies either.
		if (this.#replyAt === undefined || this.#replyAt <= this.#signAt) return inactive;
		if (!this.#carriedMedia && this.#lastReply !== undefined) {
			// Whole consent replies were signs of life; what moved since is the worker's own SCTP
			// traffic, with consent replies mixed in or not. Sampled often, a live client would have
			// shown consent replies alone by now.
			if (this.#sctp && interval > ECHO_MAX_SAMPLE_INTERVAL_MS) {
				return { kind: 'unjudged', reason: "sampled too rarely to tell the worker's consent replies from its SCTP heartbeats" };
			}
			return inactive;
		}
		// RTP kept flowing well after the client fell silent: a live client would answer it with RTCP.
		if (this.#mediaAt !== undefined && this.#mediaAt - this.#signAt > MEDIA_GRACE_MS) return inactive;
		if (this.#media === 'present') return inactive;
		if (this.#media === 'absent') {
			return {
				kind: 'unjudged',
				reason: "its media ended: consent replies cannot be told from the worker's own RTCP",
			};
		}
		return { kind: 'unjudged', reason: 'whether it has producers or consumers is unknown (dump() failed)' };
	}

	#sign(at: number): void {
		if (this.#signs < 2) this.#signs += 1;
		if (!this.#carriedMedia) {
			// The client's gap between two packets is only known to within a sampling interval: it began
			// after the last sign's sample (or before it) and ended before this one. The silence seen (to
			// the last silent sample) falls short of it by up to an interval, so a 5 s cadence sampled
			// every 2 s looked like 4 s (a 12 s bound, which two lost consent checks, 15 s, exceed), and a
			// cadence shorter than the interval, where every sample grows, looked like none at all (the
			// 8 s floor, which one lost check exceeds). From sign to sign is the gap's longest reading.
			this.#provenMaxMs = Math.max(this.#provenMaxMs, at - this.#signAt);
		} else if (this.#staleAt !== undefined) {
			this.#provenMaxMs = Math.max(this.#provenMaxMs, this.#staleAt - this.#signAt);
		}
		this.#staleAt = undefined;
		this.#signAt = at;
	}
}

/** Whether a growth of reply bytes is a whole number of consent replies and nothing else. */
function isWholeConsentReplies(delta: number, replyBytes: number | undefined): boolean {
	if (delta <= 0) return false;
	if (replyBytes !== undefined) return delta % replyBytes === 0;
	return delta % CONSENT_REPLY_BYTES.ipv4 === 0 || delta % CONSENT_REPLY_BYTES.ipv6 === 0;
}

function grew(last: number | undefined, now: number | undefined): boolean {
	return last !== undefined && now !== undefined && now !== last;
}
