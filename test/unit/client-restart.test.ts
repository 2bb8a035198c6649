import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { denialAction, type RestartAnswer, type RestartableTransport, watchRestarts } from '../../src/client/index.js';
import { ICE_RESTART_DENIAL_REASONS } from '../../src/reasons.js';

// A mediasoup-client-like Transport: connectionstatechange listeners, restartIce(), closed.
class FakeClientTransport implements RestartableTransport {
	readonly id = 't1';
	closed = false;
	connectionState = 'new';
	readonly listeners = new Set<(state: string) => void>();
	readonly restarts: unknown[] = [];
	on(_event: 'connectionstatechange', listener: (state: string) => void): void {
		this.listeners.add(listener);
	}
	off(_event: 'connectionstatechange', listener: (state: string) => void): void {
		this.listeners.delete(listener);
	}
	async restartIce({ iceParameters }: { iceParameters: unknown }): Promise<void> {
		this.restarts.push(iceParameters);
	}
	set(state: string): void {
		this.connectionState = state;
		for (const listener of [...this.listeners]) listener(state);
	}
}

const GRANT: RestartAnswer = { granted: true, iceParameters: { usernameFragment: 'u', password: 'p' } };

describe('watchRestarts()', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	const setup = (answers: Array<RestartAnswer | Error>, options = {}) => {
		const transport = new FakeClientTransport();
		const requests: number[] = [];
		const requestRestart = vi.fn(async () => {
			requests.push(Date.now());
			const answer = answers.shift() ?? GRANT;
			if (answer instanceof Error) throw answer;
			return answer;
		});
		const companion = watchRestarts(transport, { requestRestart, jitterMs: 0, ...options });
		return { transport, requests, requestRestart, companion };
	};

	it("asks at once on 'failed' and applies the granted parameters with restartIce()", async () => {
		const { transport, requestRestart, companion } = setup([GRANT]);
		const restarted = vi.fn();
		companion.on('restarted', restarted);
		transport.set('connected');
		transport.set('failed');
		await vi.advanceTimersByTimeAsync(0);
		expect(requestRestart).toHaveBeenCalledOnce();
		expect(transport.restarts).toEqual([GRANT.granted && GRANT.iceParameters]);
		expect(restarted).toHaveBeenCalledWith({ attempt: 0 });
		transport.set('connected');
		expect(companion.attempts).toBe(0);
		await vi.advanceTimersByTimeAsync(60_000);
		expect(requestRestart).toHaveBeenCalledOnce();
		companion.dispose();
		expect(transport.listeners.size).toBe(0);
	});

	it("waits the grace on 'disconnected' and asks nothing if it reconnects within it", async () => {
		const { transport, requestRestart } = setup([], { disconnectedGraceMs: 2000 });
		transport.set('connected');
		transport.set('disconnected');
		await vi.advanceTimersByTimeAsync(1999);
		expect(requestRestart).not.toHaveBeenCalled();
		transport.set('connected');
		await vi.advanceTimersByTimeAsync(5000);
		expect(requestRestart).not.toHaveBeenCalled();
		transport.set('disconnected');
		await vi.advanceTimersByTimeAsync(2000);
		expect(requestRestart).toHaveBeenCalledOnce();
	});

	it("'failed' cuts the grace short", async () => {
		const { transport, requestRestart } = setup([]);
		transport.set('connected');
		transport.set('disconnected');
		await vi.advanceTimersByTimeAsync(100);
		transport.set('failed');
		await vi.advanceTimersByTimeAsync(0);
		expect(requestRestart).toHaveBeenCalledOnce();
	});

	it('never-connected: no retry, a rejoin event, and the companion stops', async () => {
		const { transport, requestRestart, companion } = setup([{ granted: false, reason: 'never-connected' }]);
		const rejoin = vi.fn();
		companion.on('rejoin', rejoin);
		transport.set('failed');
		await vi.advanceTimersByTimeAsync(0);
		expect(rejoin).toHaveBeenCalledWith({ reason: 'never-connected' });
		transport.set('failed');
		await vi.advanceTimersByTimeAsync(120_000);
		expect(requestRestart).toHaveBeenCalledOnce();
		expect(transport.listeners.size).toBe(0);
	});

	it('rate-limited: waits exactly retryAfterMs plus jitter, asks nothing before, even on a new failed', async () => {
		const { transport, requests, companion } = setup([{ granted: false, reason: 'rate-limited', retryAfterMs: 12_655 }], {
			jitterMs: 100,
			random: () => 0.5,
		});
		const denied = vi.fn();
		companion.on('denied', denied);
		transport.set('connected');
		const start = Date.now();
		transport.set('failed');
		await vi.advanceTimersByTimeAsync(0);
		expect(denied).toHaveBeenCalledWith({ reason: 'rate-limited', retryAfterMs: 12_655, action: 'wait', delayMs: 12_705 });
		transport.set('disconnected');
		transport.set('failed');
		await vi.advanceTimersByTimeAsync(12_704);
		expect(requests).toHaveLength(1);
		await vi.advanceTimersByTimeAsync(1);
		expect(requests.map((t) => t - start)).toEqual([0, 12_705]);
		expect(transport.restarts).toHaveLength(1);
	});

	it('an unknown reason with retryAfterMs (e.g. storm) is waited like rate-limited; without it, backoff', () => {
		expect(denialAction('storm', 800)).toBe('wait');
		expect(denialAction('some-future-reason', 800)).toBe('wait');
		expect(denialAction('some-future-reason')).toBe('backoff');
		expect(denialAction('rate-limited')).toBe('backoff');
		expect(denialAction('closed')).toBe('rejoin');
		for (const reason of ICE_RESTART_DENIAL_REASONS) expect(['rejoin', 'wait', 'backoff']).toContain(denialAction(reason, 1));
	});

	it('backs off exponentially on errors and gives up after maxAttempts with a typed event', async () => {
		const error = new Error('socket down');
		const { transport, requests, companion } = setup([error, error, error, error], { backoffMs: 1000, maxAttempts: 4 });
		const giveup = vi.fn();
		companion.on('giveup', giveup);
		transport.set('connected');
		const start = Date.now();
		transport.set('failed');
		await vi.advanceTimersByTimeAsync(60_000);
		expect(requests.map((t) => t - start)).toEqual([0, 1000, 3000, 7000]);
		expect(giveup).toHaveBeenCalledWith({ attempts: 4, lastError: error });
		expect(transport.listeners.size).toBe(0);
	});

	it('a granted restart that does not reconnect is asked again after the backoff', async () => {
		const { transport, requests } = setup([GRANT, GRANT], { backoffMs: 500 });
		transport.set('connected');
		const start = Date.now();
		transport.set('failed');
		await vi.advanceTimersByTimeAsync(500);
		expect(requests.map((t) => t - start)).toEqual([0, 500]);
		expect(transport.restarts).toHaveLength(2);
	});

	/** A transport whose first restart request is pending until `release(answer)`. */
	const pendingRequest = () => {
		const transport = new FakeClientTransport();
		const answer: { release: (answer: RestartAnswer) => void } = { release: () => undefined };
		const requestRestart = vi.fn(() => new Promise<RestartAnswer>((resolve) => (answer.release = resolve)));
		watchRestarts(transport, { requestRestart });
		transport.set('connected');
		transport.set('failed');
		return { transport, requestRestart, release: (value: RestartAnswer) => answer.release(value) };
	};

	it('one restart at a time per transport', async () => {
		const { transport, requestRestart, release } = pendingRequest();
		transport.set('disconnected');
		transport.set('failed');
		await vi.advanceTimersByTimeAsync(10_000);
		expect(requestRestart).toHaveBeenCalledOnce();
		release(GRANT);
		await vi.advanceTimersByTimeAsync(0);
		expect(transport.restarts).toHaveLength(1);
	});

	it('closing the transport releases its listener and timers; a late answer is not applied', async () => {
		const { transport, release } = pendingRequest();
		transport.closed = true;
		transport.set('closed');
		release(GRANT);
		await vi.advanceTimersByTimeAsync(0);
		expect(transport.restarts).toHaveLength(0);
		expect(transport.listeners.size).toBe(0);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('bad options are refused with the option named', () => {
		const transport = new FakeClientTransport();
		expect(() => watchRestarts(transport, {} as never)).toThrow(/requestRestart must be a function/);
		expect(() => watchRestarts(transport, { requestRestart: async () => GRANT, backoffMs: -1 })).toThrow(
			/backoffMs must be a finite number >= 0, got -1/,
		);
	});
});
