// `DEBUG=mediasoup-watchdog:*` tells the story of a watch: every event it reacted to, every
// transition and the decision that ended it, in the `method() [key:value]` shape.
import { format } from 'node:util';
import debug from 'debug';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { definePolicy, watchTransport } from '../../src/index.js';
import { createFakeTransport } from '../helpers/fake-transport.js';

let lines: string[] = [];
let previousNamespaces = '';
const previousLog = debug.log;

beforeEach(() => {
	vi.useFakeTimers();
	lines = [];
	previousNamespaces = debug.disable();
	debug.enable('mediasoup-watchdog:*');
	debug.log = (...args: unknown[]) => {
		lines.push(format(...args));
	};
});

afterEach(() => {
	debug.log = previousLog;
	debug.disable();
	if (previousNamespaces) debug.enable(previousNamespaces);
	vi.useRealTimers();
});

/** The logged lines about one transport. */
const about = (transportId: string): string[] => lines.filter((line) => line.includes(`transportId:${transportId}`));

describe('debug logging', () => {
	it('logs every event, transition and the close decision of a watch under mediasoup-watchdog:TransportWatch', async () => {
		const { transport } = createFakeTransport();
		const watch = watchTransport(
			transport,
			definePolicy({ disconnectGraceMs: 1_000, inactivityTimeoutMs: Number.POSITIVE_INFINITY }),
		);
		transport.connectClient();
		transport.emitIceState('disconnected');
		await vi.advanceTimersByTimeAsync(1_000);
		expect(watch.closeReason).toBe('ice-disconnected');

		const logged = about(transport.id).filter((line) => line.includes('mediasoup-watchdog:TransportWatch '));
		const expected = [
			`constructor() [transportId:${transport.id}, userId:alice, iceState:new, dtlsState:new]`,
			`icestatechange [transportId:${transport.id}, iceState:connected, state:connecting]`,
			`dtlsstatechange [transportId:${transport.id}, dtlsState:connected, state:connecting]`,
			`state [transportId:${transport.id}, connecting → connected]`,
			`icestatechange [transportId:${transport.id}, iceState:disconnected, state:connected]`,
			`state [transportId:${transport.id}, connected → disconnected]`,
			`end() [transportId:${transport.id}, reason:ice-disconnected, state:disconnected, closedByWatchdog:true]`,
			`state [transportId:${transport.id}, disconnected → closed]`,
		];
		let from = 0;
		for (const fragment of expected) {
			const at = logged.findIndex((line, index) => index >= from && line.includes(fragment));
			expect(at, `missing or out of order: ${fragment}\n${logged.join('\n')}`).toBeGreaterThanOrEqual(0);
			from = at + 1;
		}
	});

	it('logs the connect deadline when it fires, with the deadline in milliseconds', async () => {
		const { transport } = createFakeTransport();
		watchTransport(transport, definePolicy({ connectTimeoutMs: 2_500 }));
		await vi.advanceTimersByTimeAsync(2_500);
		expect(
			about(transport.id).some((line) =>
				line.includes(`connect deadline reached [transportId:${transport.id}, connectTimeoutMs:2500]`),
			),
		).toBe(true);
	});

	it('logs an outside close with the reason it recorded', () => {
		const { router, transport } = createFakeTransport();
		watchTransport(transport, definePolicy());
		router.close();
		expect(
			about(transport.id).some((line) =>
				line.includes(`transport closed outside the watchdog [transportId:${transport.id}, reason:router-closed]`),
			),
		).toBe(true);
	});

	it('logs a throwing listener under the ERROR namespace', () => {
		const { transport } = createFakeTransport();
		const watch = watchTransport(transport, definePolicy());
		watch.on('connect', () => {
			throw new Error('app bug');
		});
		transport.connectClient();
		expect(
			lines.some(
				(line) => line.includes('mediasoup-watchdog:ERROR:emitter') && line.includes('safeEmit() listener threw [event:connect]'),
			),
		).toBe(true);
	});

	it('warns once per watchdog when an inline policy literal with per-user limits gets a watchdog of its own, never for definePolicy()', () => {
		const inline = (): string[] => lines.filter((line) => line.includes('not made by definePolicy()'));
		const shared = definePolicy({ inactivityTimeoutMs: Number.POSITIVE_INFINITY });
		for (let i = 0; i < 3; i += 1) watchTransport(createFakeTransport().transport, shared).close();
		expect(inline()).toEqual([]);
		// The trap: a new literal per call, each with the default per-user limits.
		for (let i = 0; i < 3; i += 1) watchTransport(createFakeTransport().transport, { connectTimeoutMs: 5_000 }).close();
		expect(inline()).toHaveLength(3);
		expect(inline()[0]).toMatch(/mediasoup-watchdog:WARN:watchTransport/);
		// A literal kept and reused is one watchdog: one line, not one per transport.
		const kept = { connectTimeoutMs: 5_000 };
		for (let i = 0; i < 3; i += 1) watchTransport(createFakeTransport().transport, kept).close();
		expect(inline()).toHaveLength(4);
		// Without per-user limits there is nothing to split: no warning.
		watchTransport(createFakeTransport().transport, {
			iceRestart: { perUser: false },
			maxPendingPerUser: Number.POSITIVE_INFINITY,
		}).close();
		expect(inline()).toHaveLength(4);
	});
});
