/**
 * A small, pure DNS message codec for the part of mDNS / DNS-SD that airflash uses (RFC 1035
 * §4, RFC 6762, RFC 6763): questions and A, AAAA, PTR, SRV, TXT records; anything else is kept
 * as raw bytes. Decoding is strict about bounds (DataView + explicit checks) and about name
 * compression (pointers must point backwards, bounded jumps), so a hostile datagram is an error,
 * never a crash or a loop.
 *
 * Names are dotted strings without the trailing dot (`esp32-aabb.local`). A label that itself
 * contains a dot cannot be represented; ArduinoOTA devices never use one.
 *
 * The codec's parts: dns-records.ts (types, record data, TXT), dns-read.ts (decoding, name
 * decompression), dns-write.ts (encoding, name compression). This file is their one entry.
 */
export { decodeMessage } from './dns-read.ts';
export {
  CLASS_IN,
  canonicalName,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  decodeTxt,
  encodeTxt,
  FLAG_AUTHORITATIVE,
  FLAG_RESPONSE,
  isResponse,
  RECORD_TYPE_CODES,
  type RecordTypeName,
  type SrvData,
  typeCode,
  typeName,
} from './dns-records.ts';
export { encodeMessage } from './dns-write.ts';
