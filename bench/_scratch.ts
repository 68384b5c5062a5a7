import http from 'node:http';
import net from 'node:net';
import { startGateway } from './gateway.ts';
const gw = await startGateway({ args: ['--schema', 'bench/repos/online/schema', '--transforms', 'bench/repos/online/transforms'], env: { REDIS_URL: process.env.REDIS_URL! } });
const ts = new Date(Date.now() - 60000).toISOString();
for (let v = 1; v <= 5; v++) {
  const row: Record<string, unknown> = { user_id: 'u0', event_timestamp: ts };
  for (let f = 0; f < 10; f++) row[`v${v}_f${f}`] = v + f / 100;
  await fetch(gw.base + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `mutation($rows:[JSON!]!){ pushFeatures(view:"bench_v${v}", rows:$rows){ rows } }`, variables: { rows: [row] } }) });
}
const body = JSON.stringify({ query: '{ onlineFeatures(service: "bench_all", entities: [{user_id: "u0"}]) { rows } }' });
const url = new URL(gw.base);
const N = 5000;
async function time(name: string, fn: () => Promise<unknown>) {
  for (let i = 0; i < 1000; i++) await fn();
  const s: number[] = [];
  for (let i = 0; i < N; i++) { const t = process.hrtime.bigint(); await fn(); s.push(Number(process.hrtime.bigint() - t) / 1e6); }
  s.sort((a, b) => a - b);
  console.log(name, 'p50', s[N / 2]!.toFixed(3), 'p99', s[Math.floor(N * 0.99)]!.toFixed(3));
}
await time('fetch', async () => { const r = await fetch(gw.base + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body }); await r.text(); });
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const httpReq = () => new Promise<string>((resolve, reject) => {
  const req = http.request({ host: url.hostname, port: url.port, path: '/graphql', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    const chunks: Buffer[] = []; res.on('data', (c: Buffer) => chunks.push(c)); res.on('end', () => resolve(Buffer.concat(chunks).toString()));
  });
  req.on('error', reject); req.end(body);
});
await time('node:http', httpReq);
// raw socket
const sock = net.connect(Number(url.port), url.hostname); sock.setNoDelay(true);
await new Promise((r) => sock.once('connect', r));
const reqBytes = Buffer.from(`POST /graphql HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
let pending: ((b: Buffer) => void) | null = null; let buf = Buffer.alloc(0);
sock.on('data', (d: Buffer) => { buf = buf.length ? Buffer.concat([buf, d]) : d; const he = buf.indexOf('\r\n\r\n'); if (he < 0) return; const m = /content-length: (\d+)/i.exec(buf.subarray(0, he).toString('latin1')); const len = Number(m![1]); if (buf.length >= he + 4 + len) { const b = buf.subarray(he + 4, he + 4 + len); buf = buf.subarray(he + 4 + len); const p = pending!; pending = null; p(b); } });
await time('raw', () => new Promise<Buffer>((resolve) => { pending = resolve; sock.write(reqBytes); }));
sock.destroy();
console.log(await gw.stop());
