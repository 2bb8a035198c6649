// bindSession() with a real @fails-components/webtransport server and real clients over its HTTP/2
// transport (pure JS; its HTTP/3 transport needs a native build that cannot be done here), against
// real mediasoup transports. Also pins down how this library reports a lost session: it resolves
// `closed` (the W3C API rejects it), with the HTTP/2 RST_STREAM code as `closeCode`.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http2Server, WebTransport, type WebTransportSession } from '@fails-components/webtransport';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SessionBinding, Watchdog } from '../../src/index.js';
import { createWatchdog } from '../../src/watchdog.js';
import { useMediasoup } from '../helpers/mediasoup-fixture.js';
import { ClientProcesses, SIGNALING_ONLY_POLICY, transportsOf } from '../helpers/signaling.js';

let certificate: { cert: string; key: string; hash: string };
let folder: string;

beforeAll(() => {
	// A WebTransport certificate accepted by hash must be valid for at most 14 days: made fresh with
	// the openssl CLI (Node cannot create certificates). Fails loudly when openssl is missing.
	folder = mkdtempSync(join(tmpdir(), 'signaling-webtransport-'));
	const keyPath = join(folder, 'key.pem');
	const certPath = join(folder, 'cert.pem');
	execFileSync(
		'openssl',
		[
			'req',
			'-x509',
			'-newkey',
			'ec',
			'-pkeyopt',
			'ec_paramgen_curve:prime256v1',
			'-nodes',
			'-keyout',
			keyPath,
			'-out',
			certPath,
			'-days',
			'10',
			'-subj',
			'/CN=127.0.0.1',
			'-addext',
			'subjectAltName=IP:127.0.0.1',
		],
		{ stdio: 'pipe' },
	);
	const cert = readFileSync(certPath, 'utf8');
	certificate = { cert, key: readFileSync(keyPath, 'utf8'), hash: new X509Certificate(cert).fingerprint256.replaceAll(':', '') };
});

afterAll(() => {
	rmSync(folder, { recursive: true, force: true });
});

const sfu = useMediasoup();
let watchdog: Watchdog;
let server: Http2Server;
let url: string;
const children = new ClientProcesses();
const clients = new Set<WebTransport>();
/** Every server session, bound to 'alice' as it arrives, with what its `closed` settled with. */
const sessions: Array<{ session: WebTransportSession; binding: SessionBinding; settled: Promise<unknown> }> = [];
let nextSession: (() => void) | undefined;

beforeEach(async () => {
	watchdog = createWatchdog(SIGNALING_ONLY_POLICY);
	server = new Http2Server({
		port: 0,
		host: '127.0.0.1',
		secret: 'signaling-test',
		cert: certificate.cert,
		privKey: certificate.key,
	});
	server.startServer();
	await server.ready;
	const address = server.address() as { port: number } | null;
	if (!address) throw new Error('the WebTransport HTTP/2 server did not listen');
	url = `https://127.0.0.1:${address.port}/signal`;
	void acceptSessions(server.sessionStream('/signal').getReader());
});

async function acceptSessions(reader: ReadableStreamDefaultReader<WebTransportSession>): Promise<void> {
	for (;;) {
		const { value: session, done } = await reader.read();
		if (done || !session) return;
		await session.ready;
		const settled = session.closed.then(
			(value: unknown) => ({ resolved: value }),
			(error: unknown) => ({ rejected: error }),
		);
		sessions.push({ session, binding: watchdog.bindSession('alice', session), settled });
		nextSession?.();
	}
}

afterEach(async () => {
	children.killAll();
	for (const client of clients) {
		try {
			client.close();
		} catch {}
	}
	clients.clear();
	sessions.length = 0;
	watchdog.stop();
	server.stopServer();
});

/** Resolves once the server has bound one more session. */
function sessionBound(): Promise<void> {
	const count = sessions.length;
	return new Promise((resolve) => {
		nextSession = () => {
			if (sessions.length > count) resolve();
		};
	});
}

async function client(): Promise<WebTransport> {
	const bound = sessionBound();
	const transport = new WebTransport(url, {
		serverCertificateHashes: [{ algorithm: 'sha-256', value: Buffer.from(certificate.hash, 'hex') }],
		forceReliable: true,
	} as ConstructorParameters<typeof WebTransport>[1]);
	clients.add(transport);
	transport.closed.catch(() => {});
	await transport.ready;
	await bound;
	return transport;
}

/** A WebTransport client in its own process, so that it can be killed. Resolves once bound. */
async function childClient(): Promise<ChildProcess> {
	const bound = sessionBound();
	const code = `
		import { WebTransport } from '@fails-components/webtransport';
		const transport = new WebTransport(${JSON.stringify(url)}, {
			serverCertificateHashes: [{ algorithm: 'sha-256', value: Buffer.from(${JSON.stringify(certificate.hash)}, 'hex') }],
			forceReliable: true,
		});
		transport.closed.catch(() => {});
		await transport.ready;
		process.stdout.write('ready\\n');
		setInterval(() => {}, 1 << 30);
	`;
	const child = await children.start(code, { ready: 'ready', what: 'WebTransport client', stderr: 'ignore' });
	await bound;
	return child;
}

describe('a real WebTransport session (@fails-components/webtransport, HTTP/2) bound with bindSession()', () => {
	it('closes both transports with signaling-closed at once when the client closes the session', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const transport = await client();
		const at = performance.now();
		transport.close({ closeCode: 0, reason: 'bye' });
		const infos = await Promise.all(watched.map((w) => w.closed));
		const latency = Math.max(...infos.map((info) => info.at - at));
		console.info(`[signaling-webtransport] client close() → both transports closed after ${latency.toFixed(1)} ms`);
		expect(await sessions[0]?.settled).toEqual({ resolved: { closeCode: 0, reason: 'bye' } });
		for (const info of infos) {
			expect(info).toMatchObject({
				reason: 'signaling-closed',
				clean: true,
				detail: 'WebTransport session closed (closeCode:0, reason:bye)',
			});
		}
		expect(latency).toBeLessThan(200);
	});

	it('reads an application close code with a reason as clean', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const transport = await client();
		transport.close({ closeCode: 4001, reason: 'left the call' });
		expect((await watched[0]?.closed)?.reason).toBe('signaling-closed');
		expect(sessions[0]?.binding.end).toMatchObject({ kind: 'webtransport', code: 4001, reason: 'left the call', clean: true });
	});

	it('resolves (not rejects) `closed` with closeCode 8 when the client is killed, which the watchdog reads as lost', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const child = await childClient();
		const at = performance.now();
		child.kill('SIGKILL');
		const settled = await sessions[0]?.settled;
		const seenAfter = performance.now() - at;
		const infos = await Promise.all(watched.map((w) => w.closed));
		const after = Math.min(...infos.map((info) => info.at - at));
		console.info(
			`[signaling-webtransport] SIGKILL → closed settled ${JSON.stringify(settled)} after ${seenAfter.toFixed(0)} ms → signaling-lost after ${after.toFixed(0)} ms`,
		);
		// The library's deviation from the W3C API: a lost session resolves `closed`.
		expect(settled).toEqual({ resolved: { closeCode: 8, reason: '' } });
		expect(sessions[0]?.binding.end).toMatchObject({ code: 8, reason: '', clean: false });
		for (const info of infos) {
			expect(info).toMatchObject({
				reason: 'signaling-lost',
				clean: false,
				detail: 'WebTransport session lost (closeCode:8); no new session bound within 1000 ms',
			});
		}
		expect(after).toBeGreaterThanOrEqual(1_000);
		expect(after).toBeLessThan(1_500);
	});

	it('keeps the transports when the client opens a new session within the grace', async () => {
		const watched = await transportsOf(watchdog, sfu.router, 'alice');
		const child = await childClient();
		child.kill('SIGKILL');
		await sessions[0]?.settled;
		const lostAt = performance.now();
		await client();
		console.info(`[signaling-webtransport] new session bound ${(performance.now() - lostAt).toFixed(0)} ms after the loss`);
		expect(sessions[0]?.binding.state).toBe('replaced');
		await new Promise((resolve) => setTimeout(resolve, 1_500));
		for (const { watch, transport } of watched) {
			expect(watch.state).toBe('connecting');
			expect(transport.closed).toBe(false);
		}
	});
});
