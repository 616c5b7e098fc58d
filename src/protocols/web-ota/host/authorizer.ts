/**
 * The Authorization header of each request of one attempt. Digest is answered from a challenge
 * read by a body-less request first (`GET` of the profile's page, which a protected device
 * answers 401 without side effects), so the image is sent once, already authorised: a client
 * sending the image unauthorised would have the whole image read and discarded before the 401
 * (ESP8266HTTPUpdateServer answers only after the whole body, protocols-next.md §2.1a), and
 * `Expect: 100-continue` is not answered by that server (curl then waits 1 s and sends anyway).
 * Basic needs no challenge and is sent with every request when a password is given.
 */
import { randomBytes } from 'node:crypto';
import { AirflashError } from '../../../core/errors.ts';
import { basicAuthorization, type Challenge, digestAuthorization, parseChallenges } from '../wire/auth.ts';

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export class Authorizer {
  private challenge: Challenge | undefined;
  private nc = 0;
  private readonly cnonce = randomBytes(16).toString('hex');
  readonly credentials: Credentials | undefined;
  constructor(credentials: Credentials | undefined) {
    this.credentials = credentials;
  }

  get scheme(): 'basic' | 'digest' | 'none' {
    if (this.credentials === undefined) return 'none';
    return this.challenge?.scheme === 'digest' ? 'digest' : 'basic';
  }

  /** Take the challenge of a 401 (`WWW-Authenticate`); false when it offers no scheme airflash speaks. */
  learn(header: string | undefined): boolean {
    const all = parseChallenges(header ?? '');
    const digest = all.find((c) => c.scheme === 'digest');
    const basic = all.find((c) => c.scheme === 'basic');
    const pick = digest ?? basic;
    if (pick === undefined) return false;
    this.challenge = pick;
    this.nc = 0;
    return true;
  }

  /** The header for `method uri`, or undefined when no credentials were given. */
  header(method: string, uri: string): string | undefined {
    const c = this.credentials;
    if (c === undefined) return undefined;
    if (this.challenge?.scheme !== 'digest') return basicAuthorization(c.user, c.password);
    this.nc += 1;
    return digestAuthorization({
      challenge: this.challenge,
      user: c.user,
      password: c.password,
      method,
      uri,
      cnonce: this.cnonce,
      nc: this.nc,
    });
  }
}

/** The error of a 401: no credentials given, or the ones given were refused. */
export function authError(given: boolean, title: string, scheme: string | undefined): AirflashError {
  const how = scheme === undefined ? '' : ` (${scheme === 'digest' ? 'Digest' : 'Basic'})`;
  return given
    ? new AirflashError('AUTH_FAILED', `${title} refused the user name or password${how} (HTTP 401).`, {
        phase: 'auth',
        hint: 'Check --user and -a (AIRFLASH_HTTP_USER / AIRFLASH_PASSWORD); the user is the one set in the firmware (Tasmota: admin).',
      })
    : new AirflashError('AUTH_REQUIRED', `${title} wants a user name and password${how} (HTTP 401).`, {
        phase: 'auth',
        hint: 'Pass --user and -a (or AIRFLASH_HTTP_USER and AIRFLASH_PASSWORD).',
      });
}
