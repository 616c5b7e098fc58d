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
export {
  CLASS_IN,
  canonicalName,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  decodeMessage,
  decodeTxt,
  encodeMessage,
  encodeTxt,
  FLAG_AUTHORITATIVE,
  FLAG_RESPONSE,
  isResponse,
  RECORD_TYPE_CODES,
  type RecordTypeName,
  type SrvData,
  typeCode,
  typeName,
} from './dns-packet.ts';
export { type EsphomeTxt, parseEsphomeTxt } from './esphome-txt.ts';
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
export {
  ARDUINO_SERVICE,
  BROWSED_SERVICES,
  type DeviceRecord,
  type DiscoveredCore,
  type DiscoveredDevice,
  type DiscoveryEvent,
  ESPHOME_SERVICE,
  MDNS_GROUP_V4,
  MDNS_PORT,
  type MdnsEndpoint,
  type MdnsTransport,
  SERVICES_ENUMERATION,
} from './types.ts';
