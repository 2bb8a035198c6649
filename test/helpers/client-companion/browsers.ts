// Chromium (playwright-core) and Firefox ESR (puppeteer-core, WebDriver BiDi) behind one small
// interface for the companion tests: open a page, evaluate an expression in it, close it.
import { launchChromium } from '../chromium/browser.js';
import { launchFirefox } from '../firefox/browser.js';

export type BrowserKind = 'chromium' | 'firefox';

export interface CompanionPage {
	/** Evaluates a JavaScript expression in the page (a promise is awaited) and returns its JSON value. */
	evaluate<T>(expression: string): Promise<T>;
	/** `page.close()` of the automation library (no beforeunload prompt). */
	close(): Promise<void>;
}

export interface CompanionBrowser {
	readonly kind: BrowserKind;
	/** mediasoup-client handler for this browser. */
	readonly handlerName: string;
	open(url: string): Promise<CompanionPage>;
	close(): Promise<void>;
}

export async function launchCompanionBrowser(kind: BrowserKind): Promise<CompanionBrowser> {
	if (kind === 'chromium') {
		const chromium = await launchChromium();
		return {
			kind,
			handlerName: 'Chrome111',
			async open(url) {
				const page = await chromium.context.newPage();
				await page.goto(url);
				return { evaluate: <T>(expression: string) => page.evaluate(expression) as Promise<T>, close: () => page.close() };
			},
			close: () => chromium.close(),
		};
	}
	const firefox = await launchFirefox();
	return {
		kind,
		handlerName: 'Firefox120',
		async open(url) {
			const page = await firefox.browser.newPage();
			await page.goto(url);
			return { evaluate: <T>(expression: string) => page.evaluate(expression) as Promise<T>, close: () => page.close() };
		},
		close: () => firefox.close(),
	};
}
