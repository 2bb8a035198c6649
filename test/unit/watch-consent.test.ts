// mediasoup's own ICE consent check (3.13.20+): when it expires, ICE goes `'disconnected'` on a UDP
// tuple, which nothing else does. The watch closes at once with `ice-disconnected` and a detail that
// says mediasoup's consent decided, with no grace on top; over TCP (a closed connection) and on a
// mediasoup that does not say it checks consent, the disconnect grace applies as before.
import { describe, expect, it, vi } from 'vitest';
import { definePolicy, watchTransport } from '../../src/index.js';
import { CONSENT_EXPIRED_DETAIL } from '../../src/watch/transport-watch.js';
import { createFakeTransport } from '../helpers/fake-transport.js';
import { useFakeTimers } from '../helpers/manual-clock.js';
import { recordEvents } from '../helpers/watch-events.js';

useFakeTimers();

/** A connected fake transport; `type: 'webrtc'` as mediasoup 3.15+ transports have. */
function setup(options: { type?: string; protocol?: 'udp' | 'tcp' } = {}) {
	const policy = definePolicy({ inactivityTimeoutMs: Number.POSITIVE_INFINITY, disconnectGraceMs: 15_000 });
	const { worker, transport } = createFakeTransport();
	if (options.type !== undefined) Object.defineProperty(transport, 'type', { value: options.type });
	const watch = watchTransport(transport, policy, { worker });
	const events = recordEvents(watch);
	transport.emitSelectedTuple({ protocol: options.protocol ?? 'udp' });
	transport.emitIceState('connected');
	transport.emitDtlsState('connecting');
	transport.emitDtlsState('connected');
	transport.emitIceState('completed');
	expect(watch.state).toBe('connected');
	return { transport, watch, events };
}

describe("mediasoup's consent check (a transport with `type: 'webrtc'`)", () => {
	it('closes at once with `ice-disconnected` when ICE goes disconnected on a UDP tuple, saying mediasoup’s consent decided', async () => {
		const { transport, watch, events } = setup({ type: 'webrtc' });
		await vi.advanceTimersByTimeAsync(40_000);
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('closed');
		expect(transport.closed).toBe(true);
		expect(await watch.closed).toMatchObject({
			reason: 'ice-disconnected',
			clean: false,
			closedByWatchdog: true,
			detectionMs: null,
			detail: CONSENT_EXPIRED_DETAIL,
		});
		expect(CONSENT_EXPIRED_DETAIL).toMatch(/^mediasoup's ICE consent check expired/);
		expect(events.of('disconnect')).toEqual([]);
		expect(events.transitions()).toEqual(['connecting→connected', 'connected→closed']);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('keeps the grace over TCP, where a closed connection drops the tuple too', async () => {
		const { transport, watch, events } = setup({ type: 'webrtc', protocol: 'tcp' });
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('disconnected');
		expect(events.of('disconnect')).toEqual([{ iceState: 'disconnected', graceMs: 15_000 }]);
		await vi.advanceTimersByTimeAsync(15_000);
		expect(await watch.closed).toMatchObject({ reason: 'ice-disconnected', detail: 'ICE disconnected for 15000 ms' });
	});
});

describe('a mediasoup that does not say it checks consent (no `type`: 3.12, 3.13, 3.14)', () => {
	it('keeps the grace on a UDP tuple', async () => {
		const { transport, watch } = setup();
		transport.emitIceState('disconnected');
		expect(watch.state).toBe('disconnected');
		await vi.advanceTimersByTimeAsync(14_999);
		expect(watch.state).toBe('disconnected');
		transport.emitIceState('completed');
		expect(watch.state).toBe('connected');
		expect(transport.closed).toBe(false);
		watch.close();
	});
});
