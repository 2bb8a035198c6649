// Server-side transports for GStreamer clients, with the one option the shared createTestTransport()
// does not take: mediasoup's own ICE consent timeout (3.13.20+). GStreamer's libnice sends no RFC 7675
// consent checks, so on such a worker the app chooses: `iceConsentTimeout: 0` keeps a healthy
// webrtcbin client, the default (30 s) drops it.

import type { types } from 'mediasoup';
import * as mediasoup from 'mediasoup';

/** Whether the running mediasoup's worker checks ICE consent itself (3.13.20 and later). */
export function workerChecksConsent(version: string = mediasoup.version): boolean {
	const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
	return major > 3 || (major === 3 && (minor > 13 || (minor === 13 && patch >= 20)));
}

export interface GstTransportOptions {
	webRtcServer?: types.WebRtcServer;
	enableSctp?: boolean;
	/**
	 * mediasoup's `iceConsentTimeout` in seconds (0 = off); passed only to a worker that checks
	 * consent. Omitted: mediasoup's default (30 s there).
	 */
	iceConsentTimeout?: number;
}

/** A WebRtcTransport on 127.0.0.1 (UDP and TCP), on its own port or on `webRtcServer`. */
export function createGstTransport(router: types.Router, options: GstTransportOptions = {}): Promise<types.WebRtcTransport> {
	const common = {
		enableUdp: true,
		enableTcp: true,
		preferUdp: true,
		enableSctp: options.enableSctp ?? false,
		...(options.iceConsentTimeout !== undefined && workerChecksConsent() ? { iceConsentTimeout: options.iceConsentTimeout } : {}),
	};
	const placement = options.webRtcServer ? { webRtcServer: options.webRtcServer } : { listenIps: [{ ip: '127.0.0.1' }] };
	return router.createWebRtcTransport({ ...common, ...placement } as types.WebRtcTransportOptions);
}
