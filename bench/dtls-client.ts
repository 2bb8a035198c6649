// werift's DTLS client over a benchmark client's own UDP socket: the socket's other traffic (STUN,
// the worker's SRTP/SRTCP) stays with the caller, which hands each datagram to deliver().
import type dgram from 'node:dgram';
import { DtlsClient } from 'werift';

type Certificate = Awaited<ReturnType<typeof import('werift').CipherContext.createSelfSignedCertificateWithKey>>;

export interface DtlsOverUdp {
	readonly dtls: DtlsClient;
	/** Hands one received datagram to DTLS when it is DTLS (RFC 7983: first byte 20–63); others are ignored. */
	deliver(data: Buffer): void;
	/** Stops handing datagrams to DTLS (the association is kept, nothing more is read on it). */
	detach(): void;
}

export function dtlsOverUdp(
	socket: dgram.Socket,
	remote: { readonly ip: string; readonly port: number },
	certificate: Certificate,
	/** True once the client vanished: nothing is sent any more (werift's timers may still try). */
	silent: () => boolean = () => false,
): DtlsOverUdp {
	let onData: (data: Buffer) => void = () => {};
	const dtls = new DtlsClient({
		transport: {
			type: 'udp',
			address: socket.address(),
			closed: false,
			get onData() {
				return onData as never;
			},
			set onData(handler: (data: Buffer) => void) {
				onData = handler;
			},
			send: (data: Buffer) =>
				new Promise<void>((resolve) => (silent() ? resolve() : socket.send(data, remote.port, remote.ip, () => resolve()))),
			close: async () => {},
		},
		cert: certificate.certPem,
		key: certificate.keyPem,
		signatureHash: certificate.signatureHash,
		srtpProfiles: [1], // SRTP_AES128_CM_HMAC_SHA1_80: mediasoup requires an SRTP profile
		extendedMasterSecret: true,
	});
	return {
		dtls,
		deliver(data) {
			const first = data[0] ?? 0;
			if (first >= 20 && first <= 63) onData(data);
		},
		detach() {
			onData = () => {};
		},
	};
}
