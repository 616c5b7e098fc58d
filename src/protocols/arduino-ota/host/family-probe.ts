/**
 * The chip-family question of one ArduinoOTA upload (issue 11), asked before the first image byte
 * on each port the upload is about to invite (the port given, then a wrong-port fallback's): when
 * the front handed a `FamilyCheck` (the image's family is known, the device's is not) and the port
 * is the OTHER family's default (8266 with an ESP32 app, 3232 with an ESP8266 sketch), the one
 * probe's size-0 invitation asks the device (`askFamily()`, which leaves it idle) and an answer
 * that contradicts the image refuses it (PREFLIGHT_WRONG_CHIP, the front's wording). An answer
 * that does not tell (an MD5 nonce, no answer) refuses nothing: "could not tell".
 * Not asked: the image family's default port (consistent evidence, no cost on the default path)
 * and a port that is neither default. Such a port says nothing, but asking there costs each
 * device with a custom port a probe before every upload, and the probe's datagrams queue ahead of
 * the invitation on a device whose loop() blocks (docs/upload.md: the trade-off).
 */
import { DEFAULT_PORT } from '../../../devices/family.ts';
import type { FamilyCheck } from '../../types.ts';
import type { FamilyAnswer } from './probe-device.ts';
import type { Recorder } from './recorder.ts';

const NAME = { esp32: 'ESP32', esp8266: 'ESP8266' } as const;
const OTHER = { esp32: 'esp8266', esp8266: 'esp32' } as const;

/** Asks one port which family answers (probe-device.ts `askFamily`, bound to the device). */
export type AskFamily = (port: number) => Promise<FamilyAnswer>;

/**
 * A function for withPortFallback(): before an invitation to `port`, ask the device when the
 * check calls for it, at most once per port; throws the refusal.
 */
export function familyGate(
  rec: Recorder,
  check: FamilyCheck | undefined,
  ask: AskFamily,
): ((port: number) => Promise<void>) | undefined {
  if (check === undefined) return undefined;
  const asked = new Set<number>();
  return async (port) => {
    const family = check.imageFamily;
    const other = OTHER[family];
    if (port !== DEFAULT_PORT[other] || asked.has(port)) return;
    asked.add(port);
    rec.setPhase('preflight');
    rec.log(
      `port ${port} is the ${NAME[other]} default, the image is for an ${NAME[family]}: asking the device which chip family it is (size-0 invitation)`,
    );
    const answer = await ask(port);
    if (answer.outcome === 'refused') {
      rec.log(`nothing listens on ${port} (port unreachable): the invitation finds out the rest`);
      return;
    }
    if (answer.family === undefined) {
      rec.hint(
        `could not tell the device's chip family before sending: ${answer.why ?? 'its answer does not tell'}; sending the ${NAME[family]} image`,
      );
      return;
    }
    rec.log(`the device is an ${NAME[answer.family.family]}: ${answer.family.how}`);
    const refusal = check.verdict(answer.family);
    if (refusal) throw refusal;
  };
}
