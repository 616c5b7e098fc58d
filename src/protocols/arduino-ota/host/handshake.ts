import { asciiBytes } from '../wire/index.ts';
import { type HandshakeOutcome, onConnection, onDatagram, onRefused } from './handshake-replies.ts';
import { type HandshakeContext, type HandshakeState, Session } from './handshake-session.ts';
import { onDeadline } from './handshake-timers.ts';

export { type HandshakeOutcome, RECEIVED_KEPT } from './handshake-replies.ts';
export { type HandshakeContext, type HandshakeEvent, HandshakeState } from './handshake-session.ts';

/** A datagram that returns a device waiting for auth to idle and is ignored by an idle device. */
export const RESET_DATAGRAM = asciiBytes('0\n');

/**
 * Invitation, authentication and the wait for the connect-back, as one state machine over one
 * datagram socket (docs/upload.md "How airflash talks to the device"): this driver pulls events
 * from the inbox with the current mode's deadline and hands them to the mode's reaction
 * (handshake-replies.ts, handshake-timers.ts). Resolves with the device's stream.
 */
export async function handshake(ctx: HandshakeContext, state: HandshakeState): Promise<HandshakeOutcome> {
  const s = new Session(ctx, state);
  ctx.rec.setPhase('invite');
  s.invite('first');
  for (;;) {
    const ev = await ctx.inbox.next(s.deadline - ctx.rec.now(), ctx.signal);
    if (ev === undefined) await onDeadline(s);
    else if (ev.kind === 'refused') onRefused(s, ev);
    else if (ev.kind === 'conn') return onConnection(s, ev);
    else await onDatagram(s, ev);
  }
}
