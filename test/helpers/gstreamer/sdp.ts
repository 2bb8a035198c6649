// SDP glue between a mediasoup WebRtcTransport and GStreamer's webrtcbin (no mediasoup-client): the
// server's ICE-Lite parameters become the remote answer to webrtcbin's offer, and the offer yields
// the dtlsParameters for `transport.connect()`.
import type { types } from 'mediasoup';
import { answerSessionLines, serverTransportLines } from '../werift/sdp.js';

/** One m-section of webrtcbin's offer. */
export interface OfferedMedia {
	kind: 'audio' | 'application';
	mid: string;
	/** webrtcbin's direction: sendonly (it sends audio), recvonly, or sendrecv for data. */
	direction: string;
}

export interface GstOffer {
	media: OfferedMedia[];
	fingerprint: types.DtlsFingerprint;
	setup: string;
	usernameFragment: string;
}

/** What the server says about each m-section of its answer. */
export interface ServerSide {
	iceParameters: types.IceParameters;
	iceCandidates: types.IceCandidate[];
	dtlsParameters: types.DtlsParameters;
	sctpParameters: types.SctpParameters | undefined;
	/** Opus payload type of the audio section. */
	payloadType: number;
	/** A consumer the server sends on the audio section (webrtcbin receive-only); none: nothing consumed. */
	consumer?: { ssrc: number; cname: string; id: string };
}

/** Reads webrtcbin's offer: its sections, fingerprint, setup and ufrag; throws if one is missing. */
export function parseGstOffer(sdp: string): GstOffer {
	const sections = sdp.split(/\r?\n(?=m=)/);
	const attr = (text: string, name: string): string | undefined =>
		new RegExp(`^a=${name}(?::(.*))?$`, 'm').exec(text)?.[1]?.trim();
	const fingerprint = /^a=fingerprint:sha-256 (\S+)$/m.exec(sdp)?.[1];
	const setup = attr(sdp, 'setup');
	const usernameFragment = attr(sdp, 'ice-ufrag');
	if (!fingerprint || !setup || !usernameFragment) {
		throw new Error(`webrtcbin offer lacks a sha-256 fingerprint, setup or ice-ufrag:\n${sdp}`);
	}
	const media = sections.slice(1).map((section): OfferedMedia => {
		const kind = /^m=(\w+)/.exec(section)?.[1];
		const mid = attr(section, 'mid');
		if ((kind !== 'audio' && kind !== 'application') || mid === undefined) {
			throw new Error(`unexpected m-section in webrtcbin's offer:\n${section}`);
		}
		const direction = /^a=(sendonly|recvonly|sendrecv|inactive)$/m.exec(section)?.[1] ?? 'sendrecv';
		return { kind, mid, direction };
	});
	if (media.length === 0) throw new Error(`webrtcbin offered no m-section:\n${sdp}`);
	return { media, fingerprint: { algorithm: 'sha-256', value: fingerprint }, setup, usernameFragment };
}

/**
 * The server's answer: ICE-Lite, UDP host candidates only, `a=setup:passive` (the server is the DTLS
 * server, webrtcbin the client), one BUNDLE.
 */
export function buildGstAnswer(offer: GstOffer, server: ServerSide): string {
	const transportLines = ['c=IN IP4 127.0.0.1', ...serverTransportLines(server)];
	const lines = answerSessionLines(offer.media.map((m) => m.mid));
	for (const media of offer.media) {
		if (media.kind === 'application') {
			if (!server.sctpParameters) throw new Error('webrtcbin offered a DataChannel but the transport has no SCTP');
			lines.push(
				'm=application 7 UDP/DTLS/SCTP webrtc-datachannel',
				...transportLines,
				`a=mid:${media.mid}`,
				`a=sctp-port:${server.sctpParameters.port}`,
				`a=max-message-size:${server.sctpParameters.maxMessageSize}`,
			);
			continue;
		}
		const pt = server.payloadType;
		const direction = media.direction === 'sendonly' ? 'recvonly' : 'sendonly';
		lines.push(
			`m=audio 7 UDP/TLS/RTP/SAVPF ${pt}`,
			...transportLines,
			`a=mid:${media.mid}`,
			`a=${direction}`,
			'a=rtcp-mux',
			'a=rtcp-rsize',
			`a=rtpmap:${pt} OPUS/48000/2`,
			`a=fmtp:${pt} minptime=10;useinbandfec=1`,
		);
		if (direction === 'sendonly' && server.consumer) {
			const { ssrc, cname, id } = server.consumer;
			lines.push(
				`a=msid:mediasoup-watchdog ${id}`,
				`a=ssrc:${ssrc} cname:${cname}`,
				`a=ssrc:${ssrc} msid:mediasoup-watchdog ${id}`,
			);
		}
	}
	return `${lines.join('\r\n')}\r\n`;
}
