import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateConstant, maskSource } from '../src/doctor/c-source.ts';
import { coreOf, looksLikeNetworkPort } from '../src/doctor/env-facts.ts';
import { parseEspotaArgs } from '../src/doctor/espota.ts';
import { doctorProbeFrom, toDoctorProbeResult } from '../src/doctor/probe.ts';
import { scanSources } from '../src/doctor/source-scan.ts';

describe('parseEspotaArgs (argparse/optparse rules)', () => {
  it('--opt=value keeps everything after the first "=" in one element', () => {
    const p = parseEspotaArgs(['--auth=password --port=8266', '-i', '1.2.3.4'], 'esp32');
    assert.deepEqual(p.errors, []);
    assert.equal(p.values.auth, 'password --port=8266');
    assert.equal(p.values.port, undefined);
    assert.equal(p.values.ip, '1.2.3.4');
  });

  it('separate elements, short options with attached values, abbreviations, combined flags', () => {
    const p = parseEspotaArgs(['--auth', 'pw', '-p3232', '--host_p=4000', '-dr', '-a=x2'], 'esp32');
    assert.deepEqual(p.errors, []);
    assert.equal(p.values.port, '3232');
    assert.equal(p.values.host_port, '4000');
    assert.equal(p.values.debug, true);
    assert.equal(p.values.progress, true);
    assert.equal(p.values.auth, 'x2'); // last one wins
    assert.deepEqual(
      p.settings.filter((s) => s.dest === 'auth').map((s) => s.value),
      ['pw', 'x2'],
    );
  });

  it('one element "-p 8266" gives " 8266", which int() accepts; "-a pw" keeps the space', () => {
    assert.equal(parseEspotaArgs(['-p 8266'], 'esp32').values.port, ' 8266');
    assert.deepEqual(parseEspotaArgs(['-p 8266'], 'esp32').errors, []);
    assert.equal(parseEspotaArgs(['-a pw'], 'esp32').values.auth, ' pw');
  });

  it('usage errors: unknown options, "--auth pw" in one element, bad ints, missing values', () => {
    assert.deepEqual(parseEspotaArgs(['--password=x'], 'esp32').errors, [
      'unrecognized arguments: --password=x',
    ]);
    assert.deepEqual(parseEspotaArgs(['--auth pw'], 'esp32').errors, ['unrecognized arguments: --auth pw']);
    assert.deepEqual(parseEspotaArgs(['--port=8266 --auth=x'], 'esp32').errors, [
      "argument -p/--port: invalid int value: '8266 --auth=x'",
    ]);
    assert.deepEqual(parseEspotaArgs(['--auth'], 'esp32').errors, [
      'argument -a/--auth: expected one argument',
    ]);
    assert.deepEqual(parseEspotaArgs(['--auth', '--port=1'], 'esp32').errors, [
      'argument -a/--auth: expected one argument',
    ]);
    assert.deepEqual(parseEspotaArgs(['stray'], 'esp32').errors, ['unrecognized arguments: stray']);
  });

  it('"-auth=x" is -a with the value "uth=x"', () => {
    assert.equal(parseEspotaArgs(['-auth=x'], 'esp32').values.auth, 'uth=x');
  });

  it('the ESP8266 script has no --timeout / -m', () => {
    assert.deepEqual(parseEspotaArgs(['--timeout=20'], 'esp32').errors, []);
    assert.deepEqual(parseEspotaArgs(['--timeout=20'], 'esp8266').errors, [
      'unrecognized arguments: --timeout=20',
    ]);
    assert.deepEqual(parseEspotaArgs(['-m'], 'esp8266').errors, ['unrecognized arguments: -m']);
  });
});

describe('coreOf / looksLikeNetworkPort', () => {
  it('knows the platforms and common boards', () => {
    assert.equal(coreOf('espressif32', 'esp32dev'), 'esp32');
    assert.equal(coreOf('platformio/espressif32@6.4.0', undefined), 'esp32');
    assert.equal(
      coreOf(
        'https://github.com/pioarduino/platform-espressif32/releases/download/stable/platform-espressif32.zip',
        'x',
      ),
      'esp32',
    );
    assert.equal(coreOf('espressif8266', 'nodemcuv2'), 'esp8266');
    assert.equal(coreOf(undefined, 'd1_mini'), 'esp8266');
    assert.equal(coreOf(undefined, 'lolin32'), 'esp32');
    assert.equal(coreOf('atmelavr', 'uno'), undefined);
  });

  it('matches what PlatformIO treats as a network upload_port', () => {
    assert.ok(looksLikeNetworkPort('192.168.1.242'));
    assert.ok(looksLikeNetworkPort('esp32-aabbcc.local'));
    assert.ok(!looksLikeNetworkPort('/dev/ttyUSB0'));
    assert.ok(!looksLikeNetworkPort('COM3'));
  });
});

describe('source scan', () => {
  it('masks comments and string contents but keeps offsets and lines', () => {
    const text = 'a // delay(1)\n/* x\n y */ "de\\"lay(2)" b';
    const m = maskSource(text);
    assert.equal(m.code.length, text.length);
    assert.equal(m.bare.split('\n').length, 3);
    assert.doesNotMatch(m.bare, /delay/);
    assert.match(m.code, /"de\\"lay\(2\)"/);
  });

  it('evaluates constant delay expressions', () => {
    const constants = new Map([
      ['MINUTE', '(60 * 1000UL)'],
      ['HALF', 'MINUTE / 2'],
    ]);
    assert.equal(evaluateConstant('30000', constants), 30000);
    assert.equal(evaluateConstant('0x3E8', constants), 1000);
    assert.equal(evaluateConstant('HALF', constants), 30000);
    assert.equal(evaluateConstant('pdMS_TO_TICKS(2 * 1000)', constants), 2000);
    assert.equal(evaluateConstant('5000 / portTICK_PERIOD_MS', constants), 5000);
    assert.equal(evaluateConstant('(uint32_t)1500', constants), 1500);
    assert.equal(evaluateConstant('interval', constants), undefined);
    assert.equal(evaluateConstant('1 +', constants), undefined);
  });

  it('finds begin/handle/setPort/setPassword, loop delays through helpers, and ignores comments', () => {
    const scan = scanSources([
      {
        path: 'src/main.cpp',
        text: [
          '#include <ArduinoOTA.h>',
          'const unsigned long PERIOD = 20 * 1000;',
          '// delay(99999) in a comment',
          'void wait() { vTaskDelay(pdMS_TO_TICKS(PERIOD)); }',
          'void setup() {',
          '  ArduinoOTA.setPort(8266);',
          '  ArduinoOTA.setPassword("p\\"w");',
          '  ArduinoOTA.begin();',
          '}',
          'void loop() {',
          '  if (x) { ArduinoOTA.handle(); }',
          '  Serial.println("delay(5000)");',
          '  wait();',
          '  delay(interval);',
          '}',
        ].join('\n'),
      },
    ]);
    assert.equal(scan.begin.length, 1);
    assert.equal(scan.begin[0]?.line, 8);
    assert.deepEqual(
      scan.setPort.map((c) => c.number),
      [8266],
    );
    assert.equal(scan.setPassword[0]?.literal, 'p"w');
    assert.ok(scan.handleReachableFromLoop);
    assert.deepEqual(scan.loop, { path: 'src/main.cpp', line: 10 });
    assert.deepEqual(
      scan.loopDelays.map((d) => [d.call, d.ms, d.line, d.via.join('>')]),
      [
        ['delay(interval)', undefined, 14, 'loop'],
        ['vTaskDelay(pdMS_TO_TICKS(PERIOD))', 20000, 4, 'loop>wait'],
      ],
    );
    assert.equal(scan.loopDelayTotalMs, 20000);
  });

  it('a handle() in a task function is outside loop(), and loop delays then do not block OTA', () => {
    const scan = scanSources([
      {
        path: 'src/app.ino',
        text: 'void otaTask(void *p) { for (;;) { ArduinoOTA.handle(); delay(5); } }\nvoid setup() { ArduinoOTA.begin(); }\nvoid loop() { delay(60000); }\n',
      },
    ]);
    assert.equal(scan.handleReachableFromLoop, false);
    assert.deepEqual(scan.handleOutsideLoop, ['otaTask']);
  });
});

describe('probe adapter', () => {
  it("reads the probe's typed result", () => {
    assert.deepEqual(toDoctorProbeResult({ answered: false }), { answered: false });
    assert.deepEqual(
      toDoctorProbeResult({
        answered: true,
        authRequired: true,
        authScheme: 'md5',
        loop: { kind: 'measured', periodMs: 3000 },
        summary: 's',
      }),
      {
        answered: true,
        authRequired: true,
        authScheme: 'md5',
        loopKind: 'measured',
        loopPeriodMs: 3000,
        summary: 's',
      },
    );
  });

  it('wraps a probe({host, port, signal})', async () => {
    const seen: unknown[] = [];
    const probe = doctorProbeFrom(async (o) => {
      seen.push(o);
      return { answered: true };
    });
    assert.deepEqual(await probe('127.0.0.1', 3232, {}), { answered: true });
    assert.deepEqual(seen, [{ host: '127.0.0.1', port: 3232 }]);
  });
});
