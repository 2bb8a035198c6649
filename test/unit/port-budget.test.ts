// The port budget in snapshot().ports: which ports of the app's ranges the watched transports hold
// (read from their ICE candidates, shaped as mediasoup 3.12 and 3.27 list them), per worker,
// protocol, address and range; WebRtcServer transports counted on their server, holding no port;
// everything given back at the end of each watch, whatever ends it; bad `ports` refused by name.
import { describe, expect, it } from 'vitest';
import type { WatchOptions } from '../../src/index.js';
import { FakeWorker } from '../helpers/fake-transport.js';
import { transportWithCandidates, udpTcp, useWatchdogs } from '../helpers/port-candidates.js';

const newWatchdog = useWatchdogs();

const worker = (pid: number) => Object.assign(new FakeWorker(), { pid });

describe('snapshot().ports', () => {
	it('counts one port per socket in the range, per protocol, against its size (mediasoup 3.12: the worker range)', () => {
		const watchdog = newWatchdog();
		const w = worker(4242);
		const range = { min: 40_000, max: 40_099 };
		watchdog.watch(transportWithCandidates(udpTcp(40_000, 40_001)), { worker: w, ports: range });
		watchdog.watch(transportWithCandidates(udpTcp(40_002, 40_000)), { worker: w, ports: range });
		expect(watchdog.snapshot().ports).toEqual({
			ranges: [
				{
					pid: 4242,
					protocol: 'udp',
					address: '10.0.0.1',
					min: 40_000,
					max: 40_099,
					size: 100,
					taken: 2,
					transports: 2,
					share: 0.02,
				},
				{
					pid: 4242,
					protocol: 'tcp',
					address: '10.0.0.1',
					min: 40_000,
					max: 40_099,
					size: 100,
					taken: 2,
					transports: 2,
					share: 0.02,
				},
			],
			webRtcServers: [],
		});
	});

	it('keeps workers, addresses and listen-info ranges apart, and ignores ports outside every range (a fixed `port`)', () => {
		const watchdog = newWatchdog();
		const ranges = [
			{ min: 40_000, max: 40_009 },
			{ min: 50_000, max: 50_009 },
		];
		// 3.27 shape: `address` is the announced address when there is one.
		watchdog.watch(
			transportWithCandidates([
				{ protocol: 'udp', port: 40_001, ip: '10.0.0.1', address: '203.0.113.7' },
				{ protocol: 'tcp', port: 50_001, ip: '10.0.0.1', address: '203.0.113.7' },
				{ protocol: 'udp', port: 3_478, ip: '10.0.0.2' },
			]),
			{ worker: worker(1), ports: ranges },
		);
		watchdog.watch(transportWithCandidates(udpTcp(40_001, 50_001)), { worker: worker(2), ports: ranges });
		const snap = watchdog.snapshot().ports.ranges;
		expect(snap.map((r) => [r.pid, r.protocol, r.address, `${r.min}-${r.max}`, r.taken, r.share])).toEqual([
			[1, 'udp', '203.0.113.7', '40000-40009', 1, 0.1],
			[1, 'tcp', '203.0.113.7', '50000-50009', 1, 0.1],
			[2, 'udp', '10.0.0.1', '40000-40009', 1, 0.1],
			[2, 'tcp', '10.0.0.1', '50000-50009', 1, 0.1],
		]);
	});

	it('counts transports on a WebRtcServer on the server, holding no port; a shared port given as a range counts once', () => {
		const watchdog = newWatchdog();
		const w = worker(7);
		const server = { id: 'server-1' };
		const onServer = () => transportWithCandidates(udpTcp(44_444, 44_444));
		watchdog.watch(onServer(), { worker: w, ports: { webRtcServer: server } });
		watchdog.watch(onServer(), { worker: w, ports: { webRtcServer: server } });
		expect(watchdog.snapshot().ports).toEqual({ ranges: [], webRtcServers: [{ pid: 7, id: 'server-1', transports: 2 }] });
		// Told the range instead, the server's one UDP and one TCP socket are each one port, whatever the transports.
		const other = newWatchdog();
		other.watch(onServer(), { worker: w, ports: { min: 44_000, max: 44_999 } });
		other.watch(onServer(), { worker: w, ports: { min: 44_000, max: 44_999 } });
		expect(other.snapshot().ports.ranges.map((r) => [r.protocol, r.taken, r.transports])).toEqual([
			['udp', 1, 2],
			['tcp', 1, 2],
		]);
	});

	it('gives every port back at the end of the watch, whatever ends it (close, stop, router closed), and counts nothing without `ports`', () => {
		const watchdog = newWatchdog();
		const range = { min: 40_000, max: 40_999 };
		const [a, b, c] = [
			transportWithCandidates(udpTcp(40_000, 40_001)),
			transportWithCandidates(udpTcp(40_002, 40_003)),
			transportWithCandidates(udpTcp(40_004, 40_005)),
		];
		const wa = watchdog.watch(a, { ports: range });
		const wb = watchdog.watch(b, { ports: range });
		watchdog.watch(c, { ports: range });
		watchdog.watch(transportWithCandidates(udpTcp(40_006, 40_007)));
		watchdog.watch(transportWithCandidates([]), { ports: range });
		expect(watchdog.snapshot().ports.ranges.map((r) => [r.pid, r.taken])).toEqual([
			[null, 3],
			[null, 3],
		]);
		wa.close();
		wb.stop();
		expect(watchdog.snapshot().ports.ranges.map((r) => r.taken)).toEqual([1, 1]);
		c.routerClosed();
		expect(watchdog.snapshot().ports).toEqual({ ranges: [], webRtcServers: [] });
		// The same transport watched again holds its ports again, once.
		watchdog.watch(b, { ports: range });
		watchdog.watch(b, { ports: range });
		expect(watchdog.snapshot().ports.ranges.map((r) => r.taken)).toEqual([1, 1]);
	});

	it('refuses bad `ports` with a TypeError or RangeError naming the option and the value, before watching', () => {
		const watchdog = newWatchdog();
		const t = transportWithCandidates([]);
		const bad = (ports: unknown) => () => watchdog.watch(t, { ports } as WatchOptions);
		expect(bad(40_000)).toThrow(
			new TypeError(
				'watchTransport() `ports` must be a port range { min, max }, a non-empty list of them, or { webRtcServer }, got 40000 (number)',
			),
		);
		expect(bad([])).toThrow(TypeError);
		expect(bad({ min: '40000', max: 40_100 })).toThrow(
			new TypeError('watchTransport() `ports.min` must be a number, got "40000" (string)'),
		);
		expect(
			bad([
				{ min: 1, max: 2 },
				{ min: 0, max: 10 },
			]),
		).toThrow(new RangeError('watchTransport() `ports[1].min` must be a whole port number between 1 and 65535, got 0 (number)'));
		expect(bad({ min: 40_000, max: 70_000 })).toThrow(RangeError);
		expect(bad({ min: 40_100, max: 40_000 })).toThrow(
			new RangeError('watchTransport() `ports.min` must not be above `ports.max`, got min 40100 and max 40000'),
		);
		expect(bad({ webRtcServer: {} })).toThrow(
			new TypeError('watchTransport() `ports.webRtcServer` must be a mediasoup WebRtcServer (with a string `id`), got an Object'),
		);
		expect(watchdog.get(t.id)).toBeUndefined();
		expect(t.watchListenerCount()).toBe(0);
	});
});
