// JSON lines between the test process (harness.ts) and the GStreamer child (client.py, on its stdin
// and stdout). Only types: the child is Python.

export interface RpcMethods {
	/**
	 * Builds the pipeline (webrtcbin on 127.0.0.1, max-bundle; an audio source or a receive-only
	 * transceiver, a negotiated DataChannel id 0), sets PLAYING and the local offer.
	 */
	offer: {
		params: { data: boolean; audio?: 'send' | 'recv'; payloadType: number; ssrc?: number };
		result: { sdp: string };
	};
	/** Applies the server's answer (and its candidates); reports the DTLS role webrtcbin took. */
	answer: { params: { sdp: string }; result: { dtlsRole: string } };
	/** `valve drop=…` after the encoder: RTP stops, RTCP goes on. */
	mute: { params: { muted: boolean }; result: { muted: boolean; rtpPacketsSent: number } };
	/**
	 * Pipeline to NULL, the child stays up; no DTLS close_notify. With `eos`, an EOS goes into the
	 * pipeline `eosWaitMs` (default 300) before the NULL (measured: still no RTCP BYE is sent).
	 */
	hangup: { params: { eos: boolean; eosWaitMs?: number }; result: { ms: number } };
	state: { params: Record<string, never>; result: ClientStateSnapshot };
	/** Pipeline to NULL and exit. */
	close: { params: Record<string, never>; result: Record<string, never> };
}

export type RpcMethod = keyof RpcMethods;

export interface ClientStateSnapshot {
	connectionState: string;
	iceConnectionState: string;
	/** The DataChannel's ready-state, or null without one. */
	channel: string | null;
	muted: boolean | null;
	/** RTP packets that went past the mute valve. */
	rtpPacketsSent: number;
	/** Compound RTCP packets the RTP session sent (its on-sending-rtcp signal). */
	rtcpCompoundsSent: number;
	hungUp: boolean;
}

export type ChildToParent =
	| { kind: 'ready'; gstreamer: string; startMs: number }
	| { kind: 'result'; id: number; result: unknown }
	| { kind: 'error'; id: number; message: string }
	| { kind: 'event'; event: ClientEvent };

export type ClientEvent =
	/** A webrtcbin property change: connection-state, ice-connection-state, ice-gathering-state, signaling-state. */
	| { type: 'state'; name: string; state: string; at: number }
	| { type: 'channelopen' | 'channelclose'; label: string; at: number }
	| { type: 'padadded'; name: string; at: number }
	/** The RTP session sent a compound RTCP packet with a BYE (packet types as sent: 200 SR, 201 RR, 202 SDES, 203 BYE). */
	| { type: 'rtcpbye'; packetTypes: number[]; at: number }
	| { type: 'warning' | 'fault'; message: string; at: number };
