// Fake transports with ICE candidates, for the port budget (snapshot().ports) tests: mediasoup
// lists one host candidate per local socket; 3.12 names its address `ip`, 3.14+ adds `address`
// (the announced address when there is one).
import { afterEach } from 'vitest';
import type { Watchdog } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createFakeTransport, type FakeWebRtcTransport } from './fake-transport.js';

export type FakeCandidate = { protocol: 'udp' | 'tcp'; port: number; ip: string; address?: string };

/** A fake transport (user alice) whose `iceCandidates` are these. */
export function transportWithCandidates(candidates: FakeCandidate[]): FakeWebRtcTransport<{ userId: string }> {
	const { transport } = createFakeTransport({ appData: { userId: 'alice' } });
	Object.defineProperty(transport, 'iceCandidates', {
		value: candidates.map((c, i) => ({ foundation: `f${i}`, priority: 1, type: 'host', ...c })),
	});
	return transport;
}

/** A UDP and a TCP candidate on one listen IP, as a transport with enableUdp and enableTcp has. */
export function udpTcp(udp: number, tcp: number, ip = '10.0.0.1'): FakeCandidate[] {
	return [
		{ protocol: 'udp', port: udp, ip },
		{ protocol: 'tcp', port: tcp, ip },
	];
}

/**
 * A factory of watchdogs (no pending cap, liveness off) stopped after each test of the file: call
 * at the top level of a test file.
 */
export function useWatchdogs(): () => Watchdog {
	const watchdogs: Watchdog[] = [];
	afterEach(() => {
		for (const watchdog of watchdogs.splice(0)) watchdog.stop();
	});
	return () => {
		const watchdog = createWatchdog({
			maxPendingPerUser: Number.POSITIVE_INFINITY,
			inactivityTimeoutMs: Number.POSITIVE_INFINITY,
		});
		watchdogs.push(watchdog);
		return watchdog;
	};
}
