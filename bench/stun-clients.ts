// Child process of the cost benchmark: thousands of minimal WebRTC clients, one UDP socket each
// (each on its own 127.x.y.z address, so every server transport sees its own tuple). Each client
// brings its transport to ICE 'completed' with one STUN Binding request, completes a real DTLS
// handshake (werift's DTLS client) so mediasoup reports dtlsState 'connected', then only sends an
// ICE consent check every 2.5 s, as an idle Chromium does. Running them here keeps their CPU out of
// the measured process.
//
// Parent → child: { type: 'connect', targets } · { type: 'stop' }
// Child → parent: { type: 'fingerprint', value } · { type: 'progress', done } · { type: 'connected', ok, failed }
import { createHash, X509Certificate } from 'node:crypto';
import dgram from 'node:dgram';
import { CipherContext } from 'werift';
import { dtlsOverUdp } from './dtls-client.js';
import { benchFaults } from './faults.js';
import { isBindingSuccess, isStun, stunBindingRequest } from './stun.js';

export interface StunTarget {
	readonly ufrag: string;
	readonly password: string;
	readonly ip: string;
	readonly port: number;
}

export type ParentMessage = { type: 'connect'; targets: StunTarget[] } | { type: 'stop' };
export type ChildMessage =
	| { type: 'fingerprint'; value: string }
	| { type: 'progress'; done: number }
	| { type: 'connected'; ok: number; failed: number; consentEveryMs: number };

const CONSENT_EVERY_MS = 2_500;
const CONCURRENT_HANDSHAKES = 64;
const STEP_TIMEOUT_MS = 15_000;

interface Client {
	readonly socket: dgram.Socket;
	readonly consent: Buffer;
	readonly target: StunTarget;
}

const send = (message: ChildMessage): void => {
	process.send?.(message);
};

/** 127.1.0.1, 127.1.0.2, …: a distinct loopback address per client. */
const addressOf = (i: number): string => `127.${1 + ((i + 1) >> 16)}.${((i + 1) >> 8) & 255}.${(i + 1) & 255}`;

async function main(): Promise<void> {
	const faults = benchFaults();
	if (faults.clientsExit) {
		process.stderr.write('stun-clients: exiting at start (BENCH_FAULTS=clients-exit)\n');
		process.exit(3);
	}
	const certificate = await CipherContext.createSelfSignedCertificateWithKey(
		{ hash: 4, signature: 3 }, // sha256, ecdsa
		23, // P-256
	);
	const der = new X509Certificate(certificate.certPem).raw;
	const fingerprint = (createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g) ?? []).join(':');
	send({ type: 'fingerprint', value: fingerprint });

	const clients: Client[] = [];
	let consentTimer: NodeJS.Timeout | undefined;

	const connectOne = async (target: StunTarget, i: number): Promise<Client> => {
		const socket = dgram.createSocket('udp4');
		try {
			await new Promise<void>((resolve, reject) => {
				socket.once('error', reject);
				socket.bind(0, addressOf(i), () => resolve());
			});
			const consent = stunBindingRequest({ remoteUfrag: target.ufrag, localUfrag: `b${i}`, password: target.password });
			// DTLS datagrams go to werift's DTLS client while it exists (RFC 7983: anything else is not its).
			const link = dtlsOverUdp(socket, target, certificate);
			const answered = new Promise<void>((resolve) => {
				socket.on('message', (data) => {
					if (!isStun(data)) link.deliver(data);
					else if (isBindingSuccess(data)) resolve();
				});
			});
			socket.send(consent, target.port, target.ip);
			await withTimeout(answered, 'STUN response');
			const { dtls } = link;
			await withTimeout(dtls.connect(), 'DTLS handshake');
			// Keep the association (no close_notify) but drop the client: nothing more is sent on it.
			link.detach();
			return { socket, consent, target };
		} catch (error) {
			socket.close();
			throw error;
		}
	};

	process.on('message', (message: ParentMessage) => {
		if (message.type === 'stop') {
			if (consentTimer) clearInterval(consentTimer);
			for (const client of clients) client.socket.close();
			process.exit(0);
		}
		if (message.type !== 'connect') return;
		void (async () => {
			let failed = 0;
			let next = 0;
			const failures: number[] = [];
			// BENCH_FAULTS=unconnected:N: the last N transports get no client at all.
			const reach = Math.max(0, message.targets.length - faults.unconnected);
			const connect = async (index: number): Promise<void> => {
				try {
					clients.push(await connectOne(message.targets[index] as StunTarget, index));
				} catch {
					failures.push(index);
				}
			};
			await Promise.all(
				Array.from({ length: CONCURRENT_HANDSHAKES }, async () => {
					while (next < reach) {
						await connect(next++);
						if ((clients.length + failures.length) % 1_000 === 0) {
							send({ type: 'progress', done: clients.length + failures.length });
						}
					}
				}),
			);
			// One retry, fewer at a time, for handshakes lost to a busy machine.
			const retry = failures.splice(0);
			for (let i = 0; i < retry.length; i += 10) await Promise.all(retry.slice(i, i + 10).map(connect));
			failed = failures.length + (message.targets.length - reach);
			// Consent checks, each client every 2.5 s, spread over 100 slices.
			let slice = 0;
			consentTimer = setInterval(() => {
				for (let i = slice; i < clients.length; i += 100) {
					const client = clients[i] as Client;
					client.socket.send(client.consent, client.target.port, client.target.ip);
				}
				slice = (slice + 1) % 100;
			}, CONSENT_EVERY_MS / 100);
			send({ type: 'connected', ok: clients.length, failed, consentEveryMs: CONSENT_EVERY_MS });
		})();
	});
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what} timed out`)), STEP_TIMEOUT_MS);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

process.on('disconnect', () => process.exit(0));
main().catch((error: unknown) => {
	process.stderr.write(`stun-clients: ${String(error)}\n`);
	process.exit(1);
});
