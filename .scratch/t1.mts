import { startDevice } from '/work/wt/A-handshake/src/emulator/index.ts';
import { buildEsp32App } from '/work/wt/A-handshake/src/formats/index.ts';
import { upload } from '/work/wt/A-handshake/src/uploader/index.ts';
const dev = await startDevice({ core: 'esp32', address: '127.0.7.1', password: 'pw' });
const t0 = performance.now();
try {
  const r = await upload({ host: dev.address, port: 8266, password: 'pw', data: buildEsp32App({ size: 100000, seed: 3 }), onEvent: (e) => e.type !== 'progress' && console.log(JSON.stringify(e)) });
  console.log('ok', r.port, r.durationMs, r.warnings);
} catch (e) { console.log('fail', e.code, e.message); }
console.log((performance.now() - t0).toFixed(0), 'ms');
await dev.close();
