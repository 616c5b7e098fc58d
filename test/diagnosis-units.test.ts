/**
 * diagnose() on hand-made observations, for the situations an emulator cannot produce (an
 * ESP8266 in UART boot mode, a VPN, NAT, UDP dropped on the way) and for input edge cases.
 * The observations have the shape the uploader records (src/protocols/arduino-ota/model/options.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AirflashError } from '../src/core/errors.ts';
import { diagnose, type FollowUpResult, needsFollowUp, renderDiagnosis } from '../src/diagnosis/index.ts';
import type { UploadObservation } from '../src/upload/index.ts';

function observation(patch: Partial<UploadObservation> = {}): UploadObservation {
  return {
    version: 1,
    startedAt: 0,
    target: { host: '192.168.1.50', address: '192.168.1.50', family: 4, port: 3232, resolvedBy: 'literal' },
    local: { address: '192.168.1.20', addressFrom: 'route', udpPort: 50000, tcpPort: 40000 },
    image: {
      command: 0,
      compressed: false,
      signedSubstituted: false,
      size: 900_000,
      md5: 'a'.repeat(32),
      firstByte: 0xe9,
    },
    options: {
      passwordGiven: false,
      md5Target: false,
      attemptTimeoutMs: 10_000,
      inviteAttempts: 10,
      authTimeoutMs: 45_000,
      connectTimeoutMs: 10_000,
      connectMaxMs: 100_000,
      stallTimeoutMs: 10_000,
      resultTimeoutMs: 30_000,
      timeScale: 1,
    },
    context: {},
    sent: [{ at: 1, kind: 'invitation', attempt: 1, reason: 'first' }],
    received: [],
    invitationsSent: 1,
    loopGapsMs: [],
    warnings: [],
    hints: [],
    timeline: [],
    ...patch,
  };
}

function err(
  code: ConstructorParameters<typeof AirflashError>[0],
  message: string,
  obs: UploadObservation,
  deviceText?: string,
) {
  obs.outcome = { ok: false, code, message, at: 100_000 };
  return new AirflashError(code, message, {
    data: { observation: obs },
    ...(deviceText ? { deviceText } : {}),
  });
}

const ids = (d: ReturnType<typeof diagnose>): string[] => d.causes.map((c) => c.id);

describe('diagnose() units', () => {
  it('ESP8266 "Invalid bootstrapping" → reset it once', () => {
    const text = 'ERR: ERROR[11]: Invalid bootstrapping state, reset ESP8266 before updating\n';
    const o = observation({
      target: { host: 'd1', address: '192.168.1.51', port: 8266 },
      received: [
        {
          at: 120,
          from: '192.168.1.51',
          fromPort: 8266,
          fromDevice: true,
          text,
          kind: 'refused',
          use: 'failed',
        },
      ],
      deviceText: text,
    });
    const d = diagnose(
      undefined,
      err(
        'DEVICE_REFUSED',
        'The device refused the update: ERROR[11]: Invalid bootstrapping …',
        o,
        text.trim(),
      ),
    );
    assert.equal(d.causes[0]?.id, 'INVALID_BOOTSTRAPPING');
    assert.ok(d.causes[0]?.next.some((n) => /RESET/.test(n)));
    assert.ok(
      d.causes[0]?.evidence.some((e) => /answered the invitation at 0\.120 s with "ERR: ERROR\[11\]/.test(e)),
    );
  });

  it('ESP8266 "ERROR[0]: No Error" → the host closed early', () => {
    const o = observation({
      target: { host: 'd1', address: '192.168.1.51', port: 8266 },
      okAt: 100,
      connect: { waitMs: 10_000, connectedAt: 200, refused: [], extra: 0, probes: 0 },
      transfer: {
        startedAt: 200,
        bytesSent: 450_000,
        bytesConfirmed: 440_000,
        countChunks: 100,
        end: 'device-error',
        endedAt: 5000,
      },
      deviceText: 'ERROR[0]: No Error\n',
    });
    const d = diagnose(o, err('DEVICE_ERROR', 'The device reported an error', o, 'ERROR[0]: No Error'));
    assert.equal(d.causes[0]?.id, 'HOST_CLOSED_EARLY');
    assert.ok(
      d.causes[0]?.evidence.some((e) =>
        /after about 440000 of 900000 bytes confirmed by the device \(48 %; 450000 handed to the network\)/.test(
          e,
        ),
      ),
    );
  });

  it('silence on every port while a host answers TCP → UDP blocked or a blocked loop, not a wrong port', () => {
    const o = observation();
    const e = err(
      'NO_INVITATION_REPLY',
      'No answer from 192.168.1.50 port 3232 to 10 invitations in 100.0 s.',
      o,
    );
    const fu: FollowUpResult = {
      address: '192.168.1.50',
      ports: [
        { port: 3232, source: 'upload', outcome: 'silent', sent: 1, waitedMs: 10_000 },
        { port: 8266, source: 'esp8266-default', outcome: 'silent', sent: 1, waitedMs: 10_000 },
      ],
      tcp: { port: 3232, outcome: 'refused', latencyMs: 4 },
      durationMs: 10_000,
    };
    const d = diagnose(o, e, { followUp: fu });
    assert.equal(d.causes[0]?.id, 'UDP_BLOCKED');
    assert.ok(ids(d).indexOf('WRONG_PORT') > ids(d).indexOf('LOOP_BLOCKED'));
    assert.equal(d.causes.find((c) => c.id === 'WRONG_PORT')?.likelihood, 'low');
    // with a short invitation budget a slow loop() is the likelier reading
    const o2 = observation();
    const e2 = err('NO_INVITATION_REPLY', 'No answer.', o2);
    (o2.outcome as { at: number }).at = 5_000;
    assert.equal(diagnose(o2, e2, { followUp: fu }).causes[0]?.id, 'LOOP_BLOCKED');
  });

  it('nothing at the address (TCP unreachable) → wrong IP', () => {
    const o = observation();
    const fu: FollowUpResult = {
      address: '192.168.1.50',
      ports: [{ port: 3232, source: 'upload', outcome: 'silent', sent: 1, waitedMs: 10_000 }],
      tcp: { port: 3232, outcome: 'unreachable', latencyMs: 3000, error: 'EHOSTUNREACH' },
      durationMs: 10_000,
    };
    const d = diagnose(o, err('NO_INVITATION_REPLY', 'No answer.', o), { followUp: fu });
    assert.equal(d.causes[0]?.id, 'WRONG_IP');
  });

  it('mDNS advertises another port → wrong port even when the alternatives were silent', () => {
    const o = observation();
    const fu: FollowUpResult = {
      address: '192.168.1.50',
      ports: [{ port: 3232, source: 'upload', outcome: 'silent', sent: 1, waitedMs: 100 }],
      mdns: [{ name: 'esp32-x', host: 'esp32-x.local', addresses: ['192.168.1.50'], port: 4000, txt: {} }],
      mdnsWaitMs: 2500,
      durationMs: 2600,
    };
    const d = diagnose(o, err('NO_INVITATION_REPLY', 'No answer.', o), { followUp: fu });
    assert.equal(d.causes[0]?.id, 'WRONG_PORT');
    assert.match(d.causes[0]?.title ?? '', /port 4000 over mDNS/);
  });

  it('the connection came from another address → NAT / wrong interface', () => {
    const o = observation({
      okAt: 50,
      connect: {
        waitMs: 10_000,
        refused: [{ at: 80, from: '10.8.0.1' }],
        extra: 0,
        probes: 1,
        probeAnsweredAt: 10_100,
      },
    });
    const d = diagnose(o, err('NO_CONNECT_BACK', 'The device said OK but did not connect back.', o));
    assert.equal(d.causes[0]?.id, 'WRONG_INTERFACE');
    assert.ok(d.causes[0]?.evidence.some((e) => /a connection came from 10\.8\.0\.1/.test(e)));
  });

  it('a routed path (VPN, another subnet) raises the wrong-interface cause', () => {
    const o = observation({
      local: { address: '10.8.0.6', addressFrom: 'route', udpPort: 1, tcpPort: 40000 },
      okAt: 50,
      connect: { waitMs: 10_000, refused: [], extra: 0, probes: 1, probeAnsweredAt: 10_100 },
    });
    const d = diagnose(o, err('NO_CONNECT_BACK', 'No connect-back.', o));
    const c = d.causes.find((x) => x.id === 'WRONG_INTERFACE');
    assert.equal(c?.likelihood, 'medium');
    assert.ok(c?.evidence.some((e) => /not in the same \/24 network/.test(e)));
  });

  it('ESP32, slot size unknown, image above the default slot → too big is likely', () => {
    const o = observation({
      image: { command: 0, compressed: false, signedSubstituted: false, size: 1_500_000, firstByte: 0xe9 },
      okAt: 50,
      connect: { waitMs: 10_000, refused: [], extra: 0, probes: 1, probeAnsweredAt: 10_100 },
    });
    const d = diagnose(o, err('NO_CONNECT_BACK', 'No connect-back.', o));
    const c = d.causes.find((x) => x.id === 'IMAGE_TOO_BIG_FOR_SLOT');
    // Above the default slot, and idle again right after its OK (begin() failed at once): ranked
    // ahead of the firewall, which stays on the list.
    assert.equal(c?.likelihood, 'high');
    assert.ok(c?.evidence.some((e) => /slot size is unknown .*which this image exceeds/.test(e)));
    assert.equal(d.causes[0]?.id, 'IMAGE_TOO_BIG_FOR_SLOT');
    assert.ok(d.causes.some((x) => x.id === 'HOST_FIREWALL'));
  });

  it('a scheme without a second OTA slot is named', () => {
    const o = observation({
      context: { partitions: 'huge_app' },
      okAt: 50,
      connect: { waitMs: 10_000, refused: [], extra: 0, probes: 0 },
    });
    const d = diagnose(o, err('NO_CONNECT_BACK', 'No connect-back.', o));
    assert.equal(d.causes[0]?.id, 'IMAGE_TOO_BIG_FOR_SLOT');
    assert.ok(d.causes[0]?.evidence.some((e) => /huge_app scheme, which has no second OTA slot/.test(e)));
  });

  it('an ESP8266 never gets the silent too-big cause', () => {
    const o = observation({
      target: { host: 'd1', address: '192.168.1.51', port: 8266 },
      context: { chip: 'esp8266' },
      image: { command: 0, compressed: false, signedSubstituted: false, size: 3_000_000 },
      okAt: 50,
      connect: { waitMs: 10_000, refused: [], extra: 0, probes: 0 },
    });
    const d = diagnose(o, err('NO_CONNECT_BACK', 'No connect-back.', o));
    assert.ok(!ids(d).includes('IMAGE_TOO_BIG_FOR_SLOT'));
  });

  it('answers from another address → ANSWER_FROM_OTHER_ADDRESS', () => {
    const o = observation({
      received: [
        {
          at: 20,
          from: '192.168.1.77',
          fromPort: 3232,
          fromDevice: false,
          text: 'OK',
          kind: 'ok',
          use: 'ignored',
        },
      ],
    });
    const d = diagnose(o, err('NO_INVITATION_REPLY', 'No answer.', o));
    assert.ok(ids(d).includes('ANSWER_FROM_OTHER_ADDRESS'));
    assert.ok(needsFollowUp(o, { code: 'NO_INVITATION_REPLY' }));
  });

  it('errors before the device: name, pre-flight, usage, interruption, unknown input', () => {
    assert.equal(
      diagnose(undefined, new AirflashError('HOST_NOT_FOUND', 'Cannot resolve "kitchen.local"')).causes[0]
        ?.id,
      'NAME_NOT_RESOLVED',
    );
    assert.equal(
      diagnose(undefined, new AirflashError('PREFLIGHT_TOO_BIG', 'too big', { hint: 'pick min_spiffs' }))
        .causes[0]?.id,
      'PREFLIGHT_REFUSED',
    );
    assert.equal(diagnose(undefined, new AirflashError('FILE_NOT_FOUND', 'no file')).causes[0]?.id, 'USAGE');
    assert.equal(
      diagnose(undefined, new AirflashError('INTERRUPTED', 'Interrupted')).causes[0]?.id,
      'INTERRUPTED',
    );
    const d = diagnose(undefined, new Error('boom'));
    assert.equal(d.causes[0]?.id, 'UNKNOWN');
    assert.equal(needsFollowUp(undefined, new Error('x')), false);
    assert.match(renderDiagnosis(diagnose(undefined, undefined)), /^Diagnosis: /);
  });

  it('a successful upload with a late first answer gets a LOOP_BLOCKED advisory', () => {
    const o = observation({
      received: [
        {
          at: 29_600,
          from: '192.168.1.50',
          fromPort: 3232,
          fromDevice: true,
          text: 'OK',
          kind: 'ok',
          use: 'accepted',
        },
      ],
      firstAnswerLatencyMs: 29_600,
      firstAnswerSinceLastInvitationMs: 9_600,
      loopPeriodMs: 30_000,
      loopPeriodKind: 'measured',
      loopPeriodEvidence: ['OK → connect: 30.0 s'],
      outcome: { ok: true, message: 'updated', at: 70_000 },
    });
    const d = diagnose(o);
    assert.equal(d.code, null);
    assert.match(d.summary, /succeeded; .*about every 30\.0 s/);
    assert.equal(d.causes[0]?.id, 'LOOP_BLOCKED');
    assert.match(d.causes[0]?.title ?? '', /only about every 30\.0 s/);
  });
});
