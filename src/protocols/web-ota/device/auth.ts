/**
 * The emulated web server's HTTP auth, written from RFC 7617 (Basic) and RFC 7616 (Digest, MD5 and
 * SHA-256, qop=auth) apart from the uploader's code: the challenge it sends and the check of an
 * `Authorization` header against its user, password and the nonce it issued.
 */
import { createHash, randomBytes } from 'node:crypto';

export type WebAuthScheme = 'basic' | 'digest';

export interface WebAuthConfig {
  user: string;
  password: string;
  scheme: WebAuthScheme;
  /** Digest algorithm (default MD5, as ESP8266WebServer and ESPAsyncWebServer). */
  algorithm?: 'MD5' | 'SHA-256';
  realm?: string;
}

function params(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([a-zA-Z]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(text); m !== null && out.size < 32; m = re.exec(text))
    out.set((m[1] as string).toLowerCase(), (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1'));
  return out;
}

export class WebAuth {
  private readonly config: WebAuthConfig;
  private nonce = randomBytes(16).toString('hex');
  private readonly opaque = randomBytes(8).toString('hex');
  constructor(config: WebAuthConfig) {
    this.config = config;
  }

  /** A new challenge (a fresh Digest nonce each time, as ESP8266WebServer's requestAuthentication). */
  challenge(): string {
    const realm = this.config.realm ?? 'Login Required';
    if (this.config.scheme === 'basic') return `Basic realm="${realm}"`;
    this.nonce = randomBytes(16).toString('hex');
    return `Digest realm="${realm}", qop="auth", nonce="${this.nonce}", opaque="${this.opaque}", algorithm=${this.config.algorithm ?? 'MD5'}`;
  }

  /** Whether `header` carries the right credentials for `method uri`. */
  check(header: string | undefined, method: string): boolean {
    if (header === undefined) return false;
    const c = this.config;
    if (c.scheme === 'basic') {
      const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
      if (!m) return false;
      return Buffer.from(m[1] as string, 'base64').toString('utf8') === `${c.user}:${c.password}`;
    }
    const m = /^Digest\s+(.*)$/is.exec(header);
    if (!m) return false;
    const p = params(m[1] as string);
    const algorithm = c.algorithm ?? 'MD5';
    if ((p.get('algorithm') ?? 'MD5').toUpperCase() !== algorithm) return false;
    if (p.get('username') !== c.user || p.get('nonce') !== this.nonce) return false;
    if (p.get('realm') !== (c.realm ?? 'Login Required') || p.get('qop') !== 'auth') return false;
    const h = (s: string): string =>
      createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
        .update(s)
        .digest('hex');
    const ha1 = h(`${c.user}:${p.get('realm')}:${c.password}`);
    const ha2 = h(`${method}:${p.get('uri') ?? ''}`);
    const expected = h(`${ha1}:${this.nonce}:${p.get('nc') ?? ''}:${p.get('cnonce') ?? ''}:auth:${ha2}`);
    return p.get('response') === expected;
  }
}
