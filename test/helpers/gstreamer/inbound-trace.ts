// The gaps between growths of a transport's bytesReceived (what the worker counts of what the client
// sends), sampled by the test itself, so a verdict can be held against what the client really did.
import type { types } from 'mediasoup';

export const TRACE_SAMPLE_MS = 500;

export class InboundTrace {
	readonly #transport: types.WebRtcTransport;
	readonly #timer: NodeJS.Timeout;
	#lastBytes: number | undefined;
	#lastGrowthAt = performance.now();
	#stoppedAt: number | undefined;
	/** Milliseconds between successive growths of bytesReceived, the first counted from the start. */
	readonly gapsMs: number[] = [];

	constructor(transport: types.WebRtcTransport) {
		this.#transport = transport;
		this.#timer = setInterval(() => void this.#sample().catch(() => this.stop()), TRACE_SAMPLE_MS);
	}

	async #sample(): Promise<void> {
		if (this.#transport.closed) return this.stop();
		const at = performance.now();
		const bytes = (await this.#transport.getStats())[0]?.bytesReceived;
		if (bytes === undefined) return;
		if (this.#lastBytes !== undefined && bytes > this.#lastBytes) {
			this.gapsMs.push(Math.round(at - this.#lastGrowthAt));
			this.#lastGrowthAt = at;
		}
		this.#lastBytes = bytes;
	}

	/** The longest gap so far, the silence running until now (or until stop()) included. */
	get longestGapMs(): number {
		return Math.max(0, ...this.gapsMs, Math.round((this.#stoppedAt ?? performance.now()) - this.#lastGrowthAt));
	}

	summary(): string {
		return `inbound gaps [${this.gapsMs.join(', ')}] ms, longest ${this.longestGapMs} ms`;
	}

	stop(): void {
		clearInterval(this.#timer);
		this.#stoppedAt ??= performance.now();
	}
}
