// The demo's scenarios as plain data: names, clients and expected verdicts. No imports of
// mediasoup or the harnesses here, so `--help` answers at once.

/** Which real client a scenario drives. */
export type ClientKind = 'chromium' | 'werift';

/**
 * What a scenario ends with: a close reason (`inactive`, `dtls-closed`…), `connected` (still
 * connected at the end of the hold), `reconnected` (a granted ICE restart was followed) or
 * `denied:<reason>` (an ICE restart refused by the gate).
 */
export type Verdict = string;

export interface ScenarioInfo {
	readonly name: string;
	readonly client: ClientKind;
	/** One line for `--help` and the timeline. */
	readonly summary: string;
	readonly expected: Verdict;
	/** For a close: the `CloseInfo.clean` it must carry (an intentional end or not). */
	readonly expectedClean?: boolean;
}

export const SCENARIOS: readonly ScenarioInfo[] = [
	{
		name: 'healthy-call',
		client: 'chromium',
		summary: 'Chromium sends and receives audio+video for a while; nothing may close it',
		expected: 'connected',
	},
	{
		name: 'never-connected',
		client: 'chromium',
		summary: 'the page gets its transport parameters but never connects: self-destructs at the deadline',
		expected: 'connect-timeout',
		expectedClean: false,
	},
	{
		name: 'clean-hangup',
		client: 'chromium',
		summary: 'mediasoup-client transport.close() in the page: DTLS close_notify',
		expected: 'dtls-closed',
		expectedClean: true,
	},
	{
		name: 'tab-closed-bound',
		client: 'chromium',
		summary: 'the tab closes while its signaling WebSocket is bound with bindSession()',
		expected: 'signaling-closed',
		expectedClean: true,
	},
	{
		name: 'tab-closed-unbound',
		client: 'chromium',
		summary: 'the tab closes, no WebSocket bound: nothing reaches mediasoup, only silence',
		expected: 'inactive',
		expectedClean: false,
	},
	{
		name: 'browser-killed',
		client: 'chromium',
		summary: 'every Chromium process gets SIGKILL (no WebSocket bound)',
		expected: 'inactive',
		expectedClean: false,
	},
	{
		name: 'restart-granted',
		client: 'chromium',
		summary: 'watch.restartIce() is granted; the page applies the new ICE parameters and reconnects',
		expected: 'reconnected',
	},
	{
		name: 'restart-before-connect',
		client: 'chromium',
		summary: 'an ICE restart is asked for before the transport ever connected',
		expected: 'denied:never-connected',
	},
	{
		name: 'restart-rate-limited',
		client: 'werift',
		summary: 'a werift peer restarts ICE twice in a row: the second one exceeds the per-user limit',
		expected: 'denied:rate-limited',
	},
	{
		name: 'restart-not-followed',
		client: 'werift',
		summary: 'a restart is granted but the werift peer never sends checks with the new credentials',
		expected: 'restart-timeout',
		expectedClean: false,
	},
];

export function scenarioNamed(name: string): ScenarioInfo | undefined {
	return SCENARIOS.find((scenario) => scenario.name === name);
}
