/**
 * The key per-user state is stored under: a user id must be a non-empty string or a finite number
 * (`NaN`, the usual result of a failed parse, would make every such user one user `"NaN"`).
 * Anything else is a `TypeError` naming the method, never a failure inside `String()`.
 */
export function userKey(method: string, userId: unknown): string {
	if (isUserId(userId)) return String(userId);
	throw new TypeError(`${method} \`userId\` must be a non-empty string or a finite number, got ${showUserId(userId)}`);
}

export function isUserId(userId: unknown): userId is string | number {
	return (typeof userId === 'string' && userId !== '') || (typeof userId === 'number' && Number.isFinite(userId));
}

/** How a refused user id is shown in an error: its value when that is safe to print, else its type. */
export function showUserId(userId: unknown): string {
	if (userId === '') return '""';
	if (userId === null) return 'null';
	return typeof userId === 'number' ? String(userId) : typeof userId;
}
