// A producer that sends nothing: an Opus producer on a PlainTransport nobody sends to. Consumed by
// a receive-only client, it gives a consumer that carries no RTP (a silent room).
import type { types } from 'mediasoup';

export interface SilentProducer {
	transport: types.PlainTransport;
	producer: types.Producer;
}

export async function createSilentProducer(router: types.Router): Promise<SilentProducer> {
	const transport = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
	const producer = await transport.produce({
		kind: 'audio',
		rtpParameters: {
			codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48_000, channels: 2, parameters: {}, rtcpFeedback: [] }],
			headerExtensions: [],
			encodings: [{ ssrc: 11_111_111 }],
			rtcp: { cname: 'silent' },
		},
	});
	return { transport, producer };
}
