// Child-process entry: one werift RTCPeerConnection, driven by harness.ts over the IPC channel.
// Run as `node --import tsx client-process.ts` with an IPC channel (child_process.fork). Each
// client lives in its own process so the test can SIGKILL / SIGSTOP it like a real peer.
import { type RTCDataChannel, RTCPeerConnection } from 'werift';
import type { ChildToParent, ClientEvent, ClientStateSnapshot, ParentToChild, RpcMethods, SctpSnapshot } from './protocol.js';

if (!process.send) {
	console.error('client-process.ts must be started with an IPC channel (child_process.fork)');
	process.exit(2);
}

const send = (message: ChildToParent): void => {
	if (process.connected) process.send?.(message);
};
const emit = (event: ClientEvent): void => send({ kind: 'event', event });
const fault = (error: unknown): void => {
	const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
	console.error(`[werift child fault] ${message}`);
	emit({ type: 'fault', message, at: Date.now() });
};
process.on('uncaughtException', fault);
process.on('unhandledRejection', fault);
// The parent went away (or closed us): never outlive it.
process.on('disconnect', () => process.exit(0));

let pc: RTCPeerConnection | undefined;
const channels = new Map<string, RTCDataChannel>();

function peer(): RTCPeerConnection {
	if (!pc) throw new Error('no peer connection yet: call offer first');
	return pc;
}

async function waitForGathering(connection: RTCPeerConnection): Promise<void> {
	const deadline = Date.now() + 5_000;
	while (connection.iceGatheringState !== 'complete') {
		if (Date.now() > deadline) throw new Error('werift ICE gathering did not complete within 5 s');
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

/** werift's SCTP fields are TypeScript-private (readable at run time); read, never written. */
interface WeriftSctpInternals {
	sentQueue: unknown[];
	outboundQueue: unknown[];
	sackNeeded: boolean;
	rto: number;
}

function sctpSnapshot(connection: RTCPeerConnection): SctpSnapshot | null {
	const sctp = connection.sctpTransport?.sctp as unknown as WeriftSctpInternals | undefined;
	if (!sctp) return null;
	return {
		unacknowledged: sctp.sentQueue.length,
		queued: sctp.outboundQueue.length,
		sackPending: sctp.sackNeeded,
		rtoMs: sctp.rto * 1_000,
	};
}

const handlers: { [M in keyof RpcMethods]: (params: RpcMethods[M]['params']) => Promise<RpcMethods[M]['result']> } = {
	async offer({ channels: specs }) {
		if (pc) throw new Error('offer called twice');
		const connection = new RTCPeerConnection({
			iceUseIpv4: false,
			iceUseIpv6: false,
			iceAdditionalHostAddresses: ['127.0.0.1'],
			iceInterfaceAddresses: { udp4: '127.0.0.1' },
		});
		pc = connection;
		connection.connectionStateChange.subscribe((state) => emit({ type: 'connectionstatechange', state, at: Date.now() }));
		connection.iceConnectionStateChange.subscribe((state) => emit({ type: 'iceconnectionstatechange', state, at: Date.now() }));
		for (const spec of specs) {
			const channel = connection.createDataChannel(spec.label, { negotiated: true, id: spec.id, ordered: true });
			channels.set(spec.label, channel);
			channel.stateChanged.subscribe((state) => {
				if (state === 'open') emit({ type: 'channelopen', label: spec.label, at: Date.now() });
			});
			channel.onMessage.subscribe((data) => emit({ type: 'message', label: spec.label, data: data.toString(), at: Date.now() }));
		}
		await connection.setLocalDescription(await connection.createOffer());
		await waitForGathering(connection);
		const sdp = connection.localDescription?.sdp;
		if (!sdp) throw new Error('werift produced no local description');
		return { sdp };
	},

	async answer({ sdp }) {
		const connection = peer();
		await connection.setRemoteDescription({ type: 'answer', sdp });
		const role = connection.dtlsTransports[0]?.role;
		if (!role) throw new Error('werift has no DTLS transport after the answer');
		return { dtlsRole: role };
	},

	async restartIce({ sdp, kick, waitMs }) {
		const connection = peer();
		const iceStatesBefore = connection.iceTransports.map((t) => t.state);
		// New local credentials (what mediasoup-client does), then the server's new ones.
		await connection.setLocalDescription(await connection.createOffer({ iceRestart: true }));
		await waitForGathering(connection);
		await connection.setRemoteDescription({ type: 'answer', sdp });
		const startErrors: string[] = [];
		if (kick) {
			// werift 0.24–0.25 applies the new credentials but sends no checks until start() again.
			// start() settles only when ICE connects or gives up (not within 2 s for refused credentials): wait a bounded
			// time; a later failure is reported as an 'icestartfailed' event.
			const starts = connection.iceTransports.map((t) =>
				t.start().catch((error: unknown) => {
					const message = error instanceof Error ? error.message : String(error);
					startErrors.push(message);
					emit({ type: 'icestartfailed', message, at: Date.now() });
				}),
			);
			await Promise.race([Promise.all(starts), new Promise((resolve) => setTimeout(resolve, waitMs))]);
		}
		return { iceStatesBefore, iceStatesAfter: connection.iceTransports.map((t) => t.state), startErrors: [...startErrors] };
	},

	async send({ label, data }) {
		const channel = channels.get(label);
		if (!channel) throw new Error(`no channel labelled ${label}`);
		if (channel.readyState !== 'open') throw new Error(`channel ${label} is ${channel.readyState}, not open`);
		channel.send(data);
		return { readyState: channel.readyState };
	},

	async state() {
		const connection = peer();
		const pair = connection.iceTransports[0]?.connection.nominated;
		const snapshot: ClientStateSnapshot = {
			connectionState: connection.connectionState,
			iceConnectionState: connection.iceConnectionState,
			iceStates: connection.iceTransports.map((t) => t.state),
			dtlsStates: connection.dtlsTransports.map((t) => t.state),
			channels: Object.fromEntries([...channels].map(([label, channel]) => [label, channel.readyState])),
			selectedPair: pair
				? {
						local: `${pair.localCandidate.host}:${pair.localCandidate.port}`,
						remote: `${pair.remoteCandidate.host}:${pair.remoteCandidate.port}`,
						consentRequestsSent: pair.consentRequestsSent,
					}
				: null,
			sctp: sctpSnapshot(connection),
		};
		return snapshot;
	},

	async close() {
		const started = Date.now();
		await pc?.close();
		return { closeMs: Date.now() - started };
	},
};

process.on('message', (raw) => {
	const message = raw as ParentToChild;
	if (message.kind !== 'rpc') return;
	const handler = handlers[message.method] as (params: unknown) => Promise<unknown>;
	handler(message.params).then(
		(result) => {
			send({ kind: 'result', id: message.id, result });
			if (message.method === 'close') setImmediate(() => process.exit(0));
		},
		(error: unknown) => {
			send({ kind: 'error', id: message.id, message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
		},
	);
});

send({ kind: 'ready' });
