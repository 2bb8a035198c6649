// PLACEHOLDER — the Redis store (issue 7) replaces this file.
export {};
