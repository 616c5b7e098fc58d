import { startDevice } from '../src/emulator/index.ts';
import { buildEsp8266Sketch } from '../src/formats/index.ts';
import { upload } from '../src/uploader/index.ts';
const dev = await startDevice({ core: 'esp8266', address: '127.0.0.77', port: 0, timeScale: 0.02, password: 'a' });
try { await upload({ host: dev.address, port: dev.port, password: 'b', data: buildEsp8266Sketch({ size: 50000, seed: 1 }), timeScale: 0.02 }); } catch (e) { console.log(e.code, e.data.observation.timeline.map((x) => `${x.at.toFixed(1)} ${x.what}`).join('\n')); }
console.log(dev.counters, dev.log().join('\n'));
await dev.close();
