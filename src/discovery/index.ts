export { type Advertisement, type AdvertiseOptions, advertise } from './advertise.ts';
export { type DiscoverOptions, discover, discoverAll } from './browse.ts';
export { arduinoTxt, inferCore } from './core.ts';
export {
  DEVICES_FILE_NAME,
  devicePassword,
  type LoadDevicesOptions,
  loadDevicesFile,
  type ParsedDevicesFile,
  parseDevicesFile,
} from './devices-file.ts';
export * from './dns-packet.ts';
export { type InterfaceSelection, type MdnsInterface, selectInterfaces } from './interfaces.ts';
export {
  type ResolveHostOptions,
  type ResolveLocalOptions,
  resolveHost,
  resolveLocalName,
} from './resolve.ts';
export {
  createMdnsBus,
  createMdnsTransport,
  type MdnsTransportOptions,
  type UdpMdnsTransport,
} from './transport.ts';
export * from './types.ts';
