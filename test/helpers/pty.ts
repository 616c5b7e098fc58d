/**
 * The pty pair of the serial tests: Debian's socat started by the test
 * (src/emulator/serial/pty.ts), the emulated board on one end, airflash's serialport on the other.
 */
export { type PtyPair, ptyPair } from '../../src/emulator/serial/pty.ts';
