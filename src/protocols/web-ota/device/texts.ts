/**
 * The emulated firmwares' exact reply bodies and pages. Each names its source; docs/emulator.md
 * "Web OTA" lists them with what is modelled and what is assumed.
 */

/** ESP8266HTTPUpdateServer-impl.h / arduino-esp32 HTTPUpdateServer.h `successResponse` (74 bytes). */
export const ARDUINO_SUCCESS = '<META http-equiv="refresh" content="15;URL=/">Update Success! Rebooting...';
/** Both: `"Update error: " + _updaterError` (the Updater's printError text, `ERROR[n]: text\n` on ESP8266). */
export const arduinoError = (n: number, text: string): string => `Update error: ERROR[${n}]: ${text}\n`;
/** arduino-esp32 PR #11530 with no credentials configured. */
export const ARDUINO_WRONG_ORIGIN = 'Update error: Wrong origin received!';

/** The upload form both HTTPUpdateServers serve at GET /update (the ESP32 one also accepts `.image`). */
export function arduinoPage(esp32: boolean): string {
  const fsAccept = esp32 ? '.bin,.bin.gz,.image' : '.bin,.bin.gz';
  return (
    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width,initial-scale=1'/></head><body>" +
    "<form method='POST' action='' enctype='multipart/form-data'>Firmware:<br><input type='file' accept='.bin,.bin.gz' name='firmware'><input type='submit' value='Update Firmware'></form>" +
    `<form method='POST' action='' enctype='multipart/form-data'>FileSystem:<br><input type='file' accept='${fsAccept}' name='filesystem'><input type='submit' value='Update FileSystem'></form></body></html>`
  );
}

/** ElegantOTA v3 `src/elop.cpp` (the gzip page; only its title is modelled). */
export const ELEGANT_V3_PAGE =
  '<!DOCTYPE html><html><head><title>ElegantOTA Lite</title></head><body><div id="app"></div></body></html>';
/** ElegantOTA v2 page (gzip; title modelled). */
export const ELEGANT_V2_PAGE =
  '<!DOCTYPE html><html><head><title>ElegantOTA</title></head><body><div id="app"></div></body></html>';

/** ESPHome `ota_web_server.cpp`. */
export const ESPHOME_SUCCESS = 'Update Successful!';
export const ESPHOME_FAILED = 'Update Failed!';
/** ESPHome web_server v2 index (the page loads its app from oi.esphome.io). */
export const ESPHOME_INDEX =
  '<!DOCTYPE html><html><head><meta charset=UTF-8><link rel=icon href=data:></head><body><esp-app></esp-app><script src="https://oi.esphome.io/v2/www.js"></script></body></html>';

/** Tasmota `xdrv_01_9_webserver.ino` HandleUploadDone (en_GB D_UPLOAD, D_SUCCESSFUL, D_FAILED). */
export const TASMOTA_SUCCESS =
  "<div style='text-align:center;'><b>Upload <font color='#47c266'>Successful</font></b><br><br>Device will restart in a few seconds</div>";
export const tasmotaFailed = (text: string): string =>
  `<div style='text-align:center;'><b>Upload <font color='#d43535'>Failed</font></b><br><br>${text}</div>`;
/** Tasmota's upload errors (D_UPLOAD_ERR_1 … 9, en_GB). */
export const TASMOTA_ERRORS: Readonly<Record<number, string>> = {
  1: 'No file selected',
  2: 'Not enough space',
  3: 'Magic byte is not 0xE9',
  4: 'Program flash size is larger than real flash size',
  6: 'Upload failed. Enable logging 3',
  7: 'Upload aborted',
  8: 'File invalid',
  9: 'File too large',
};

/** WLED `wled_server.cpp` serveMessage texts. */
export const WLED_SUCCESS = 'Update successful!';
export const WLED_REBOOTING = 'Rebooting now...';
export const WLED_FAILED = 'Update failed!';
export const WLED_OTA_LOCKED = 'Please unlock OTA in security settings!';
export const WLED_PIN = 'Please unlock settings using PIN code!';
export const WLED_SUBNET = 'Client is not on local subnet.';
export const wledPage = (title: string, text: string): string =>
  `<!DOCTYPE html><html><head><title>${title}</title></head><body><h2>${title}</h2>${text}</body></html>`;
