// A real GStreamer webrtcbin peer (Debian GStreamer 1.22, libnice 0.1.21) in its own Python child
// process (client.py, JSON lines over stdin/stdout), connected to a server-side mediasoup
// WebRtcTransport without mediasoup-client: webrtcbin offers, the server answers as ICE-Lite with
// `a=setup:passive` (sdp.ts) and `transport.connect()` gets webrtcbin's fingerprint, role 'client'.
// The tests can SIGKILL it (a vanished client), hang it up (pipeline to NULL: no DTLS close_notify;
// measured, no RTCP BYE either) or mute it (RTP stops, RTCP goes on).
//
//   const client = await startGstreamerClient({ kind: 'data', createTransport: () => … });
//   ... client.transport is connected (DTLS, SCTP, webrtcbin) when it resolves
//   afterEach(() => closeAllGstreamerClients());
//
// A client that fails to start is a harness failure, never a verdict: the start is tried once more
// on a fresh transport, and a second failure throws GstreamerHarnessError.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { types } from 'mediasoup';
import type { ChildToParent, ClientEvent, ClientStateSnapshot, RpcMethod, RpcMethods } from './protocol.js';
import { buildGstAnswer, parseGstOffer, type ServerSide } from './sdp.js';

const CHILD_SCRIPT = fileURLToPath(new URL('./client.py', import.meta.url));
/** Debian's interpreter: python3-gi is installed for it, not for a pyenv or venv python earlier on PATH. */
export const GSTREAMER_PYTHON = '/usr/bin/python3';
const OUTPUT_LINES_KEPT = 200;
const OPUS_PT = 100;

/**
 * Start-up measured here, one client alone on an idle 2-core machine: Python + GI + Gst.init ready in
 * ~0.25 s (spawn to 'ready' ~0.3 s), offer ~20 ms, answer to DTLS+SCTP connected ~40–70 ms. Eight
 * clients started together beside a running worker: up to ~1.5 s to ready. The limits are 10× the
 * loaded figures and stretch with the load average beyond one per core.
 */
const MEASURED_MS = { ready: 1_500, step: 500, connect: 1_000 } as const;
const LIMIT_FACTOR = 10;

/** The limit for one start-up step: LIMIT_FACTOR × its measured time, longer on a loaded machine. */
export function startLimitMs(step: keyof typeof MEASURED_MS): number {
	const load = Math.max(1, (loadavg()[0] ?? 0) / Math.max(1, cpus().length));
	return Math.round(MEASURED_MS[step] * LIMIT_FACTOR * load);
}

/** The client could not be started (twice): a fault of the test set-up, not of the code under test. */
export class GstreamerHarnessError extends Error {
	override name = 'GstreamerHarnessError';
}

/**
 * - `data`: one negotiated DataChannel (id 0), nothing else.
 * - `recv`: one receive-only audio transceiver; the server consumes `consume` on it if given (a
 *   producer that sends nothing makes a silent consumer), else nothing (answered sendonly, no SSRC).
 * - `send`: audiotestsrc → opusenc → rtpopuspay → valve → webrtcbin; the harness makes the matching
 *   server-side Producer (`client.producer`).
 */
export type GstreamerKind = 'data' | 'recv' | 'send';

export interface GstreamerClientOptions {
	kind: GstreamerKind;
	/**
	 * Makes the server-side transport for one attempt (`enableSctp: true` for `data`); called again
	 * for the retry, after the failed attempt's transport was closed.
	 */
	createTransport: () => Promise<types.WebRtcTransport>;
	/** `recv` only: the producer the server consumes for this client. */
	consume?: types.Producer;
	/** `GST_DEBUG` for the child; its stderr is kept in `output()`. */
	gstDebug?: string;
}

export interface HangupOptions {
	/**
	 * Send EOS into the pipeline `eosWaitMs` before setting it to NULL (default true), as an app ending
	 * its stream first: the encoder's last RTP packet goes out. Measured on GStreamer 1.22 (the RTP
	 * session's on-sending-rtcp, measure-hangup.ts): no RTCP BYE follows, even 3 s after the EOS.
	 * false: straight to NULL, which sends nothing at all.
	 */
	eos?: boolean;
	/** How long after the EOS the pipeline goes to NULL, in ms (default 300). */
	eosWaitMs?: number;
}

/** Milliseconds spent in each start-up step of the attempt that succeeded. */
export interface StartTimings {
	/** Spawn until the child said ready (Python, GI, Gst.init). */
	readyMs: number;
	/** Pipeline, PLAYING, offer (and the server producer/consumer). */
	offerMs: number;
	/** transport.connect(), the answer, until DTLS (and SCTP) and webrtcbin are connected. */
	connectMs: number;
	totalMs: number;
	/** 1 or 2. */
	attempts: number;
	/** What the failed first attempt said, if any. */
	firstFailure?: string;
}

export interface GstreamerClient {
	readonly kind: GstreamerKind;
	readonly pid: number;
	/** Connected when `startGstreamerClient()` resolves. */
	readonly transport: types.WebRtcTransport;
	/** `send`: the server-side producer of webrtcbin's audio. */
	readonly producer: types.Producer | undefined;
	/** `recv` with `consume`: the server-side consumer. */
	readonly consumer: types.Consumer | undefined;
	readonly timings: StartTimings;
	readonly clientEvents: readonly ClientEvent[];
	readonly exited: boolean;
	/** Stops (true) or resumes RTP at the valve after the encoder; RTCP goes on. */
	mute(muted: boolean): Promise<RpcMethods['mute']['result']>;
	/** Pipeline to NULL (the child stays up), by default 300 ms after an EOS: no DTLS close_notify, and (measured) no RTCP BYE. */
	hangup(options?: HangupOptions): Promise<void>;
	state(): Promise<ClientStateSnapshot>;
	/** SIGKILL: the peer vanishes without a word. */
	kill(): void;
	/** Pipeline to NULL and exit (SIGKILL if it does not). Idempotent. */
	close(): Promise<void>;
	output(): string;
}

/** One line of a client's start-up figures, for the test log. */
export function startSummary(client: GstreamerClient): string {
	const t = client.timings;
	const retry = t.attempts > 1 ? `, 2 attempts (first: ${t.firstFailure?.split('\n')[0]})` : '';
	return `started in ${t.totalMs.toFixed(0)} ms (ready ${t.readyMs.toFixed(0)}, offer ${t.offerMs.toFixed(0)}, connect ${t.connectMs.toFixed(0)})${retry}`;
}

const liveClients = new Set<Child>();

/** Closes every client this module started that is still around (use in `afterEach`). */
export async function closeAllGstreamerClients(): Promise<void> {
	await Promise.all([...liveClients].map((client) => client.close()));
}

/**
 * Spawns a webrtcbin peer and connects it to a transport from `createTransport`; resolves once the
 * server's DTLS (and SCTP, for `data`) and webrtcbin's connection-state are 'connected'. Tries a
 * second time on a fresh transport if the first attempt fails; then throws GstreamerHarnessError.
 */
export async function startGstreamerClient(options: GstreamerClientOptions): Promise<GstreamerClient> {
	if (!existsSync(GSTREAMER_PYTHON)) {
		throw new GstreamerHarnessError(`${GSTREAMER_PYTHON} not found: install python3-gi and the GStreamer packages`);
	}
	let firstFailure: string | undefined;
	for (let attempt = 1; attempt <= 2; attempt++) {
		const transport = await options.createTransport();
		const child = new Child(options.kind, transport, options.gstDebug);
		try {
			await child.start(options);
			child.timings.attempts = attempt;
			if (firstFailure !== undefined) child.timings.firstFailure = firstFailure;
			return child;
		} catch (error) {
			const message = error instanceof Error ? error.message : String(error);
			await child.close();
			if (!transport.closed) transport.close();
			if (attempt === 2) {
				throw new GstreamerHarnessError(
					`GStreamer ${options.kind} client failed to start twice (a harness failure, not a verdict)\n` +
						`first: ${firstFailure}\nsecond: ${message}`,
					{ cause: error },
				);
			}
			firstFailure = message;
			console.warn(`[gstreamer harness] ${options.kind} client failed to start, retrying once: ${message}`);
		}
	}
	throw new Error('unreachable');
}

interface Pending {
	method: RpcMethod;
	resolve: (result: unknown) => void;
	reject: (error: Error) => void;
	timer: NodeJS.Timeout;
}

class Child implements GstreamerClient {
	readonly kind: GstreamerKind;
	readonly transport: types.WebRtcTransport;
	producer: types.Producer | undefined;
	consumer: types.Consumer | undefined;
	timings: StartTimings = { readyMs: 0, offerMs: 0, connectMs: 0, totalMs: 0, attempts: 1 };
	readonly clientEvents: ClientEvent[] = [];

	readonly #child: ChildProcess;
	readonly #pending = new Map<number, Pending>();
	readonly #lines: string[] = [];
	readonly #exit: Promise<void>;
	#exitInfo: string | undefined;
	#nextId = 1;
	#stdoutRest = '';
	#ready: { resolve: () => void; reject: (error: Error) => void } | undefined;
	#isReady = false;
	#closing: Promise<void> | undefined;

	constructor(kind: GstreamerKind, transport: types.WebRtcTransport, gstDebug: string | undefined) {
		this.kind = kind;
		this.transport = transport;
		this.#child = spawn(GSTREAMER_PYTHON, ['-u', CHILD_SCRIPT], {
			stdio: ['pipe', 'pipe', 'pipe'],
			env: { ...process.env, GST_DEBUG: gstDebug ?? '', PYTHONDONTWRITEBYTECODE: '1' },
		});
		liveClients.add(this);
		this.#child.stdout?.setEncoding('utf8');
		this.#child.stdout?.on('data', (chunk: string) => this.#onStdout(chunk));
		this.#child.stderr?.setEncoding('utf8');
		this.#child.stderr?.on('data', (chunk: string) => this.#record(chunk));
		this.#child.stdin?.on('error', () => {}); // EPIPE after a kill: the exit handler reports it
		this.#child.on('error', (error) => this.#record(`[harness] child process error: ${error.message}\n`));
		this.#exit = new Promise((resolve) => {
			this.#child.once('exit', (code, signal) => {
				this.#exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
				for (const [id, pending] of this.#pending) {
					this.#pending.delete(id);
					clearTimeout(pending.timer);
					pending.reject(this.#decorate(`child ${this.#exitInfo} during '${pending.method}'`));
				}
				this.#ready?.reject(this.#decorate(`child ${this.#exitInfo} before it was ready`));
				resolve();
			});
		});
	}

	get pid(): number {
		const { pid } = this.#child;
		if (pid === undefined) throw new Error('GStreamer child has no pid (spawn failed)');
		return pid;
	}

	get exited(): boolean {
		return this.#exitInfo !== undefined;
	}

	async start(options: GstreamerClientOptions): Promise<void> {
		const started = performance.now();
		await this.#waitReady(startLimitMs('ready'));
		const ready = performance.now();

		const transport = this.transport;
		const ssrc = 10_000_000 + Math.floor(Math.random() * 1_000_000_000);
		const { sdp: offerSdp } = await this.#call(
			'offer',
			{
				data: this.kind === 'data',
				...(this.kind === 'data' ? {} : { audio: this.kind }),
				payloadType: OPUS_PT,
				...(this.kind === 'send' ? { ssrc } : {}),
			},
			startLimitMs('step'),
		);
		const offer = parseGstOffer(offerSdp);
		const server: ServerSide = {
			iceParameters: transport.iceParameters,
			iceCandidates: transport.iceCandidates,
			dtlsParameters: transport.dtlsParameters,
			sctpParameters: transport.sctpParameters,
			payloadType: OPUS_PT,
		};
		if (this.kind === 'send') {
			this.producer = await transport.produce({ kind: 'audio', rtpParameters: opusSendParameters(offer.media, ssrc) });
		}
		if (this.kind === 'recv' && options.consume) {
			const consumer = await transport.consume({
				producerId: options.consume.id,
				rtpCapabilities: {
					codecs: [
						{
							kind: 'audio',
							mimeType: 'audio/opus',
							preferredPayloadType: OPUS_PT,
							clockRate: 48_000,
							channels: 2,
							rtcpFeedback: [],
						},
					],
					headerExtensions: [],
				},
			});
			this.consumer = consumer;
			const encoding = consumer.rtpParameters.encodings?.[0];
			const codec = consumer.rtpParameters.codecs[0];
			if (encoding?.ssrc === undefined || codec?.payloadType !== OPUS_PT) {
				throw new Error(`unexpected consumer rtpParameters: ${JSON.stringify(consumer.rtpParameters)}`);
			}
			server.consumer = { ssrc: encoding.ssrc, cname: consumer.rtpParameters.rtcp?.cname ?? 'mediasoup', id: consumer.id };
		}
		const offered = performance.now();

		// The answer says a=setup:passive (the server is the DTLS server), so webrtcbin is the client.
		await transport.connect({ dtlsParameters: { role: 'client', fingerprints: [offer.fingerprint] } });
		const { dtlsRole } = await this.#call('answer', { sdp: buildGstAnswer(offer, server) }, startLimitMs('step'));
		if (dtlsRole !== 'client') {
			throw new Error(`webrtcbin took DTLS role '${dtlsRole}' from the answer, but the server was told 'client'`);
		}
		await this.#waitConnected(startLimitMs('connect'));
		const done = performance.now();
		this.timings = {
			readyMs: ready - started,
			offerMs: offered - ready,
			connectMs: done - offered,
			totalMs: done - started,
			attempts: 1,
		};
	}

	async #waitConnected(limitMs: number): Promise<void> {
		const deadline = performance.now() + limitMs;
		const wantSctp = this.kind === 'data';
		for (;;) {
			const dtls = this.transport.dtlsState;
			const sctp = this.transport.sctpState;
			const client = this.#clientState('connection-state');
			if (dtls === 'connected' && (!wantSctp || sctp === 'connected') && client === 'connected') return;
			if (dtls === 'failed' || dtls === 'closed' || this.transport.closed) {
				throw this.#decorate(`server DTLS went '${dtls}' (transport closed: ${this.transport.closed})`);
			}
			if (this.exited) throw this.#decorate('child exited before connecting');
			if (performance.now() > deadline) {
				throw this.#decorate(
					`not connected within ${limitMs} ms: server ice=${this.transport.iceState} dtls=${dtls} sctp=${sctp}, webrtcbin=${client}`,
				);
			}
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
	}

	#clientState(name: string): string {
		for (let i = this.clientEvents.length - 1; i >= 0; i--) {
			const event = this.clientEvents[i];
			if (event?.type === 'state' && event.name === name) return event.state;
		}
		return 'new';
	}

	#waitReady(limitMs: number): Promise<void> {
		if (this.#isReady) return Promise.resolve();
		if (this.exited) return Promise.reject(this.#decorate(`child ${this.#exitInfo} before it was ready`));
		return new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#ready = undefined;
				reject(this.#decorate(`child not ready within ${limitMs} ms`));
			}, limitMs);
			this.#ready = {
				resolve: () => {
					clearTimeout(timer);
					this.#ready = undefined;
					resolve();
				},
				reject: (error) => {
					clearTimeout(timer);
					this.#ready = undefined;
					reject(error);
				},
			};
		});
	}

	#onStdout(chunk: string): void {
		const lines = (this.#stdoutRest + chunk).split('\n');
		this.#stdoutRest = lines.pop() ?? '';
		for (const line of lines) {
			if (!line.trim()) continue;
			let message: ChildToParent;
			try {
				message = JSON.parse(line) as ChildToParent;
			} catch {
				this.#record(`[stdout] ${line}\n`);
				continue;
			}
			this.#onMessage(message);
		}
	}

	#onMessage(message: ChildToParent): void {
		switch (message.kind) {
			case 'ready':
				this.#record(`[harness] child ready: ${message.gstreamer}, ${message.startMs} ms to import and init\n`);
				this.#isReady = true;
				this.#ready?.resolve();
				return;
			case 'event':
				this.clientEvents.push(message.event);
				if (message.event.type === 'fault' || message.event.type === 'warning') {
					this.#record(`[${message.event.type}] ${message.event.message}\n`);
				}
				return;
			case 'result':
			case 'error': {
				const pending = this.#pending.get(message.id);
				if (!pending) return;
				this.#pending.delete(message.id);
				clearTimeout(pending.timer);
				if (message.kind === 'result') pending.resolve(message.result);
				else pending.reject(this.#decorate(`'${pending.method}' failed in the child: ${message.message}`));
			}
		}
	}

	#record(chunk: string): void {
		this.#lines.push(...chunk.split('\n').filter((line) => line.length > 0));
		if (this.#lines.length > OUTPUT_LINES_KEPT) this.#lines.splice(0, this.#lines.length - OUTPUT_LINES_KEPT);
	}

	output(): string {
		return this.#lines.join('\n');
	}

	#decorate(message: string): Error {
		const output = this.output();
		return new Error(
			`GStreamer ${this.kind} client (pid ${this.#child.pid ?? '?'}, ${this.#exitInfo ?? 'running'}): ${message}` +
				(output ? `\n--- child output (last ${OUTPUT_LINES_KEPT} lines) ---\n${output}` : ''),
		);
	}

	#call<M extends RpcMethod>(method: M, params: RpcMethods[M]['params'], limitMs: number): Promise<RpcMethods[M]['result']> {
		if (this.exited) return Promise.reject(this.#decorate(`cannot call '${method}': child ${this.#exitInfo}`));
		const id = this.#nextId++;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#pending.delete(id);
				reject(this.#decorate(`'${method}' got no answer within ${limitMs} ms`));
			}, limitMs);
			this.#pending.set(id, { method, resolve: resolve as (result: unknown) => void, reject, timer });
			this.#child.stdin?.write(`${JSON.stringify({ id, method, params })}\n`);
		});
	}

	mute(muted: boolean): Promise<RpcMethods['mute']['result']> {
		return this.#call('mute', { muted }, startLimitMs('step'));
	}

	async hangup(options: HangupOptions = {}): Promise<void> {
		const eosWaitMs = options.eosWaitMs ?? 300;
		await this.#call('hangup', { eos: options.eos ?? true, eosWaitMs }, startLimitMs('step') + eosWaitMs);
	}

	state(): Promise<ClientStateSnapshot> {
		return this.#call('state', {}, startLimitMs('step'));
	}

	kill(): void {
		if (this.exited) throw this.#decorate(`cannot SIGKILL: child already ${this.#exitInfo}`);
		this.#child.kill('SIGKILL');
	}

	close(): Promise<void> {
		this.#closing ??= this.#close();
		return this.#closing;
	}

	async #close(): Promise<void> {
		if (!this.exited) {
			await this.#call('close', {}, 2_000).catch(() => this.#child.kill('SIGKILL'));
			const timer = setTimeout(() => this.#child.kill('SIGKILL'), 2_000);
			await this.#exit;
			clearTimeout(timer);
		}
		if (this.consumer && !this.consumer.closed) this.consumer.close();
		if (this.producer && !this.producer.closed) this.producer.close();
		liveClients.delete(this);
	}
}

/** The server-side Producer's rtpParameters for webrtcbin's Opus stream (SSRC fixed by the harness). */
function opusSendParameters(media: ReturnType<typeof parseGstOffer>['media'], ssrc: number): types.RtpParameters {
	const audio = media.find((m) => m.kind === 'audio');
	if (audio?.direction !== 'sendonly') throw new Error(`webrtcbin offered no sendonly audio: ${JSON.stringify(media)}`);
	return {
		mid: audio.mid,
		codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48_000, channels: 2, parameters: {}, rtcpFeedback: [] }],
		headerExtensions: [],
		encodings: [{ ssrc }],
		rtcp: { cname: 'gstreamer', reducedSize: true },
	};
}
