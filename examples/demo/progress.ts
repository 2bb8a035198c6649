// The demo's live progress: on a terminal one status line rewritten in place (elapsed time, how
// many scenarios are done, what each running one is doing); elsewhere (CI, a pipe) plain lines.
import { clearInterval, setInterval } from 'node:timers';

export interface ProgressOutput {
	readonly isTTY?: boolean;
	readonly columns?: number;
	write(text: string): unknown;
}

const REDRAW_MS = 200;

export class Progress {
	readonly #out: ProgressOutput;
	readonly #tty: boolean;
	readonly #origin = performance.now();
	readonly #running = new Map<string, string>();
	#done = 0;
	#total = 0;
	#timer: NodeJS.Timeout | undefined;
	#drawn = false;

	constructor(out: ProgressOutput, options: { tty?: boolean } = {}) {
		this.#out = out;
		this.#tty = options.tty ?? out.isTTY === true;
	}

	get tty(): boolean {
		return this.#tty;
	}

	start(total: number): void {
		this.#total = total;
		if (!this.#tty) return;
		this.#timer = setInterval(() => this.#draw(), REDRAW_MS);
		this.#timer.unref();
	}

	/** A scenario's current step. */
	status(scenario: string, text: string): void {
		this.#running.set(scenario, text);
		if (this.#tty) this.#draw();
		else this.#out.write(`[${this.#elapsed()}] ${scenario}: ${text}\n`);
	}

	/** A scenario finished: one permanent line. */
	finish(scenario: string, line: string): void {
		this.#running.delete(scenario);
		this.#done += 1;
		this.line(`[${this.#elapsed()}] ${scenario}: ${line}`);
	}

	/** A permanent line, above the status line on a terminal. */
	line(text: string): void {
		if (this.#tty) this.#clear();
		this.#out.write(`${text}\n`);
		if (this.#tty && this.#timer) this.#draw();
	}

	stop(): void {
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = undefined;
		if (this.#tty) this.#clear();
	}

	#elapsed(): string {
		return `${((performance.now() - this.#origin) / 1000).toFixed(1).padStart(5)} s`;
	}

	#draw(): void {
		const running = [...this.#running].map(([name, text]) => `${name}: ${text}`).join(' · ');
		const line = `⏱ ${this.#elapsed()} · ${this.#done}/${this.#total} done${running ? ` · ${running}` : ''}`;
		const columns = this.#out.columns ?? 0;
		const width = (columns >= 40 ? columns : 120) - 1;
		this.#out.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
		this.#drawn = true;
	}

	#clear(): void {
		if (!this.#drawn) return;
		this.#out.write('\r\x1b[2K');
		this.#drawn = false;
	}
}
