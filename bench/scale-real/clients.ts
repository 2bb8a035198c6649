// A child process of the scale-real benchmark: thousands of lean but genuine WebRTC clients, one
// UDP socket each on its own 127.x.y.z address. Per client: ICE (STUN Binding requests with
// USE-CANDIDATE, MESSAGE-INTEGRITY from the server's iceParameters, FINGERPRINT; then a fresh
// consent check every ~5 s, as werift), a real DTLS handshake (werift's DTLS client), then either
// real SRTP audio (werift's SRTP session, keys exported from that handshake; one Opus packet every
// 400 ms, what an Opus DTX sender sends in silence) or a real SCTP association (werift's SCTP over
// that DTLS, no DataChannel messages: an idle data-only client). With a ConsentLoss, each consent
// check is skipped with its probability (seeded), as on a lossy link. A vanished client closes its
// socket: nothing more is sent, as after a SIGKILL. Keeps the clients' CPU out of the measured
// process. Messages: bench/scale-real/protocol.ts.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CipherContext, keyLength, RtpHeader, SrtpSession, saltLength } from 'werift';
import { seededRandom } from '../../test/helpers/seeded-random.js';
import { dtlsOverUdp } from '../dtls-client.js';
import { isBindingSuccess, isStun, stunBindingRequest } from '../stun.js';
import { CLIENT_TIMING, type ClientTarget, type ConsentLoss, type FromClient, type ToClient, wallNow } from './protocol.js';

const STEP_TIMEOUT_MS = 20_000;

/** werift's SCTP association (not in its package exports: loaded from its CommonJS build by path). */
interface Sctp {
	start(remotePort: number): Promise<void>;
	readonly stateChanged: { readonly connected: { subscribe(listener: () => void): unknown } };
	transport: { send: (data: Buffer) => Promise<void> };
}
const require = createRequire(import.meta.url);
const { SCTP } = require(join(dirname(require.resolve('werift')), '../../sctp/src/index.js')) as {
	SCTP: { client(transport: object, port: number): Sctp };
};
const TICK_MS = 20;

interface Client {
	readonly target: ClientTarget;
	readonly socket: dgram.Socket;
	readonly srtp?: SrtpSession;
	readonly sctp?: Sctp;
	sequence: number;
	timestamp: number;
	gone: boolean;
}

const send = (message: FromClient): void => {
	process.send?.(message);
};

/** 127.1.0.1, 127.1.0.2, …: a distinct loopback address per transport of the run. */
const addressOf = (i: number): string => `127.${1 + ((i + 1) >> 16)}.${((i + 1) >> 8) & 255}.${(i + 1) & 255}`;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what} timed out after ${STEP_TIMEOUT_MS / 1000} s`)), STEP_TIMEOUT_MS);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main(): Promise<void> {
	const certificate = await CipherContext.createSelfSignedCertificateWithKey({ hash: 4, signature: 3 }, 23); // sha256, ecdsa P-256
	const der = new X509Certificate(certificate.certPem).raw;
	send({
		type: 'fingerprint',
		value: (createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g) ?? []).join(':'),
	});
	const clients = new Map<number, Client>();
	let timer: NodeJS.Timeout | undefined;

	const consent = (target: ClientTarget): Buffer =>
		stunBindingRequest({ remoteUfrag: target.ufrag, localUfrag: `c${target.id}`, password: target.password });

	const connectOne = async (target: ClientTarget): Promise<Client> => {
		const socket = dgram.createSocket('udp4');
		try {
			await new Promise<void>((resolve, reject) => {
				socket.once('error', reject);
				socket.bind(0, addressOf(target.id), () => resolve());
			});
			socket.on('error', () => {});
			const silent = (): boolean => clients.get(target.id)?.gone === true;
			const link = dtlsOverUdp(socket, target, certificate, silent);
			const answered = new Promise<void>((resolve) => {
				socket.on('message', (data) => {
					// RFC 7983 demultiplexing: STUN here, DTLS to werift; the worker's SRTCP is ignored.
					if (isStun(data)) {
						if (isBindingSuccess(data)) resolve();
					} else link.deliver(data);
				});
			});
			socket.send(consent(target), target.port, target.ip);
			await withTimeout(answered, 'STUN response');
			const { dtls } = link;
			await withTimeout(dtls.connect(), 'DTLS handshake');
			const client: Client = { target, socket, sequence: 0, timestamp: 0, gone: false };
			if (target.ssrc !== undefined) {
				const profile = dtls.srtp.srtpProfile ?? 1;
				const keys = dtls.extractSessionKeys(keyLength(profile), saltLength(profile));
				const srtp = new SrtpSession({
					keys: {
						localMasterKey: keys.localKey,
						localMasterSalt: keys.localSalt,
						remoteMasterKey: keys.remoteKey,
						remoteMasterSalt: keys.remoteSalt,
					},
					profile,
				});
				return Object.assign(client, { srtp });
			}
			let onSctp: ((data: Buffer) => void) | undefined;
			dtls.onData.subscribe((data: Buffer) => onSctp?.(data));
			const sctp = SCTP.client(
				{
					set onData(handler: ((data: Buffer) => void) | undefined) {
						onSctp = handler;
					},
					send: (data: Buffer) => dtls.send(data),
					close: () => {},
				},
				5000,
			);
			const established = new Promise<void>((resolve) => sctp.stateChanged.connected.subscribe(() => resolve()));
			await sctp.start(5000);
			await withTimeout(established, 'SCTP association');
			return Object.assign(client, { sctp });
		} catch (error) {
			socket.close();
			throw error;
		}
	};

	const sendRtp = (client: Client): void => {
		if (!client.srtp || client.target.ssrc === undefined) return;
		client.sequence = (client.sequence + 1) & 0xffff;
		client.timestamp = (client.timestamp + (48_000 * CLIENT_TIMING.rtpEveryMs) / 1000) >>> 0;
		const header = new RtpHeader({
			payloadType: 111,
			sequenceNumber: client.sequence,
			timestamp: client.timestamp,
			ssrc: client.target.ssrc,
			marker: false,
		});
		const packet = client.srtp.encrypt(randomBytes(CLIENT_TIMING.rtpPayloadBytes), header);
		client.socket.send(packet, client.target.port, client.target.ip);
	};

	/** Every tick, one slice of the clients sends its consent check and one slice its RTP packet. */
	/** Clients in the order they connected: each sends from the tick after its handshake on. */
	const all: Client[] = [];
	let loss: ConsentLoss = { probability: 0, seed: 0 };
	let random = seededRandom(0);
	const consentCount = { sent: 0, skipped: 0 };
	const startTraffic = (): void => {
		if (timer) return;
		const consentSlices = CLIENT_TIMING.consentEveryMs / TICK_MS;
		const rtpSlices = CLIENT_TIMING.rtpEveryMs / TICK_MS;
		let tick = 0;
		timer = setInterval(() => {
			for (let i = tick % consentSlices; i < all.length; i += consentSlices) {
				const client = all[i] as Client;
				if (client.gone) continue;
				if (loss.probability > 0 && random() < loss.probability) {
					consentCount.skipped += 1;
					continue;
				}
				consentCount.sent += 1;
				client.socket.send(consent(client.target), client.target.port, client.target.ip);
			}
			for (let i = tick % rtpSlices; i < all.length; i += rtpSlices) {
				const client = all[i] as Client;
				if (!client.gone) sendRtp(client);
			}
			tick += 1;
		}, TICK_MS);
	};

	const vanish = (id: number): void => {
		const client = clients.get(id);
		if (!client || client.gone) return;
		client.gone = true;
		client.socket.close();
		// werift's SCTP timers would keep trying to send on the closed socket: silence them.
		if (client.sctp) client.sctp.transport.send = async () => {};
		send({ type: 'vanished', id, at: wallNow() });
	};

	process.on('message', (message: ToClient) => {
		if (message.type === 'stop') {
			if (timer) clearInterval(timer);
			process.exit(0);
		}
		if (message.type === 'cpu') {
			const usage = process.cpuUsage();
			send({ type: 'cpu', micros: usage.user + usage.system });
		}
		if (message.type === 'consent') send({ type: 'consent', ...consentCount });
		if (message.type === 'vanish') {
			for (const { id, afterMs } of message.vanish) setTimeout(() => vanish(id), afterMs);
		}
		if (message.type !== 'connect') return;
		void (async () => {
			const failed: Array<{ id: number; error: string }> = [];
			let next = 0;
			let done = 0;
			const targets = message.targets;
			loss = message.consentLoss;
			random = seededRandom(loss.seed);
			startTraffic();
			await Promise.all(
				Array.from({ length: CLIENT_TIMING.concurrentHandshakes }, async () => {
					while (next < targets.length) {
						const target = targets[next++] as ClientTarget;
						try {
							const client = await connectOne(target);
							clients.set(target.id, client);
							// At once, not after the last handshake: the worker's consent check (30 s) would
							// disconnect the first clients during a long setup.
							all.push(client);
						} catch (error) {
							failed.push({ id: target.id, error: error instanceof Error ? error.message : String(error) });
						}
						done += 1;
						if (done % 500 === 0) send({ type: 'progress', done });
					}
				}),
			);
			send({ type: 'connected', ok: [...clients.keys()], failed });
		})();
	});
}

process.on('disconnect', () => process.exit(0));
// One client's fault (werift throws from a timer or a parser) must not silence all the others:
// reported on stderr (the run logs it), and the process goes on.
process.on('uncaughtException', (error) => process.stderr.write(`scale-real clients: uncaught ${String(error)}\n`));
process.on('unhandledRejection', (error) => process.stderr.write(`scale-real clients: unhandled ${String(error)}\n`));
main().catch((error: unknown) => {
	process.stderr.write(`scale-real clients: ${String(error)}\n`);
	process.exit(1);
});
