// SDP glue between a mediasoup WebRtcTransport and werift (no mediasoup-client involved): the
// server's parameters become the remote answer to werift's offer, and werift's offer yields the
// dtlsParameters for `transport.connect()`.
import type { types } from 'mediasoup';

/** What werift's local offer tells the server. */
export interface OfferInfo {
	mid: string;
	/** werift's certificate fingerprint (sha-256, as werift writes it). */
	fingerprint: types.DtlsFingerprint;
	/** `a=setup` of the offer (werift offers `actpass`). */
	setup: string;
	usernameFragment: string;
	sctpPort: number | undefined;
}

/** The server-side half of the negotiation, taken from the WebRtcTransport. */
export interface ServerParams {
	iceParameters: types.IceParameters;
	iceCandidates: types.IceCandidate[];
	dtlsParameters: types.DtlsParameters;
	sctpParameters: types.SctpParameters;
}

/** Reads the bits of werift's offer the server needs; throws if one is missing. */
export function parseOffer(sdp: string): OfferInfo {
	const attr = (name: string): string | undefined => {
		const match = new RegExp(`^a=${name}:(.*)$`, 'm').exec(sdp);
		return match?.[1]?.trim();
	};
	const fingerprintLine = /^a=fingerprint:sha-256 (\S+)$/m.exec(sdp);
	const mid = attr('mid');
	const setup = attr('setup');
	const usernameFragment = attr('ice-ufrag');
	if (!fingerprintLine?.[1] || mid === undefined || !setup || !usernameFragment) {
		throw new Error(`werift offer lacks a sha-256 fingerprint, mid, setup or ice-ufrag:\n${sdp}`);
	}
	const sctpPort = attr('sctp-port');
	return {
		mid,
		fingerprint: { algorithm: 'sha-256', value: fingerprintLine[1] },
		setup,
		usernameFragment,
		sctpPort: sctpPort === undefined ? undefined : Number(sctpPort),
	};
}

/** The transport's sha-256 fingerprint (fingerprints come in no particular order). */
export function sha256Fingerprint(dtlsParameters: types.DtlsParameters): types.DtlsFingerprint {
	const fingerprint = dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
	if (!fingerprint) {
		const have = dtlsParameters.fingerprints.map((f) => f.algorithm).join(', ');
		throw new Error(`server dtlsParameters have no sha-256 fingerprint (have: ${have})`);
	}
	return fingerprint;
}

/**
 * The server's answer to werift's data-only offer: ICE-Lite, UDP host candidates only,
 * `a=setup:passive` (the server is the DTLS server, so werift is the DTLS client).
 */
export function buildAnswerSdp(offer: OfferInfo, server: ServerParams): string {
	const lines = [
		...answerSessionLines([offer.mid]),
		`m=application 7 UDP/DTLS/SCTP webrtc-datachannel`,
		'c=IN IP4 127.0.0.1',
		`a=mid:${offer.mid}`,
		...serverTransportLines(server),
		`a=sctp-port:${server.sctpParameters.port}`,
		`a=max-message-size:${server.sctpParameters.maxMessageSize}`,
	];
	return `${lines.join('\r\n')}\r\n`;
}

/** The session part of the server's answer: ICE-Lite, one BUNDLE of `mids`. Shared with the GStreamer harness. */
export function answerSessionLines(mids: readonly string[]): string[] {
	return [
		'v=0',
		'o=mediasoup-watchdog-test 10000 1 IN IP4 0.0.0.0',
		's=-',
		't=0 0',
		'a=ice-lite',
		`a=group:BUNDLE ${mids.join(' ')}`,
		'a=msid-semantic: WMS *',
	];
}

/**
 * The ICE-Lite and DTLS lines of the server's m-sections: its ICE credentials, UDP host candidates
 * only, its sha-256 fingerprint and `a=setup:passive` (the server is the DTLS server). Shared with
 * the GStreamer harness.
 */
export function serverTransportLines(server: Pick<ServerParams, 'iceParameters' | 'iceCandidates' | 'dtlsParameters'>): string[] {
	const fingerprint = sha256Fingerprint(server.dtlsParameters);
	const candidates = server.iceCandidates.filter((c) => c.protocol === 'udp');
	if (candidates.length === 0) throw new Error('server transport has no UDP ICE candidate');
	return [
		`a=ice-ufrag:${server.iceParameters.usernameFragment}`,
		`a=ice-pwd:${server.iceParameters.password}`,
		...candidates.map((c) => {
			// mediasoup 3.12 calls it `ip`; later versions `address`.
			const address = (c as { address?: string }).address ?? c.ip;
			return `a=candidate:${c.foundation} 1 udp ${c.priority} ${address} ${c.port} typ host`;
		}),
		'a=end-of-candidates',
		`a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`,
		'a=setup:passive',
	];
}
