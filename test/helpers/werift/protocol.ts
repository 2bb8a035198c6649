// Messages between the test process (harness.ts) and the werift child (client-process.ts), sent
// over Node's IPC channel. Both sides import only types from here.

/** A negotiated (pre-agreed id, no DCEP) DataChannel the child opens before its offer. */
export interface ChannelSpec {
	label: string;
	id: number;
}

export interface RpcMethods {
	/** Creates the peer connection and channels, sets the local offer; resolves once gathered. */
	offer: { params: { channels: ChannelSpec[] }; result: { sdp: string } };
	/** Applies the server's answer; reports the DTLS role werift took from it. */
	answer: { params: { sdp: string }; result: { dtlsRole: string } };
	/**
	 * ICE restart: new local offer with `iceRestart`, the server's new answer, then (with `kick`)
	 * `start()` on each ICE transport, waiting at most `waitMs` for it to connect.
	 */
	restartIce: {
		params: { sdp: string; kick: boolean; waitMs: number };
		result: { iceStatesBefore: string[]; iceStatesAfter: string[]; startErrors: string[] };
	};
	/** Sends text on a channel (by label). */
	send: { params: { label: string; data: string }; result: { readyState: string } };
	/** Current states as werift sees them. */
	state: { params: Record<string, never>; result: ClientStateSnapshot };
	/** `pc.close()`; the child exits right after replying. */
	close: { params: Record<string, never>; result: { closeMs: number } };
}

export type RpcMethod = keyof RpcMethods;

export interface ClientStateSnapshot {
	connectionState: string;
	iceConnectionState: string;
	iceStates: string[];
	dtlsStates: string[];
	channels: Record<string, string>;
	/** The nominated pair, and how many consent checks werift sent on it. */
	selectedPair: { local: string; remote: string; consentRequestsSent: number } | null;
	/** werift's SCTP association (its internal fields), or null before it exists. */
	sctp: SctpSnapshot | null;
}

/**
 * What werift's SCTP association still owes: DATA chunks sent and not yet acknowledged by the server
 * (each with a T3-rtx timer that backs off while the peer is silent), DATA waiting for the window,
 * and a SACK it has not sent yet (werift delays them 200 ms).
 */
export interface SctpSnapshot {
	unacknowledged: number;
	queued: number;
	sackPending: boolean;
	rtoMs: number;
}

export type ParentToChild = {
	[M in RpcMethod]: { kind: 'rpc'; id: number; method: M; params: RpcMethods[M]['params'] };
}[RpcMethod];

export type ChildToParent =
	| { kind: 'ready' }
	| { kind: 'result'; id: number; result: unknown }
	| { kind: 'error'; id: number; message: string }
	| { kind: 'event'; event: ClientEvent };

export type ClientEvent =
	| { type: 'connectionstatechange'; state: string; at: number }
	| { type: 'iceconnectionstatechange'; state: string; at: number }
	| { type: 'channelopen'; label: string; at: number }
	| { type: 'message'; label: string; data: string; at: number }
	| { type: 'icestartfailed'; message: string; at: number }
	| { type: 'fault'; message: string; at: number };
