// The verdict on one transport from its getStats() samples: inbound bytes decide; a quieter
// client earns a longer bound; a transport that never carried RTP on a WebRtcServer (whose
// consent checks are not counted in bytesReceived) is kept alive by the worker's replies; a
// transport with media is judged on inbound bytes whatever the worker sends it; and what cannot
// be told apart is left open and said so. Pure logic, exact times.
import { describe, expect, it } from 'vitest';
import {
	CADENCE_FACTOR,
	CADENCE_WINDOW_MS,
	CONSENT_REPLY_BYTES,
	carriesMedia,
	ECHO_MAX_SAMPLE_INTERVAL_MS,
	type LivenessSample,
	MAX_BOUND_MS,
	RTCP_INTERVAL_MS,
	readSample,
	TransportJudge,
	type Verdict,
} from '../../src/liveness/judge.js';
import { seededRandom } from '../helpers/seeded-random.js';

/** One SCTP HEARTBEAT of the worker's own, as a DTLS record (measured: 93 bytes). */
const HEARTBEAT_BYTES = 93;

const T = 8_000;

/** Counters of a fake transport, sampled every `periodMs` by `run()`. */
class Feed {
	bytesReceived = 1_000;
	replyBytes = 500;
	mediaBytes = 0;
	consentReplyBytes: number | undefined = undefined;
	rtpInBytes: number | undefined = undefined;
	now = 0;
	readonly judge: TransportJudge;

	constructor(trackedAt = 0) {
		this.now = trackedAt;
		this.judge = new TransportJudge(T, trackedAt);
	}

	sample(): LivenessSample {
		return {
			sentAt: this.now,
			bytesReceived: this.bytesReceived,
			replyBytes: this.replyBytes,
			mediaBytes: this.mediaBytes,
			...(this.consentReplyBytes === undefined ? {} : { consentReplyBytes: this.consentReplyBytes }),
			...(this.rtpInBytes === undefined ? {} : { rtpInBytes: this.rtpInBytes }),
		};
	}

	/** Samples every `periodMs` until `untilMs`, calling `client(t)` before each; returns verdicts by time. */
	run(periodMs: number, untilMs: number, client: (t: number) => void = () => {}): Array<[number, Verdict]> {
		const verdicts: Array<[number, Verdict]> = [];
		while (this.now + periodMs <= untilMs) {
			this.now += periodMs;
			client(this.now);
			const verdict = this.judge.observe(this.sample());
			verdicts.push([this.now, verdict]);
			if (verdict.kind !== 'alive') break;
		}
		return verdicts;
	}
}

/**
 * A consent-only client (own port, no SCTP) checking every 4–6 s (RFC 7675: 5 s × 0.8–1.2) that
 * loses `lost` checks in a row from one between 60 and 90 s on (Infinity: vanishes), sampled every
 * `intervalMs` from a seeded phase, plus a sample at the bound's end after any silent one (the
 * scheduler's silence hint). Returns when it was judged gone, if it was within 150 s.
 */
function consentClientLosing(lost: number, intervalMs: number, seed: number): { closedAt?: number } {
	const random = seededRandom(seed);
	const judge = new TransportJudge(T, 0, false);
	const checks: number[] = [];
	for (let t = random() * 5_000; t < 150_000; t += 4_000 + 2_000 * random()) checks.push(t);
	const first = 12 + Math.floor(random() * 6);
	const kept = checks.filter((_, i) => i < first || i >= first + lost);
	let bytes = 1_000;
	let next = 0;
	let pollAt = random() * intervalMs;
	let hintAt = Number.POSITIVE_INFINITY;
	while (pollAt < 150_000) {
		const at = Math.min(pollAt, hintAt);
		while (next < kept.length && (kept[next] as number) <= at) {
			bytes += 100;
			next += 1;
		}
		if (hintAt <= pollAt) hintAt = Number.POSITIVE_INFINITY;
		else pollAt += intervalMs;
		const verdict = judge.observe({ sentAt: at, bytesReceived: bytes, replyBytes: undefined, mediaBytes: undefined });
		if (verdict.kind === 'inactive') return { closedAt: Math.round(at) };
		if (verdict.kind === 'alive' && judge.silent) {
			const judgeAt = judge.lastSignAt + Math.ceil(judge.boundMs);
			if (judgeAt < at + intervalMs) hintAt = judgeAt;
		}
	}
	return {};
}

const last = (verdicts: Array<[number, Verdict]>): [number, Verdict] => {
	const entry = verdicts.at(-1);
	if (!entry) throw new Error('no verdict');
	return entry;
};

describe('inbound bytes', () => {
	it('judges a transport gone at the first sample silent for inactivityTimeoutMs since the last growth it saw', () => {
		const feed = new Feed();
		// Packets every 500 ms until 39.5 s (past the cadence window), sampled every 2 s.
		const verdicts = feed.run(2_000, 80_000, (t) => {
			if (t <= 40_000) feed.bytesReceived += 1_200 * 4;
		});
		const [at, verdict] = last(verdicts);
		expect(at).toBe(48_000);
		expect(verdict).toEqual({ kind: 'inactive', silentMs: 8_000, boundMs: 8_000, lastSignAt: 40_000 });
		expect(verdicts.slice(0, -1).every(([, v]) => v.kind === 'alive')).toBe(true);
	});

	it('takes the first sample as a baseline, counting the silence from it, not from tracking', () => {
		const feed = new Feed(0);
		feed.mediaBytes = 1; // a transport with media: judged at inactivityTimeoutMs from the start
		const verdicts = feed.run(3_000, 30_000);
		// Baseline at 3 s (bytes may have arrived up to then); 8 s later is 11 s; first sample ≥ 11 s is 12 s.
		expect(verdicts.map(([, v]) => v.kind)).toContain('check-media');
		expect(feed.judge.mediaChecked(true)).toEqual({ kind: 'alive' });
		expect(last(feed.run(3_000, 30_000))).toEqual([
			12_000,
			{ kind: 'inactive', silentMs: 9_000, boundMs: 8_000, lastSignAt: 3_000 },
		]);
	});

	it('gives a transport without media 60 s until it has shown its cadence over 30 s, so a slow client’s late first check never closes it', () => {
		// werift or Firefox, DataChannel only: the first check after connecting comes 10 s late.
		const feed = new Feed(0);
		let verdicts = feed.run(1_000, 40_000, (t) => {
			if (t === 11_000 || (t > 11_000 && (t - 11_000) % 5_000 === 0)) feed.bytesReceived += 120;
		});
		expect(verdicts.every(([, v]) => v.kind === 'alive')).toBe(true);
		// From the baseline sample (1 s) to the first sign (11 s): the longest gap it may have had.
		expect(feed.judge.provenSilenceMs).toBe(10_000);
		expect(feed.judge.cadenceShown).toBe(true);
		expect(feed.judge.boundMs).toBe(CADENCE_FACTOR * 10_000);
		// One that never shows a sign after its first sample is judged at 60 s (it has SCTP: a live
		// client would have answered the worker's heartbeats).
		const silent = new Feed(0);
		expect(silent.judge.boundMs).toBe(MAX_BOUND_MS);
		verdicts = silent.run(1_000, 100_000);
		expect(last(verdicts)).toEqual([
			61_000,
			{ kind: 'inactive', silentMs: MAX_BOUND_MS, boundMs: MAX_BOUND_MS, lastSignAt: 1_000 },
		]);
		// Chromium's 2.5 s: two signs within 5 s, yet judged at 60 s until its signs span the window,
		// then at inactivityTimeoutMs.
		const chromium = new Feed(0);
		chromium.run(500, 6_000, (t) => {
			if (t % 2_500 === 0) chromium.bytesReceived += 100;
		});
		expect(chromium.judge.boundMs).toBe(MAX_BOUND_MS);
		chromium.run(500, CADENCE_WINDOW_MS + 3_000, (t) => {
			if (t % 2_500 === 0) chromium.bytesReceived += 100;
		});
		expect(chromium.judge.cadenceShown).toBe(true);
		expect(chromium.judge.boundMs).toBe(T);
	});

	it('never takes the burst of a connection’s set-up for the cadence of a client that then keeps alive every 25 s (libnice)', () => {
		// GStreamer webrtcbin, DataChannel only, own port: DTLS/SCTP set-up packets in its first
		// seconds, then a 28-byte STUN Binding indication every 25 s, SCTP heartbeats (its own and its
		// answers to the worker's) about every 30 s.
		const feed = new Feed(0);
		const verdicts = feed.run(2_000, 600_000, (t) => {
			if (t <= 4_000) feed.bytesReceived += 600;
			if (t % 25_000 < 2_000 && t > 20_000) feed.bytesReceived += 28;
			if (t % 30_000 === 14_000 || t % 31_000 === 6_000) {
				feed.bytesReceived += 93;
				feed.replyBytes += HEARTBEAT_BYTES;
			}
		});
		expect(verdicts.every(([, v]) => v.kind === 'alive')).toBe(true);
		expect(feed.judge.provenSilenceMs).toBeGreaterThan(15_000);
		expect(feed.judge.boundMs).toBe(MAX_BOUND_MS);
	});

	it('keeps a client alive on its SCTP alone, about every 30 s (libnice on a WebRtcServer, which counts no STUN)', () => {
		const feed = new Feed(0);
		const verdicts = feed.run(2_000, 600_000, (t) => {
			if (t <= 4_000) feed.bytesReceived += 600;
			// Its own heartbeat every 30–31.5 s, and its answer to the worker's, on another phase.
			if (t % 31_500 < 2_000) feed.bytesReceived += 93;
			if (t % 30_000 === 20_000) {
				feed.replyBytes += HEARTBEAT_BYTES;
				feed.bytesReceived += 60;
			}
		});
		expect(verdicts.every(([, v]) => v.kind === 'alive')).toBe(true);
	});

	it('leaves unjudged a transport without SCTP or media on which nothing ever moved: its client’s keepalives may be uncounted indications', () => {
		// GStreamer receive-only, nothing consumed, on a WebRtcServer: libnice's indications are not
		// counted and get no reply; nothing else is sent either way.
		const judge = new TransportJudge(T, 0, false);
		const verdicts: Verdict[] = [];
		for (let t = 2_000; t <= 300_000; t += 2_000) {
			verdicts.push(judge.observe({ sentAt: t, bytesReceived: 4_000, replyBytes: 3_000, mediaBytes: 0, rtpInBytes: 0 }));
		}
		expect(verdicts.filter((v) => v.kind === 'inactive')).toEqual([]);
		expect(verdicts.at(-1)).toMatchObject({
			kind: 'unjudged',
			reason: expect.stringMatching(/no sign of life since it connected/),
		});
		// One sign, then silence: the client is one whose packets are seen, so its silence counts.
		const seen = new TransportJudge(T, 0, false);
		let verdict: Verdict = { kind: 'alive' };
		let t = 0;
		for (let bytes = 4_000; verdict.kind === 'alive'; ) {
			t += 2_000;
			if (t === 10_000) bytes += 28;
			verdict = seen.observe({ sentAt: t, bytesReceived: bytes, replyBytes: 3_000, mediaBytes: 0, rtpInBytes: 0 });
		}
		expect([t, verdict]).toEqual([
			70_000,
			{ kind: 'inactive', silentMs: MAX_BOUND_MS, boundMs: MAX_BOUND_MS, lastSignAt: 10_000 },
		]);
	});

	it('gives a client with a 5 s consent cadence three times its longest healthy silence, so a lost check never closes it', () => {
		const feed = new Feed();
		// werift: a consent check every 5 s, each counted in bytesReceived (own port).
		const consent = (t: number): void => {
			if (t % 5_000 === 0 && t <= 40_000) feed.bytesReceived += 120;
		};
		let verdicts = feed.run(1_000, 40_000, consent);
		expect(verdicts.every(([, v]) => v.kind === 'alive')).toBe(true);
		expect(feed.judge.provenSilenceMs).toBe(5_000);
		expect(feed.judge.boundMs).toBe(CADENCE_FACTOR * 5_000);
		// One check lost (45 s), the next one (50 s) arrives: a 10 s silence, above inactivityTimeoutMs.
		verdicts = feed.run(1_000, 50_000, (t) => {
			if (t === 50_000) feed.bytesReceived += 120;
		});
		expect(verdicts.every(([, v]) => v.kind === 'alive')).toBe(true);
		expect(feed.judge.boundMs).toBe(CADENCE_FACTOR * 10_000);
	});

	it('keeps inactivityTimeoutMs for a client whose cadence, as sampled, is faster than a third of it', () => {
		// Chromium consent-only on its own port: every 2.5 s, sampled every 500 ms.
		const often = new Feed();
		often.run(500, 60_000, (t) => {
			if (t % 2_500 === 0) often.bytesReceived += 100;
		});
		expect(often.judge.provenSilenceMs).toBe(2_500);
		expect(often.judge.boundMs).toBe(T);
		// The same client sampled every 2 s: a gap is only known to within the interval (a sample
		// that grew, one that did not, one that grew: up to 4 s), so it gets three times that.
		const rarely = new Feed();
		rarely.run(2_000, 60_000, (t) => {
			if (Math.floor(t / 2_500) !== Math.floor((t - 2_000) / 2_500)) rarely.bytesReceived += 100;
		});
		expect(rarely.judge.provenSilenceMs).toBe(4_000);
		expect(rarely.judge.boundMs).toBe(CADENCE_FACTOR * 4_000);
	});

	it('never closes a consent client (RFC 7675: every 4–6 s) that loses two checks in a row, whatever the sampling interval', () => {
		// Sampled every 2 s the old reading (to the last silent sample) saw a 5 s cadence as 4 s, a
		// 12 s bound that two lost checks (15–18 s) exceed; sampled every 5 s or more (over 1 000
		// transports on a worker at the default budget) every sample grew, so no cadence was seen
		// at all and one lost check (10 s) exceeded the 8 s floor. Each sampling interval below, 100
		// clients at seeded phases; the deciding poll also comes at the bound's end, as the
		// scheduler's silence hint sends it.
		for (const intervalMs of [1_000, 2_000, 3_000, 6_250, 9_000, 12_500]) {
			const closed: string[] = [];
			for (let seed = 1; seed <= 100; seed += 1) {
				const outcome = consentClientLosing(2, intervalMs, seed);
				if (outcome.closedAt !== undefined) closed.push(`seed ${seed}: closed at ${outcome.closedAt} ms`);
				// Not vacuous: the same client, vanished, is closed.
				expect(
					consentClientLosing(Number.POSITIVE_INFINITY, intervalMs, seed).closedAt,
					`${intervalMs} ms seed ${seed}`,
				).toBeDefined();
			}
			expect(closed, `sampled every ${intervalMs} ms`).toEqual([]);
		}
	});
});

describe('consent replies of a transport that never carried RTP (WebRtcServer)', () => {
	/** An idle transport on a WebRtcServer: bytesReceived never moves; each consent check adds a 64-byte reply. */
	const idleOnServer = (feed: Feed, untilMs: number, everyMs = 2_500): Array<[number, Verdict]> =>
		feed.run(2_000, untilMs, (t) => {
			const checks = Math.floor(t / everyMs) - Math.floor((t - 2_000) / everyMs);
			feed.replyBytes += 64 * checks;
		});

	it('keeps it alive on the worker’s replies for as long as they come, without asking the worker anything', () => {
		const feed = new Feed();
		const verdicts = idleOnServer(feed, 600_000);
		expect(verdicts.every(([, v]) => v.kind === 'alive')).toBe(true);
		expect(feed.now).toBe(600_000);
		expect(feed.judge.echo).toBe(true);
		// Replies every 2.5 s sampled every 2 s: gaps read as up to 4 s.
		expect(feed.judge.boundMs).toBe(CADENCE_FACTOR * 4_000);
	});

	it('judges it gone when the replies stop too, whatever the worker’s own SCTP heartbeats add', () => {
		const feed = new Feed();
		idleOnServer(feed, 120_000);
		expect(feed.judge.lastSignAt).toBe(120_000);
		// The client vanishes: no more consent checks, so no more replies; only an SCTP heartbeat at 124 s.
		const verdicts = feed.run(2_000, 200_000, (t) => {
			if (t === 124_000) feed.replyBytes += HEARTBEAT_BYTES;
		});
		const [at, verdict] = last(verdicts);
		const bound = CADENCE_FACTOR * 4_000;
		expect(verdict).toEqual({ kind: 'inactive', silentMs: bound, boundMs: bound, lastSignAt: 120_000 });
		expect(at).toBe(120_000 + bound);
	});

	it('never lets the worker’s heartbeats keep a frozen quiet client alive, even one that earned the longest bound', () => {
		const feed = new Feed();
		// A client whose consent checks slow down step by step to 25 s apart earns 75 s, capped at 60 s.
		idleOnServer(feed, 40_000);
		idleOnServer(feed, 84_000, 7_000);
		idleOnServer(feed, 120_000, 15_000);
		idleOnServer(feed, 230_000, 25_000);
		expect(feed.judge.provenSilenceMs).toBeGreaterThan(MAX_BOUND_MS / CADENCE_FACTOR);
		expect(feed.judge.boundMs).toBe(MAX_BOUND_MS);
		const lastSign = feed.judge.lastSignAt;
		// Frozen: the worker's heartbeat every 30 s (each with a retransmission-sized jitter) is all that moves.
		const verdicts = feed.run(2_000, 400_000, (t) => {
			if ((t - lastSign) % 30_000 === 4_000) feed.replyBytes += HEARTBEAT_BYTES;
		});
		const [at, verdict] = last(verdicts);
		expect(verdict).toEqual({ kind: 'inactive', silentMs: MAX_BOUND_MS, boundMs: MAX_BOUND_MS, lastSignAt: lastSign });
		expect(at).toBe(lastSign + MAX_BOUND_MS);
	});

	it('keeps a live client alive through samples where a heartbeat hides its consent replies, counting the next clean one', () => {
		const feed = new Feed();
		// Consent every 2.5 s; the worker's heartbeat every 30 s, answered by the client's HEARTBEAT-ACK
		// only from 300 s on (before that, as if the ACK were lost): replies alone must carry it.
		const verdicts = feed.run(2_000, 600_000, (t) => {
			const checks = Math.floor(t / 2_500) - Math.floor((t - 2_000) / 2_500);
			feed.replyBytes += 64 * checks;
			if (t % 30_000 === 0) {
				feed.replyBytes += HEARTBEAT_BYTES;
				if (t >= 300_000) feed.bytesReceived += 80;
			}
		});
		expect(verdicts.every(([, v]) => v.kind === 'alive')).toBe(true);
		expect(feed.now).toBe(600_000);
		// A hidden reply makes a silence of up to two consent intervals, read to within a sampling
		// interval: the bound it earns.
		expect(feed.judge.boundMs).toBeLessThanOrEqual(CADENCE_FACTOR * (2 * 2_500 + 2_000));
	});

	it('counts an IPv6 client’s 76-byte replies, and only whole ones, when the sample says which family it is', () => {
		const feed = new Feed();
		feed.consentReplyBytes = CONSENT_REPLY_BYTES.ipv6;
		expect(
			feed.run(2_000, 60_000, () => (feed.replyBytes += CONSENT_REPLY_BYTES.ipv6)).every(([, v]) => v.kind === 'alive'),
		).toBe(true);
		// 64-byte growths are not an IPv6 client's consent replies.
		const [at, verdict] = last(feed.run(2_000, 120_000, () => (feed.replyBytes += CONSENT_REPLY_BYTES.ipv4)));
		expect([at, verdict]).toEqual([68_000, { kind: 'inactive', silentMs: T, boundMs: T, lastSignAt: 60_000 }]);
	});

	it('counts whole consent replies even when sampled rarely', () => {
		const feed = new Feed();
		const period = ECHO_MAX_SAMPLE_INTERVAL_MS + 1;
		const verdicts = feed.run(period, 30 * period, () => {
			feed.replyBytes += 64 * 4;
		});
		expect(verdicts.every(([, v]) => v.kind === 'alive')).toBe(true);
	});

	it('leaves it unjudged when samples are too rare to tell consent replies from the server’s SCTP heartbeats', () => {
		const feed = new Feed();
		const period = ECHO_MAX_SAMPLE_INTERVAL_MS + 1;
		const verdicts = feed.run(period, 10 * period, () => {
			feed.replyBytes += 64 * 4 + HEARTBEAT_BYTES;
		});
		expect(last(verdicts)[1]).toMatchObject({ kind: 'unjudged' });
	});
});

describe('the bound a quiet client earns', () => {
	it('is capped at twice RFC 7675’s 30 s consent expiry, however long a silence it survived', () => {
		const feed = new Feed();
		// A client whose checks slow down step by step to 25 s apart.
		feed.run(1_000, 200_000, (t) => {
			const every = t <= 30_000 ? 5_000 : t <= 70_000 ? 7_000 : t <= 150_000 ? 15_000 : 25_000;
			if (t % every === 0) feed.bytesReceived += 120;
		});
		expect(feed.judge.provenSilenceMs).toBe(25_000);
		expect(feed.judge.boundMs).toBe(MAX_BOUND_MS);
		const [at, verdict] = last(feed.run(1_000, 300_000));
		expect([at, verdict]).toEqual([
			200_000 + MAX_BOUND_MS,
			{ kind: 'inactive', silentMs: MAX_BOUND_MS, boundMs: MAX_BOUND_MS, lastSignAt: 200_000 },
		]);
	});
});

describe('a transport that carried media', () => {
	/** Media both ways until `untilMs`; the worker's own RTCP goes on after it (every 1 s). */
	const withMedia = (feed: Feed, untilMs: number, mediaUntilMs: number, rtpAfterSilence = false) =>
		feed.run(1_000, untilMs, (t) => {
			feed.replyBytes += 80; // RTCP and BWE feedback of the worker's own
			if (t <= mediaUntilMs) {
				feed.bytesReceived += 5_000;
				feed.mediaBytes += 9_000;
			} else if (rtpAfterSilence) {
				feed.mediaBytes += 4_000; // others' media forwarded to a client that no longer answers
			}
		});

	it('asks the worker about producers and consumers as soon as inbound bytes fall silent', () => {
		const feed = new Feed();
		expect(last(withMedia(feed, 60_000, 20_000))).toEqual([21_000, { kind: 'check-media' }]);
	});

	it('judges it gone at the bound when it still had producers or consumers, whatever the worker keeps sending', () => {
		const feed = new Feed();
		withMedia(feed, 60_000, 20_000);
		expect(feed.judge.mediaChecked(true)).toEqual({ kind: 'alive' });
		const [at, verdict] = last(withMedia(feed, 60_000, 20_000));
		expect([at, verdict]).toEqual([28_000, { kind: 'inactive', silentMs: T, boundMs: T, lastSignAt: 20_000 }]);
	});

	it('judges it gone at the bound when the worker kept forwarding RTP to it, even if its consumers are gone by then', () => {
		const feed = new Feed();
		withMedia(feed, 60_000, 20_000, true);
		expect(feed.judge.mediaChecked(false)).toEqual({ kind: 'alive' });
		const [at, verdict] = last(withMedia(feed, 60_000, 20_000, true));
		expect([at, verdict]).toEqual([28_000, { kind: 'inactive', silentMs: T, boundMs: T, lastSignAt: 20_000 }]);
	});

	it('gives a client that stopped sending RTP but not RTCP (a muted microphone) at least 15 s, and keeps 8 s for one that vanished', () => {
		/**
		 * Chromium sending audio until 20 s, then muted: only RTCP, 2.5 s apart at first, then one lost
		 * (a 9 s gap), then every 5 s; nothing at all from `goneAt`. Answers the media check: producers present.
		 */
		const rtcpAt = new Set([23_000, 25_000, 28_000, 30_000, 33_000, 42_000, 47_000, 52_000, 57_000, 62_000, 67_000]);
		const run = (goneAt: number, untilMs: number): Array<[number, Verdict]> => {
			const feed = new Feed();
			feed.rtpInBytes = 0;
			const verdicts: Array<[number, Verdict]> = [];
			while (feed.now < untilMs) {
				const step = feed.run(1_000, untilMs, (t) => {
					feed.replyBytes += 80; // the worker's own RTCP
					if (t >= goneAt) return;
					if (t <= 20_000) {
						feed.bytesReceived += 5_000;
						feed.mediaBytes += 4_800;
						feed.rtpInBytes = (feed.rtpInBytes ?? 0) + 4_800;
					} else if (rtcpAt.has(t) || t > 67_000) {
						if (rtcpAt.has(t) || t % 5_000 === 2_000) feed.bytesReceived += 80;
					}
				});
				verdicts.push(...step);
				const [, verdict] = last(step);
				if (verdict.kind === 'check-media') verdicts.push([feed.now, feed.judge.mediaChecked(true)]);
				else if (verdict.kind !== 'alive') break;
			}
			return verdicts;
		};
		// Muted: the 9 s gap (24 s after 2.5 s gaps earned no more than 8 s) does not close it.
		const muted = run(Number.POSITIVE_INFINITY, 120_000);
		expect(muted.filter(([, v]) => v.kind !== 'alive' && v.kind !== 'check-media')).toEqual([]);
		expect(muted.at(-1)?.[0]).toBe(120_000);
		// Muted, then gone after the RTCP at 30 s: judged at the 15 s floor.
		expect(last(run(31_000, 120_000))).toEqual([
			45_000,
			{ kind: 'inactive', silentMs: 15_000, boundMs: 15_000, lastSignAt: 30_000 },
		]);
		// Gone while sending RTP, with no RTCP-only sample before: 8 s, as before.
		expect(last(run(20_001, 60_000))).toEqual([28_000, { kind: 'inactive', silentMs: T, boundMs: T, lastSignAt: 20_000 }]);
	});

	it('takes one RTCP packet right after the RTP for a goodbye (an RTCP BYE), not a mute: judged at 2 × 5 s, not 15 s', () => {
		// GStreamer hanging up while sending audio: RTP until 20 s, its RTCP BYE at 21 s, then nothing.
		const feed = new Feed();
		feed.rtpInBytes = 0;
		const verdicts: Array<[number, Verdict]> = [];
		for (;;) {
			const step = feed.run(1_000, 120_000, (t) => {
				feed.replyBytes += 80;
				if (t <= 20_000) {
					feed.bytesReceived += 5_000;
					feed.mediaBytes += 4_800;
					feed.rtpInBytes = (feed.rtpInBytes ?? 0) + 4_800;
				} else if (t === 21_000) feed.bytesReceived += 72;
			});
			verdicts.push(...step);
			const [, verdict] = last(step);
			if (verdict.kind === 'check-media') verdicts.push([feed.now, feed.judge.mediaChecked(true)]);
			else break;
		}
		expect(last(verdicts)).toEqual([
			31_000,
			{ kind: 'inactive', silentMs: 2 * RTCP_INTERVAL_MS, boundMs: 2 * RTCP_INTERVAL_MS, lastSignAt: 21_000 },
		]);
	});

	it('judges a receive transport gone at the bound when its client vanished before any of its media flowed, the worker only probing it', () => {
		// mediasoup probes a transport with consumers (probationBytesSent, every 5 s), each probe with
		// 128 bytes of RTCP of its own: a multiple of the 64-byte consent reply. Counters as measured
		// with Chromium SIGKILLed right after its recv transport connected, before RTP reached it.
		const judge = new TransportJudge(T, 0, false);
		const stat = {
			bytesReceived: 2_000,
			bytesSent: 11_904,
			rtpBytesReceived: 0,
			rtpBytesSent: 0,
			rtxBytesSent: 0,
			probationBytesSent: 10_816,
		};
		const verdicts: Array<[number, Verdict]> = [];
		for (let t = 500; t <= 30_000; t += 500) {
			if (t <= 5_000) stat.bytesReceived += 300; // the client's packets until it vanishes at 5 s
			if (t % 5_000 === 0) {
				stat.probationBytesSent += 1_216;
				stat.bytesSent += 1_216 + 128;
			}
			let verdict = judge.observe(readSample([{ ...stat }], t) as LivenessSample);
			if (verdict.kind === 'check-media') verdict = judge.mediaChecked(true);
			verdicts.push([t, verdict]);
			if (verdict.kind === 'inactive') break;
		}
		expect(last(verdicts)).toEqual([13_000, { kind: 'inactive', silentMs: T, boundMs: T, lastSignAt: 5_000 }]);
		expect(judge.echo).toBe(false); // the worker's replies were never taken for consent replies
	});

	it('leaves it open and unjudged when its media had ended: the worker’s own RTCP hides whether consent replies still come', () => {
		const feed = new Feed();
		withMedia(feed, 60_000, 20_000);
		expect(feed.judge.mediaChecked(false)).toEqual({ kind: 'alive' });
		const [at, verdict] = last(withMedia(feed, 60_000, 20_000));
		expect(at).toBe(28_000);
		expect(verdict).toMatchObject({ kind: 'unjudged', reason: expect.stringMatching(/media ended/) });
	});

	it('asks again once RTP moves again, since producers or consumers may have come and gone', () => {
		const feed = new Feed();
		withMedia(feed, 60_000, 20_000);
		feed.judge.mediaChecked(false);
		expect(feed.judge.media).toBe('absent');
		// Media again from 22 s to 30 s: asked again at the first silent sample after it.
		expect(last(withMedia(feed, 60_000, 30_000))).toEqual([31_000, { kind: 'check-media' }]);
		expect(feed.judge.media).toBe('unknown');
	});

	it('judges it gone when nothing at all moved since its last sign of life, without asking', () => {
		const feed = new Feed();
		feed.mediaBytes = 1;
		feed.replyBytes = 0;
		const verdicts = feed.run(2_000, 60_000, (t) => {
			if (t <= 10_000) {
				feed.bytesReceived += 100;
				feed.replyBytes += 64;
			}
		});
		// Media had moved before tracking (mediaBytes > 0): the first silent sample asks; then nothing moves.
		expect(verdicts.map(([, v]) => v.kind)).toContain('check-media');
		expect(feed.judge.mediaChecked(false)).toEqual({ kind: 'alive' });
		const [at, verdict] = last(feed.run(2_000, 60_000));
		expect([at, verdict]).toEqual([18_000, { kind: 'inactive', silentMs: T, boundMs: T, lastSignAt: 10_000 }]);
	});
});

describe('reading mediasoup output', () => {
	it('reads the counters of a mediasoup 3.12 WebRtcTransport stat and tolerates missing ones', () => {
		const stat = {
			type: 'webrtc-transport',
			bytesReceived: 5_000,
			bytesSent: 9_000,
			rtpBytesReceived: 3_000,
			rtpBytesSent: 6_000,
			rtxBytesSent: 1_000,
			probationBytesSent: 500,
		};
		expect(readSample([stat], 1)).toEqual({
			sentAt: 1,
			bytesReceived: 5_000,
			replyBytes: 1_500,
			mediaBytes: 9_500, // RTP both ways, the worker's probes included
			rtpInBytes: 3_000,
		});
		expect(readSample([{ ...stat, iceSelectedTuple: { remoteIp: '127.0.0.1', protocol: 'udp' } }], 1)).toMatchObject({
			consentReplyBytes: 64,
		});
		expect(readSample([{ ...stat, iceSelectedTuple: { remoteIp: '::1', protocol: 'tcp' } }], 1)).toMatchObject({
			consentReplyBytes: 76,
		});
		expect(readSample([{ bytesReceived: 7 }], 1)).toEqual({
			sentAt: 1,
			bytesReceived: 7,
			replyBytes: undefined,
			mediaBytes: undefined,
		});
		expect(readSample([], 1)).toBeUndefined();
		expect(readSample(undefined, 1)).toBeUndefined();
		expect(readSample([{ bytesReceived: '7' }], 1)).toBeUndefined();
	});

	it('tells from a dump whether a transport has producers or consumers', () => {
		expect(carriesMedia({ producerIds: [], consumerIds: [], dataProducerIds: ['d'] })).toBe(false);
		expect(carriesMedia({ producerIds: ['p'], consumerIds: [] })).toBe(true);
		expect(carriesMedia({ producerIds: [], consumerIds: ['c'] })).toBe(true);
		expect(carriesMedia({ id: 'x' })).toBeUndefined();
		expect(carriesMedia(null)).toBeUndefined();
	});
});
