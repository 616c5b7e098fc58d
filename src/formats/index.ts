/** airflash/formats: partition tables, otadata, firmware images and upload pre-flight. Pure, no I/O. */
export * from './crc.ts';
export * from './flash-size.ts';
export * from './image/build.ts';
export { buildEsp8266Sketch, type Esp8266SketchOptions } from './image/build-esp8266.ts';
export type { FlashModeName, SegmentSpec } from './image/build-write.ts';
export * from './image/chips.ts';
export * from './image/inspect.ts';
export * from './image/sniff.ts';
export * from './image/source.ts';
export * from './image/types.ts';
export * from './image/verdict.ts';
export { readImageHeader, walkEspImage } from './image/walk.ts';
export * from './otadata.ts';
export * from './partitions/index.ts';
export * from './preflight.ts';
