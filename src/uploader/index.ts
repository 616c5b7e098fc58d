/** airflash uploader: the host side of ArduinoOTA (espota). */
export type * from './types.ts';
