// The port budget in Prometheus: each range of snapshot().ports.ranges as port_range_* gauges
// (labels worker, protocol, address, range), summed over watchdogs; WebRtcServer transports as
// webrtc_server_transports; series gone once no watched transport holds a port of the range.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerPrometheusMetrics } from '../../src/adapters/prometheus.js';
import { FakeWorker } from '../helpers/fake-transport.js';
import { transportWithCandidates, udpTcp, useWatchdogs } from '../helpers/port-candidates.js';
import { samples } from '../helpers/prometheus-samples.js';

const newWatchdog = useWatchdogs();

describe('registerPrometheusMetrics(): the port budget', () => {
	it('exports each range per worker, protocol and address, summed over watchdogs, and each WebRtcServer', async () => {
		const [one, two] = [newWatchdog(), newWatchdog()];
		const worker = Object.assign(new FakeWorker(), { pid: 31 });
		const range = { min: 40_000, max: 40_009 };
		one.watch(transportWithCandidates(udpTcp(40_000, 40_001)), { worker, ports: range });
		two.watch(transportWithCandidates(udpTcp(40_002, 40_003)), { worker, ports: range });
		const closing = two.watch(transportWithCandidates([{ protocol: 'udp', port: 40_004, ip: '10.0.0.1' }]), {
			worker,
			ports: range,
		});
		two.watch(transportWithCandidates(udpTcp(3_478, 3_478)), { worker, ports: { webRtcServer: { id: 'srv' } } });
		const registry = new Registry();
		const metrics = registerPrometheusMetrics([one, two], { registry });
		const labels = (protocol: string) => `{worker="31",protocol="${protocol}",address="10.0.0.1",range="40000-40009"}`;
		let scrape = samples(await registry.metrics());
		expect(scrape.get(`mediasoup_watchdog_port_range_ports${labels('udp')}`)).toBe(10);
		expect(scrape.get(`mediasoup_watchdog_port_range_taken_ports${labels('udp')}`)).toBe(3);
		expect(scrape.get(`mediasoup_watchdog_port_range_usage_ratio${labels('udp')}`)).toBeCloseTo(0.3, 10);
		expect(scrape.get(`mediasoup_watchdog_port_range_transports${labels('udp')}`)).toBe(3);
		expect(scrape.get(`mediasoup_watchdog_port_range_taken_ports${labels('tcp')}`)).toBe(2);
		expect(scrape.get(`mediasoup_watchdog_port_range_usage_ratio${labels('tcp')}`)).toBeCloseTo(0.2, 10);
		expect(scrape.get('mediasoup_watchdog_webrtc_server_transports{worker="31",server="srv"}')).toBe(1);

		closing.close();
		scrape = samples(await registry.metrics());
		expect(scrape.get(`mediasoup_watchdog_port_range_taken_ports${labels('udp')}`)).toBe(2);
		one.stop();
		two.stop();
		scrape = samples(await registry.metrics());
		expect(
			[...scrape.keys()].filter((k) => k.startsWith('mediasoup_watchdog_port_range') || k.includes('webrtc_server')),
		).toEqual([]);
		metrics.unregister();
	});
});
