// Node module hooks for the `mediasoup-3.27` test project's child processes (the demo, SFU nodes):
// `mediasoup` and `mediasoup/…` resolve to the `mediasoup-latest` devDependency (3.27.1), as the
// vitest alias does inside the tests. vitest.config.ts puts `--import <this file>` in NODE_OPTIONS
// for that project only. The same file is the hooks module (loaded again with `?hooks`).
import { register } from 'node:module';

export async function resolve(specifier, context, nextResolve) {
	if (specifier === 'mediasoup' || specifier.startsWith('mediasoup/')) {
		return nextResolve(`mediasoup-latest${specifier.slice('mediasoup'.length)}`, context);
	}
	return nextResolve(specifier, context);
}

if (!import.meta.url.endsWith('?hooks')) register(`${import.meta.url}?hooks`);
