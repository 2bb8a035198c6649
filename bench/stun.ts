// A minimal ICE controlling agent: STUN Binding requests (RFC 5389/8445) with USE-CANDIDATE,
// enough to bring a mediasoup WebRtcTransport to ICE 'completed' and to send consent checks.
import { createHmac, randomBytes } from 'node:crypto';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
	let c = n;
	for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
	return c >>> 0;
});

function crc32(buf: Buffer): number {
	let c = 0xffffffff;
	for (const b of buf) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

export interface StunCredentials {
	/** The server's ICE ufrag (mediasoup's `iceParameters.usernameFragment`). */
	readonly remoteUfrag: string;
	readonly localUfrag: string;
	/** The server's ICE password. */
	readonly password: string;
}

/** A STUN Binding request with USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY, FINGERPRINT. */
export function stunBindingRequest({ remoteUfrag, localUfrag, password }: StunCredentials): Buffer {
	const attrs: Buffer[] = [];
	const attr = (type: number, value: Buffer): void => {
		const b = Buffer.alloc(4 + value.length + ((4 - (value.length % 4)) % 4));
		b.writeUInt16BE(type, 0);
		b.writeUInt16BE(value.length, 2);
		value.copy(b, 4);
		attrs.push(b);
	};
	attr(0x0006, Buffer.from(`${remoteUfrag}:${localUfrag}`));
	const priority = Buffer.alloc(4);
	priority.writeUInt32BE(1853824767, 0);
	attr(0x0024, priority);
	attr(0x802a, randomBytes(8));
	attr(0x0025, Buffer.alloc(0));
	const header = Buffer.alloc(20);
	header.writeUInt16BE(0x0001, 0);
	header.writeUInt32BE(0x2112a442, 4);
	randomBytes(12).copy(header, 8);
	let body = Buffer.concat(attrs);
	header.writeUInt16BE(body.length + 24, 2);
	const integrity = createHmac('sha1', password)
		.update(Buffer.concat([header, body]))
		.digest();
	const integrityAttr = Buffer.alloc(24);
	integrityAttr.writeUInt16BE(0x0008, 0);
	integrityAttr.writeUInt16BE(20, 2);
	integrity.copy(integrityAttr, 4);
	body = Buffer.concat([body, integrityAttr]);
	header.writeUInt16BE(body.length + 8, 2);
	const fingerprint = Buffer.alloc(8);
	fingerprint.writeUInt16BE(0x8028, 0);
	fingerprint.writeUInt16BE(4, 2);
	fingerprint.writeUInt32BE((crc32(Buffer.concat([header, body])) ^ 0x5354554e) >>> 0, 4);
	return Buffer.concat([header, body, fingerprint]);
}

/** True for a STUN message (first byte 0–3, magic cookie). */
export function isStun(data: Buffer): boolean {
	return data.length >= 20 && (data[0] ?? 255) < 4 && data.readUInt32BE(4) === 0x2112a442;
}

/** True for a STUN Binding success response. */
export function isBindingSuccess(data: Buffer): boolean {
	return isStun(data) && data.readUInt16BE(0) === 0x0101;
}
