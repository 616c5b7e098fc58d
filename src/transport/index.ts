export { INBOX_CAPACITY, Inbox } from './inbox.ts';
export { type MemoryDatagram, MemoryStream, MemoryTransport } from './memory.ts';
export {
  bareHost,
  isLoopback,
  localAddressFor,
  nodeStream,
  nodeTransport,
  normaliseAddress,
  type ResolvedTarget,
  resolveTarget,
} from './node.ts';
export type {
  ConnectOptions,
  DatagramOptions,
  DatagramSocket,
  Dispose,
  ListenOptions,
  Peer,
  Stream,
  StreamEvents,
  StreamListener,
  Transport,
} from './types.ts';
