/**
 * The protocols airflash ships, registered in order: the first is the family default, so a bare
 * `-i HOST` stays ArduinoOTA (the espota drop-in). A new protocol family is one line here.
 */

import { arduinoOta } from './arduino-ota/index.ts';
import { esphome } from './esphome/index.ts';
import { registerProtocol } from './registry.ts';
import { serial } from './serial/protocol.ts';
import { httpOta } from './web-ota/index.ts';

registerProtocol(arduinoOta);
registerProtocol(esphome);
registerProtocol(httpOta);
registerProtocol(serial);
