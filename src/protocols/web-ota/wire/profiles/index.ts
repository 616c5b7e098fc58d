/** The web-OTA firmware profiles, by id. */
import { arduinoEsp32, arduinoEsp8266 } from './arduino.ts';
import { elegantOtaV2, elegantOtaV3 } from './elegantota.ts';
import { esphomeWeb } from './esphome.ts';
import { tasmota } from './tasmota.ts';
import { PROFILE_IDS, type ProfileId, type WebProfile } from './types.ts';
import { wled, wledProfile } from './wled.ts';

export const PROFILES: Readonly<Record<ProfileId, WebProfile>> = {
  'arduino-esp8266': arduinoEsp8266,
  'arduino-esp32': arduinoEsp32,
  'elegantota-v2': elegantOtaV2,
  'elegantota-v3': elegantOtaV3,
  esphome: esphomeWeb,
  tasmota,
  wled,
};

export type {
  HttpReply,
  PreRequest,
  ProfileId,
  ReplyReading,
  UploadInput,
  UploadPlan,
  WebImageKind,
  WebProfile,
} from './types.ts';
export { isProfileId, plainText } from './types.ts';
export { PROFILE_IDS, wledProfile };
