/** The Update library models of both cores (one module per core; shared types in update-common.ts). */
export { ESP32_ERR, ESP32_UPDATE_ERRORS, Esp32Update } from './esp32-update.ts';
export {
  ESP8266_ERR,
  type Esp8266Layout,
  type Esp8266Staged,
  Esp8266Update,
  esp8266FlashMode,
  esp8266MagicFlashSize,
  esp8266StagedImage,
} from './esp8266-updater.ts';
export type { FlashRegion, WriteResult } from './update-common.ts';
