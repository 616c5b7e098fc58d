/** doctor's checks of the project sources: ArduinoOTA.begin()/handle(), blocking loops, deep sleep. Pure. */

import type { EspotaCore } from './espota.ts';
import type { SourceScan } from './source-scan.ts';
import type { DoctorFinding } from './types.ts';

/** Findings about the sketch itself (ArduinoOTA.begin/handle, blocking loop). */
export function checkSources(
  scan: SourceScan,
  cores: readonly EspotaCore[],
  library: { begin?: string; handle?: string } = {},
): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  const libraryCalls = [
    scan.begin.length === 0 ? library.begin : undefined,
    scan.handle.length === 0 ? library.handle : undefined,
  ].filter((p): p is string => p !== undefined);
  if (libraryCalls.length > 0) {
    findings.push({
      severity: 'info',
      code: 'LIBRARY_RUNS_OTA',
      what: `ArduinoOTA is started or served by a library, not by the project sources: ${[...new Set(libraryCalls)].join(', ')}.`,
      why: 'doctor found ArduinoOTA.begin()/handle() only in .pio/libdeps; it cannot check how often that library calls handle().',
      fix: 'Make sure the library is set up with OTA enabled and that its loop function is called from loop() on every pass.',
      file: libraryCalls[0] as string,
    });
  }
  const esp32 = cores.length === 0 || cores.includes('esp32');
  const esp8266 = cores.includes('esp8266');
  const where = scan.files.length > 0 ? scan.files.join(', ') : '(no source files found)';

  if (scan.begin.length === 0 && library.begin === undefined) {
    findings.push({
      severity: 'error',
      code: 'OTA_NOT_BEGUN',
      what: `No source file calls ArduinoOTA.begin() (looked at: ${where}).`,
      why: 'espota talks to the ArduinoOTA service of the running firmware. Without ArduinoOTA.begin() nothing listens on the OTA port and espota reports "No response from the ESP". The first firmware with OTA must be flashed over USB.',
      fix: [
        '#include <WiFi.h>            // <ESP8266WiFi.h> on ESP8266',
        '#include <ArduinoOTA.h>',
        '',
        'void setup() {',
        '  WiFi.begin(SSID, PASSWORD);',
        '  while (WiFi.status() != WL_CONNECTED) delay(100);',
        '  ArduinoOTA.begin();         // after Wi-Fi is up',
        '}',
        '',
        'void loop() {',
        '  ArduinoOTA.handle();',
        '}',
      ].join('\n'),
    });
    return findings;
  }

  if (scan.handle.length === 0 && library.handle === undefined) {
    const begin = scan.begin[0];
    findings.push({
      severity: 'error',
      code: 'HANDLE_NOT_CALLED',
      what: 'ArduinoOTA.begin() is called, but no source file calls ArduinoOTA.handle().',
      why: esp32
        ? 'On the ESP32 the OTA service reads invitations only inside ArduinoOTA.handle(); without it every invitation stays unanswered ("No response from the ESP").'
        : 'On the ESP8266 the invitation is answered, but the update itself runs inside ArduinoOTA.handle(); without it espota waits in vain ("No response from the ESP").',
      fix: 'void loop() {\n  ArduinoOTA.handle();   // first thing, every pass\n  // ...\n}',
      ...(begin ? { file: begin.path, line: begin.line } : {}),
    });
  } else if (!scan.handleReachableFromLoop && scan.loop !== undefined) {
    findings.push({
      severity: 'info',
      code: 'HANDLE_OUTSIDE_LOOP',
      what: `ArduinoOTA.handle() is not called from loop() but from ${scan.handleOutsideLoop.length > 0 ? scan.handleOutsideLoop.map((f) => `${f}()`).join(', ') : 'elsewhere'}.`,
      why: 'That works when the function runs often (e.g. a FreeRTOS task looping every few milliseconds). If it runs once (e.g. from setup()), invitations go unanswered.',
      fix: 'void loop() {\n  ArduinoOTA.handle();\n  // ...\n}',
      ...(scan.handle[0] ? { file: scan.handle[0].path, line: scan.handle[0].line } : {}),
    });
  }

  // Blocking delays on loop()'s path matter only when handle() runs from loop().
  if (scan.handleReachableFromLoop || scan.handle.length === 0) {
    const total = scan.loopDelayTotalMs;
    const counted = scan.loopDelays.filter((d) => d.ms !== undefined && d.ms >= 100);
    if (total >= 1000 && counted.length > 0) {
      const biggest = [...counted].sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0))[0] as (typeof counted)[number];
      const list = counted
        .map(
          (d) => `${d.call} at ${d.path}:${d.line}${d.via.length > 1 ? ` (via ${d.via.join(' → ')})` : ''}`,
        )
        .join(', ');
      const seconds = (total / 1000).toFixed(total % 1000 === 0 ? 0 : 1);
      const why: string[] = [`ArduinoOTA.handle() runs about once every ${seconds} s.`];
      if (esp32) {
        why.push(
          'An ESP32 reads an invitation only inside handle(), so it answers up to that late; each handshake step (answer, password check, connect-back) waits for another handle().',
        );
      }
      if (esp8266) {
        why.push(
          'An ESP8266 answers the invitation during delay(), but sends OK and connects back only from handle().',
        );
      }
      why.push(
        total >= 10000
          ? 'espota waits 10 s per step, so the upload fails with "No response from the ESP" or "No response from device". airflash adapts its waits to the answer time, espota does not.'
          : 'espota still succeeds (it waits 10 s per step), but slowly; a longer blocking pass breaks it.',
      );
      findings.push({
        severity: total >= 10000 ? 'error' : 'warning',
        code: 'BLOCKING_DELAY',
        what: `loop() blocks for about ${seconds} s per pass: ${list}.`,
        why: why.join(' '),
        fix: [
          'void loop() {',
          '  ArduinoOTA.handle();',
          '  static uint32_t last = 0;',
          `  if (millis() - last >= ${biggest.ms ?? total}) {   // instead of ${biggest.call}`,
          '    last = millis();',
          '    // ... the periodic work ...',
          '  }',
          '}',
        ].join('\n'),
        file: biggest.path,
        line: biggest.line,
      });
    }
  }

  if (scan.deepSleep.length > 0) {
    const first = scan.deepSleep[0] as (typeof scan.deepSleep)[number];
    findings.push({
      severity: 'warning',
      code: 'DEEP_SLEEP',
      what: 'loop() puts the chip into deep sleep.',
      why: 'A sleeping device has no Wi-Fi: it can take an update only in the short time it is awake, and espota gives up after 10 s.',
      fix: 'Keep the device awake while an update is wanted, e.g. skip deep sleep when a GPIO/NVS flag is set, then upload right after it wakes.',
      file: first.path,
      line: first.line,
    });
  }
  return findings;
}
