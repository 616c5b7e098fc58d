// biome-ignore-all lint/suspicious/noTemplateCurlyInString: platformio.ini uses ${section.option} syntax
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { parseIni } from '../src/doctor/ini-parse.ts';
import { parsePlatformioIni, splitMultiValue } from '../src/doctor/platformio-ini.ts';

function configError(text: string, line: number, pattern: RegExp): void {
  assert.throws(
    () => parsePlatformioIni(text, { file: 'platformio.ini' }),
    (error: unknown) => {
      assert.ok(isAirflashError(error, 'CONFIG_INVALID'), `expected CONFIG_INVALID, got ${String(error)}`);
      assert.match(error.message, new RegExp(`^platformio\\.ini:${line}: `));
      assert.match(error.message, pattern);
      assert.deepEqual(error.data, { file: 'platformio.ini', line });
      return true;
    },
  );
}

describe('splitMultiValue (PlatformIO parse_multi_values)', () => {
  it('splits on ", " when there is no newline, keeping spaces inside items', () => {
    assert.deepEqual(splitMultiValue('--auth=password --port=8266'), ['--auth=password --port=8266']);
    assert.deepEqual(splitMultiValue('--auth=2357, --port=8266'), ['--auth=2357', '--port=8266']);
    // A comma without a space is not a separator.
    assert.deepEqual(splitMultiValue('a,b, c'), ['a,b', 'c']);
  });

  it('splits on newlines when the value has one, and then not on ", "', () => {
    assert.deepEqual(splitMultiValue('\n--auth=x\n  --port=3232  \n'), ['--auth=x', '--port=3232']);
    assert.deepEqual(splitMultiValue('a, b\nc'), ['a, b', 'c']);
  });

  it('drops empty items, comment items and inline " ;" comments', () => {
    assert.deepEqual(splitMultiValue('a\n\n; note\n# note\nb ; why\nc;d'), ['a', 'b', 'c;d']);
  });
});

describe('parseIni (configparser rules)', () => {
  it('reads sections, lower-cases option names, accepts ":" and "=", strips values', () => {
    const doc = parseIni('[env:A]\nUpload_Port : 1.2.3.4\nboard=esp32dev   \n');
    const section = doc.sections.get('env:A');
    assert.ok(section);
    assert.equal(section.line, 1);
    assert.deepEqual(section.options.get('upload_port'), { value: '1.2.3.4', line: 2 });
    assert.deepEqual(section.options.get('board'), { value: 'esp32dev', line: 3 });
  });

  it('joins indented continuation lines, keeps blank lines inside, skips comment lines', () => {
    const doc = parseIni('[env:a]\nbuild_flags =\n    -DA=1\n\n    ; off\n    -DB=2\nboard = x\n');
    assert.equal(doc.sections.get('env:a')?.options.get('build_flags')?.value, '\n-DA=1\n\n-DB=2');
    assert.equal(doc.sections.get('env:a')?.options.get('board')?.value, 'x');
  });

  it('treats ; and # as comments only at line start or after whitespace', () => {
    const doc = parseIni('; top\n# top\n[s]\na = b ;c\nd = e;f\ng = h #i\nj = k#l\n');
    const s = doc.sections.get('s');
    assert.equal(s?.options.get('a')?.value, 'b');
    assert.equal(s?.options.get('d')?.value, 'e;f');
    assert.equal(s?.options.get('g')?.value, 'h');
    assert.equal(s?.options.get('j')?.value, 'k#l');
  });

  it('handles CRLF line endings and a BOM', () => {
    const doc = parseIni('\uFEFF[env:a]\r\nboard = x\r\nupload_flags =\r\n  -p 1\r\n  -a 2\r\n');
    assert.equal(doc.sections.get('env:a')?.options.get('upload_flags')?.value, '\n-p 1\n-a 2');
  });
});

describe('parsePlatformioIni semantics', () => {
  it('lists envs in file order and reads default_envs as a list', () => {
    const config = parsePlatformioIni(
      '[platformio]\ndefault_envs = b, a ; two\n[env:a]\n[env:b]\n[common]\n',
    );
    assert.deepEqual(config.envs(), ['a', 'b']);
    assert.deepEqual(config.defaultEnvs(), ['b', 'a']);
    assert.deepEqual(parsePlatformioIni('[env:x]\n').defaultEnvs(), []);
  });

  it('[env] is the base of every [env:NAME], and the env wins', () => {
    const config = parsePlatformioIni(
      '[env]\nframework = arduino\nboard = base\n[env:a]\nboard = esp32dev\n',
    );
    assert.equal(config.get('env:a', 'framework'), 'arduino');
    assert.equal(config.get('env:a', 'board'), 'esp32dev');
    assert.equal(config.lookup('env:a', 'framework')?.section, 'env');
    assert.equal(config.lookup('env:a', 'framework')?.line, 2);
  });

  it('extends: own options first, then the extended sections in order, then [env]', () => {
    const config = parsePlatformioIni(
      [
        '[env]',
        'upload_speed = 1',
        'monitor_speed = 9',
        '[base1]',
        'board = one',
        'upload_speed = 2',
        '[base2]',
        'board = two',
        'platform = espressif32',
        'framework = two',
        '[env:a]',
        'extends = base1, base2',
        'framework = own',
        '[env:b]',
        'extends = env:a',
        'upload_port = 1.2.3.4',
      ].join('\n'),
    );
    assert.equal(config.get('env:a', 'framework'), 'own');
    assert.equal(config.get('env:a', 'board'), 'one'); // first extends wins
    assert.equal(config.get('env:a', 'platform'), 'espressif32');
    assert.equal(config.get('env:a', 'upload_speed'), '2'); // extended section before [env]
    assert.equal(config.get('env:a', 'monitor_speed'), '9');
    assert.equal(config.get('env:b', 'board'), 'one'); // transitively
    assert.equal(config.get('env:b', 'upload_port'), '1.2.3.4');
    assert.equal(config.get('env:a', 'upload_port'), undefined);
  });

  it('interpolates ${section.option} recursively, ${sysenv.X}, ${this.*} and leaves ${VAR} alone', () => {
    const config = parsePlatformioIni(
      [
        '[common]',
        'pw = ${secrets.pw}',
        'flags = --auth=${this.pw}',
        '[secrets]',
        'pw = s3cret',
        '[env:dev]',
        'upload_flags = ${common.flags}',
        'upload_port = ${sysenv.OTA_HOST}',
        'build_flags = -DENV=${this.__env__} -DDIR=${PROJECT_DIR}',
      ].join('\n'),
      { sysenv: { OTA_HOST: '10.0.0.7' } },
    );
    assert.equal(config.get('common', 'pw'), 's3cret');
    assert.deepEqual(config.getList('env:dev', 'upload_flags'), ['--auth=s3cret']);
    assert.equal(config.get('env:dev', 'upload_port'), '10.0.0.7');
    assert.equal(config.get('env:dev', 'build_flags'), '-DENV=dev -DDIR=${PROJECT_DIR}');
    assert.equal(config.lookup('env:dev', 'upload_flags')?.raw, '${common.flags}');
  });

  it('a multi-value option pulled in by ${env.*} arrives one item per line', () => {
    const config = parsePlatformioIni(
      '[env]\nupload_flags = --auth=x, --port=3232\n[env:a]\nupload_flags = ${env.upload_flags}\n',
    );
    assert.equal(config.get('env:a', 'upload_flags'), '--auth=x\n--port=3232');
    assert.deepEqual(config.getList('env:a', 'upload_flags'), ['--auth=x', '--port=3232']);
  });

  it('upload_flags: one line is one item; new lines or ", " make several', () => {
    const config = parsePlatformioIni(
      [
        '[env:one]',
        'upload_flags = --auth=password --port=8266',
        '[env:lines]',
        'upload_flags =',
        '  --auth=password',
        '  --port=3232',
        '[env:comma]',
        'upload_flags = --auth=password, --port=3232',
      ].join('\n'),
    );
    assert.deepEqual(config.getList('env:one', 'upload_flags'), ['--auth=password --port=8266']);
    assert.deepEqual(config.getList('env:lines', 'upload_flags'), ['--auth=password', '--port=3232']);
    assert.deepEqual(config.getList('env:comma', 'upload_flags'), ['--auth=password', '--port=3232']);
  });

  it('PLATFORMIO_UPLOAD_FLAGS is appended after a newline; PLATFORMIO_UPLOAD_PORT replaces', () => {
    const text = '[env:a]\nupload_flags = --auth=x\nupload_port = 1.1.1.1\n';
    const config = parsePlatformioIni(text, {
      sysenv: { PLATFORMIO_UPLOAD_FLAGS: '-p 3232', PLATFORMIO_UPLOAD_PORT: '2.2.2.2' },
    });
    assert.deepEqual(config.getList('env:a', 'upload_flags'), ['--auth=x', '-p 3232']);
    assert.equal(config.get('env:a', 'upload_port'), '2.2.2.2');
    assert.deepEqual(parsePlatformioIni(text).getList('env:a', 'upload_flags'), ['--auth=x']);
  });

  it('lists the options visible in an env (own, extended, [env])', () => {
    const config = parsePlatformioIni(
      '[env]\nframework = arduino\n[b]\nboard = x\n[env:a]\nextends = b\nplatform = p\n',
    );
    assert.deepEqual(config.options('env:a').sort(), ['board', 'extends', 'framework', 'platform']);
  });
});

describe('parsePlatformioIni errors name the file and line', () => {
  it('an option before any section', () => configError('board = x\n[env:a]\n', 1, /before any \[section\]/));
  it('a line that is not "name = value"', () =>
    configError('[env:a]\nboard = x\njunk here\n', 3, /cannot parse "junk here"/));
  it('an option without a name', () => configError('[env:a]\n = x\n', 2, /cannot parse/));
  it('a duplicate section', () =>
    configError('[env:a]\n\n[env:a]\n', 3, /appears twice \(first at line 1\)/));
  it('a duplicate option', () => configError('[env:a]\nboard = x\nBOARD = y\n', 3, /"board" appears twice/));
  it('an unknown extends target', () =>
    configError(
      '[env:a]\nboard = x\nextends = base, nothere\n[base]\n',
      3,
      /extends "nothere", but there is no section/,
    ));
  it('an interpolation cycle', () =>
    configError(
      '[a]\nx = ${b.y}\n[b]\ny = ${a.x}\n',
      2,
      /interpolation cycle: \$\{a\.x\} → \$\{b\.y\} → \$\{a\.x\}/,
    ));
  it('a self reference', () => configError('[env:a]\nboard = ${this.board}\n', 2, /interpolation cycle/));
  it('a reference to a missing section', () =>
    configError('[env:a]\n\nboard = ${nope.x}\n', 3, /section \[nope\], which does not exist/));
  it('a reference to a missing option', () =>
    configError('[c]\n[env:a]\nboard = ${c.x}\n', 3, /option "x" that \[c\] does not define/));
  it('${this.__env__} outside an env', () =>
    configError('[c]\nx = ${this.__env__}\n', 2, /not an \[env:NAME\] section/));
});
