/**
 * The key per-user state is stored under: a user id must be a non-empty string or a number.
 * Anything else is a `TypeError` naming the method, never a failure inside `String()`.
 */
export function userKey(method: string, userId: unknown): string {
	if ((typeof userId === 'string' && userId !== '') || typeof userId === 'number') return String(userId);
	const shown = userId === '' ? '""' : userId === null ? 'null' : typeof userId;
	throw new TypeError(`${method} \`userId\` must be a non-empty string or a number, got ${shown}`);
}
