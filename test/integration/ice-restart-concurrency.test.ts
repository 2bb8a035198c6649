// 1 000 concurrent `restartIce()` calls from one user against real mediasoup 3.12.16 transports:
// exactly `limit` reach mediasoup, counted by spying on the real `transport.restartIce()` (which
// still runs). The transports are not connected, so these policies set `requireConnectedOnce:
// false`: the per-user limit and single flight do not depend on a client (connected Chromium
// transports are covered in ice-restart.test.ts).
import { describe, expect, it, vi } from 'vitest';
import { type IceParametersLike, isIceRestartDeniedError, type WatchdogPolicyOptions } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { createTestTransport, type WebRtcTransport } from '../helpers/mediasoup.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';

const sfu = useMediasoup();

const LIMIT = 3;
const POLICY: WatchdogPolicyOptions = {
	inactivityTimeoutMs: Number.POSITIVE_INFINITY,
	connectTimeoutMs: 60_000,
	maxPendingPerUser: Number.POSITIVE_INFINITY,
	iceRestart: { requireConnectedOnce: false, perUser: { limit: LIMIT, windowMs: 20_000 } },
};

/** A real transport of `userId` whose `restartIce()` calls into mediasoup are counted. */
async function spiedTransport(userId: string): Promise<{ transport: WebRtcTransport; mediasoupCalls: () => number }> {
	const transport = await createTestTransport(sfu.router, { appData: { userId } });
	const real = transport.restartIce.bind(transport);
	const spy = vi.spyOn(transport, 'restartIce').mockImplementation(() => real());
	return { transport, mediasoupCalls: () => spy.mock.calls.length };
}

type Outcome = { granted: IceParametersLike } | { denied: string };

const outcomeOf = (request: Promise<IceParametersLike>): Promise<Outcome> =>
	request.then(
		(granted) => ({ granted }),
		(error: unknown) => ({ denied: isIceRestartDeniedError(error) ? error.reason : `unexpected: ${String(error)}` }),
	);

const grantedOf = (outcomes: Outcome[]): IceParametersLike[] => outcomes.flatMap((o) => ('granted' in o ? [o.granted] : []));
const deniedOf = (outcomes: Outcome[]): string[] => outcomes.flatMap((o) => ('denied' in o ? [o.denied] : []));

describe('1 000 concurrent restartIce() calls from one user', () => {
	it('on one watch, all at once: one decision and one mediasoup call, shared by every caller', async () => {
		const { transport, mediasoupCalls } = await spiedTransport('alice');
		const watch = createWatchdog(POLICY).watch(transport);
		const decisions: unknown[] = [];
		watch.on('icerestart', (event) => decisions.push(event));
		const outcomes = await Promise.all(Array.from({ length: 1_000 }, () => outcomeOf(watch.restartIce())));
		expect(mediasoupCalls()).toBe(1);
		expect(decisions).toHaveLength(1);
		const granted = grantedOf(outcomes);
		expect(granted).toHaveLength(1_000);
		expect(new Set(granted.map((p) => p.usernameFragment))).toEqual(new Set([transport.iceParameters.usernameFragment]));
	});

	it(`on one watch, in 10 waves of 100 that do not wait for each other: exactly ${LIMIT} reach mediasoup`, async () => {
		const { transport, mediasoupCalls } = await spiedTransport('alice');
		const watch = createWatchdog(POLICY).watch(transport);
		const requests: Array<Promise<Outcome>> = [];
		for (let wave = 0; wave < 10; wave++) {
			for (let i = 0; i < 100; i++) requests.push(outcomeOf(watch.restartIce()));
			await new Promise((resolve) => setTimeout(resolve, 5)); // the previous wave's flight may or may not be over
		}
		const outcomes = await Promise.all(requests);
		expect(mediasoupCalls()).toBe(LIMIT);
		expect(new Set(grantedOf(outcomes).map((p) => p.usernameFragment)).size).toBe(LIMIT);
		expect(new Set(deniedOf(outcomes))).toEqual(new Set(['rate-limited']));
		expect(grantedOf(outcomes).length + deniedOf(outcomes).length).toBe(1_000);
	});

	it(`spread over 8 transports of the user, all at once: exactly ${LIMIT} reach mediasoup, each on its own transport`, async () => {
		const watchdog = createWatchdog(POLICY);
		const spied = await Promise.all(Array.from({ length: 8 }, () => spiedTransport('alice')));
		const watches = spied.map(({ transport }) => watchdog.watch(transport));
		const started = performance.now();
		const outcomes = await Promise.all(
			Array.from({ length: 1_000 }, (_, i) => outcomeOf(watches[i % watches.length]!.restartIce())),
		);
		const elapsedMs = performance.now() - started;
		const calls = spied.map(({ mediasoupCalls }) => mediasoupCalls());
		expect(calls.reduce((a, b) => a + b, 0)).toBe(LIMIT);
		expect(calls.filter((n) => n === 1)).toHaveLength(LIMIT);
		expect(new Set(grantedOf(outcomes).map((p) => p.usernameFragment)).size).toBe(LIMIT);
		expect(grantedOf(outcomes)).toHaveLength(LIMIT * 125); // 1 000 calls / 8 watches share each decision
		expect(deniedOf(outcomes)).toEqual(Array.from({ length: 1_000 - LIMIT * 125 }, () => 'rate-limited'));
		expect(elapsedMs).toBeLessThan(2_000);
		// Another user has their own allowance.
		const bob = await spiedTransport('bob');
		await watchdog.watch(bob.transport).restartIce();
		expect(bob.mediasoupCalls()).toBe(1);
	});
});
