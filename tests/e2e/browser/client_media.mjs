// Browser e2e of the consultation call through the real binary: each participant in its own
// Chromium (own profile), media over WHIP/WHEP, checked with getStats() through the page's
// window.medrelay hooks. Usage:
//   node client_media.mjs <medrelay binary> <web/dist> <artifacts dir> <case>
// Cases: d2p (admit, both decode, screenshots, cancel ends every page within 1 s),
// three_party (d2p_with_n and d2p_with_d), relay (TURN over UDP/TCP/TLS, relay pair asserted),
// drop (the media ports blocked with nft for a few seconds, the call recovers on the same page).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifactsDir, check, done, launchBrowser, startRelay, waitFor } from './harness.mjs';

const [binary, webRoot, artifacts, which] = process.argv.slice(2);
const out = artifactsDir(artifacts);
const browsers = [];

async function join_(relay, room, role, { mode, query = '', hash = '', browserOptions = {} } = {}) {
  // A third participant needs the patient's recorded consent.
  const consent = role === 'doctor' || role === 'patient' ? {}
    : { consent: { given_by: 'patient-1', given_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), role } };
  // Subjects unique per room: one doctor subject is busy while connected in another room.
  const inv = await relay.invite(room, role, { subject: `${role}-${room}`, ...consent });
  const browser = await launchBrowser(browserOptions);
  browsers.push(browser);
  const page = await browser.context.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log(`[${role}] ${m.text()}`); });
  await page.goto(relay.link(room, inv.token, query) + hash);
  return { page, inv, role, mode };
}

async function phase(page, want, ms = 15000) {
  await page.waitForFunction((w) => document.body.dataset.phase === w, want, { timeout: ms });
}

// Video frames decoded and audio packets received rising from every role in `from`.
async function decoding(p, from, ms = 25000) {
  const first = await waitFor(async () => {
    const s = await p.page.evaluate(() => window.medrelay.inbound());
    return from.every((r) => s[r] && s[r].framesDecoded > 0 && s[r].audioPackets > 0) ? s : null;
  }, ms, `${p.role} decoding ${from.join(', ')}`);
  await waitFor(async () => {
    const s = await p.page.evaluate(() => window.medrelay.inbound());
    return from.every((r) => s[r].framesDecoded > first[r].framesDecoded + 5
      && s[r].audioPackets > first[r].audioPackets + 10);
  }, 10000, `${p.role}'s counters from ${from.join(', ')} rising`);
}

async function admit(doctor, patient) {
  await phase(patient.page, 'waiting');
  await doctor.page.locator('#admit').waitFor({ state: 'visible', timeout: 15000 });
  await doctor.page.click('#admit');
  await phase(patient.page, 'call');
}

async function closeBrowsers() {
  while (browsers.length > 0) await browsers.pop().close();
}

async function pairsOf(p) {
  return p.page.evaluate(() => window.medrelay.pairs());
}

async function caseD2p() {
  const relay = await startRelay(binary, webRoot);
  try {
    const room = await relay.createRoom();
    let d;
    let p;
    await check('d2p: patient waits, doctor admits with the button, both decode audio and video', async () => {
      d = await join_(relay, room, 'doctor');
      p = await join_(relay, room, 'patient');
      await phase(d.page, 'call');
      await admit(d, p);
      await Promise.all([decoding(d, ['patient']), decoding(p, ['doctor'])]);
    });
    await check('d2p: screenshots of both views during the call', async () => {
      for (const x of [d, p]) {
        // Wait until the remote video has painted (its intrinsic size known).
        await x.page.waitForFunction(() => [...document.querySelectorAll('.tile.remote video')]
          .every((v) => v.videoWidth > 0 && v.currentTime > 0.5), null, { timeout: 10000 });
        await x.page.screenshot({ path: join(out, `call-${x.role}.png`) });
      }
    });
    await check('d2p: cancelling the room ends the call on every page within one second', async () => {
      for (const x of [d, p]) {
        await x.page.evaluate(() => {
          window.endedAt = null;
          new MutationObserver(() => {
            if (document.body.dataset.phase === 'ended' && !window.endedAt) window.endedAt = Date.now();
          }).observe(document.body, { attributes: true, attributeFilter: ['data-phase'] });
        });
      }
      const r = await relay.api('DELETE', `/v1/rooms/${room}`);
      const answered = Date.now();
      if (r.status !== 200 && r.status !== 204) throw new Error(`DELETE ${r.status}`);
      for (const x of [d, p]) {
        await phase(x.page, 'ended', 3000);
        const at = await x.page.evaluate(() => window.endedAt);
        const lag = at - answered;
        console.log(`  ${x.role} ended ${lag} ms after the DELETE answer`);
        if (lag > 1000) throw new Error(`${x.role} ended ${lag} ms after the DELETE`);
        const text = await x.page.locator('#ended-title').innerText();
        if (!/cancelled/.test(text)) throw new Error(`${x.role}: ${text}`);
        if ((await x.page.locator('video').count()) > 1 || (await x.page.locator('.tile.remote').count()) > 0) {
          throw new Error(`${x.role}: remote tiles left after the end`);
        }
      }
    });
  } finally {
    await closeBrowsers();
    await relay.stop();
  }
}

async function caseThreeParty() {
  const relay = await startRelay(binary, webRoot);
  try {
    for (const [mode, third] of [['d2p_with_n', 'nurse'], ['d2p_with_d', 'attending_doctor']]) {
      await check(`${mode}: doctor, patient and ${third} each decode the other two`, async () => {
        const room = await relay.createRoom({ mode });
        const d = await join_(relay, room, 'doctor');
        const t = await join_(relay, room, third);
        const p = await join_(relay, room, 'patient');
        await phase(d.page, 'call');
        await phase(t.page, 'call');
        await admit(d, p);
        await Promise.all([decoding(d, ['patient', third]), decoding(p, ['doctor', third]),
          decoding(t, ['doctor', 'patient'])]);
        await t.page.screenshot({ path: join(out, `call-${mode}-${third}.png`) });
        await closeBrowsers();
      });
    }
  } finally {
    await closeBrowsers();
    await relay.stop();
  }
}

function selfSignedCert(dir) {
  const key = join(dir, 'tls.key');
  const cert = join(dir, 'tls.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key, cert };
}

async function caseRelay() {
  const tmp = artifactsDir(join(out, 'relay-tls'));
  const { key, cert } = selfSignedCert(tmp);
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const browserOptions = { ignoreHTTPSErrors: true };
  const relay = await startRelay(binary, webRoot, ['--set', 'turn.tcp_listen=127.0.0.1:0',
    '--set', 'turn.tls_listen=127.0.0.1:0', '--set', `http.tls_cert=${cert}`, '--set', `http.tls_key=${key}`]);
  try {
    for (const transport of (process.env.MEDRELAY_RELAY_TRANSPORTS || 'udp,tcp').split(',')) {
      await check(`relay over TURN/${transport}: every session's selected pair is a relay candidate`, async () => {
        const room = await relay.createRoom();
        const d = await join_(relay, room, 'doctor', { hash: `&relay=${transport}`, browserOptions });
        const p = await join_(relay, room, 'patient', { hash: `&relay=${transport}`, browserOptions });
        await phase(d.page, 'call');
        await admit(d, p);
        await Promise.all([decoding(d, ['patient']), decoding(p, ['doctor'])]);
        for (const x of [d, p]) {
          const pairs = await pairsOf(x);
          writeFileSync(join(out, `relay-${transport}-${x.role}-pairs.json`), JSON.stringify(pairs, null, 2));
          const names = Object.keys(pairs);
          if (names.length !== 2) throw new Error(`${x.role}: sessions ${names}`);
          for (const [name, pair] of Object.entries(pairs)) {
            if (!pair || pair.localType !== 'relay' || pair.relayProtocol !== transport) {
              throw new Error(`${x.role}/${name}: selected pair ${JSON.stringify(pair)}`);
            }
          }
        }
        await closeBrowsers();
      });
    }
  } finally {
    await closeBrowsers();
    await relay.stop();
  }
}

function nft(...args) {
  execFileSync('nft', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function caseDrop() {
  const relay = await startRelay(binary, webRoot);
  const table = `medrelay_e2e_${process.pid}`;
  try {
    await check('network drop: media ports blocked for 6 s, the call recovers on the same page', async () => {
      const room = await relay.createRoom();
      const d = await join_(relay, room, 'doctor');
      const p = await join_(relay, room, 'patient');
      await phase(d.page, 'call');
      await admit(d, p);
      await Promise.all([decoding(d, ['patient']), decoding(p, ['doctor'])]);
      for (const x of [d, p]) await x.page.evaluate(() => { window.sameDocument = true; });
      // The medrelay media address(es) the patient's sessions use (UDP host candidates).
      const pairs = await pairsOf(p);
      const ports = [...new Set(Object.values(pairs).map((x) => Number(x.remote.split(':').pop())))];
      if (ports.length === 0 || ports.some((x) => !x)) throw new Error(`pairs ${JSON.stringify(pairs)}`);
      // A network drop takes the TURN server away too: otherwise ICE rightly fails over to the
      // relay candidates the page got from the Link headers and the call never stalls.
      const turn = /TURN listening: udp (\d+) tcp (\d+) tls (\d+)/.exec(relay.output());
      if (!turn) throw new Error('no TURN listener in the server output');
      for (const t of turn.slice(1).map(Number)) if (t) ports.push(t);
      nft('add', 'table', 'inet', table);
      nft('add', 'chain', 'inet', table, 'out', '{ type filter hook output priority 0 ; }');
      for (const port of ports) {
        for (const dir of ['dport', 'sport']) {
          nft('add', 'rule', 'inet', table, 'out', 'ip', 'daddr', '127.0.0.1', 'udp', dir, String(port), 'drop');
          nft('add', 'rule', 'inet', table, 'out', 'ip', 'daddr', '127.0.0.1', 'tcp', dir, String(port), 'drop');
        }
      }
      const blocked = Date.now();
      await waitFor(() => p.page.evaluate(() => document.body.dataset.connection === 'reconnecting'),
        15000, 'the patient page to notice the loss');
      console.log(`  patient noticed the loss after ${Date.now() - blocked} ms`);
      // The block is real: nothing decodes while it lasts.
      const stalled = await p.page.evaluate(() => window.medrelay.inbound());
      await new Promise((r) => setTimeout(r, Math.max(3000, 6000 - (Date.now() - blocked))));
      const still = await p.page.evaluate(() => window.medrelay.inbound());
      if ((still.doctor?.framesDecoded || 0) > (stalled.doctor?.framesDecoded || 0)) {
        throw new Error(`frames decoded during the block: ${JSON.stringify([stalled, still])}`);
      }
      nft('delete', 'table', 'inet', table);
      const unblocked = Date.now();
      await Promise.all([decoding(d, ['patient'], 40000), decoding(p, ['doctor'], 40000)]);
      console.log(`  decoding again ${Date.now() - unblocked} ms after the block was lifted`);
      const after = await p.page.evaluate(() => window.medrelay.inbound());
      console.log(`  patient inbound at the loss ${JSON.stringify(stalled)}, end of block ${JSON.stringify(still)}, after ${JSON.stringify(after)}`);
      for (const x of [d, p]) {
        if (!(await x.page.evaluate(() => window.sameDocument === true))) throw new Error(`${x.role} reloaded`);
        const st = await x.page.evaluate(() => window.medrelay.state());
        if (st.phase !== 'call') throw new Error(`${x.role}: ${JSON.stringify(st)}`);
      }
    });
  } finally {
    try { nft('delete', 'table', 'inet', table); } catch { /* not there */ }
    await closeBrowsers();
    await relay.stop();
  }
}

const cases = { d2p: caseD2p, three_party: caseThreeParty, relay: caseRelay, drop: caseDrop };
if (!cases[which]) {
  console.log(`unknown case ${which}`);
  process.exit(2);
}
await cases[which]();
done();
