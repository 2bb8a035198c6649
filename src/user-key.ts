/**
 * The key per-user state is stored under: a user id must be a non-empty string or a finite number
 * (`NaN`, the usual result of a failed parse, would make every such user one user `"NaN"`).
 * Anything else is a `TypeError` naming the method (and `where`, appended as is), never a
 * failure inside `String()`.
 */
export function userKey(method: string, userId: unknown, where = ''): string {
	if ((typeof userId === 'string' && userId !== '') || (typeof userId === 'number' && Number.isFinite(userId))) {
		return String(userId);
	}
	const shown = userId === '' ? '""' : userId === null ? 'null' : typeof userId === 'number' ? String(userId) : typeof userId;
	throw new TypeError(`${method} \`userId\` must be a non-empty string or a finite number, got ${shown}${where}`);
}
