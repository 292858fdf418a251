// Browser e2e for the consultation page without media: the info panel, the patient's waiting
// state, refusals (early, uninvited, revoked, cancelled, expired link), cancellation ending an
// open page within a second, the token never appearing in a request line, and /app/'s headers.
// Usage: node client_pages.mjs <medrelay binary> <web/dist> <artifacts dir>
import { join } from 'node:path';
import { artifactsDir, check, done, launchBrowser, startRelay, waitFor } from './harness.mjs';

const [binary, webRoot, artifacts] = process.argv.slice(2);
const out = artifactsDir(artifacts);
const relay = await startRelay(binary, webRoot);
const browser = await launchBrowser();
const kJa = 'このビデオ通話は開始前です。開始1時間前より待機することができます。';

async function open(url) {
  const page = await browser.context.newPage();
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  return { page, requests };
}

async function phase(page, want) {
  await page.waitForFunction((w) => document.body.dataset.phase === w, want, { timeout: 10000 });
}

try {
  await check('/app/ is served with a CSP and redirects /app', async () => {
    const r = await fetch(`${relay.base}/app/`);
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    const csp = r.headers.get('content-security-policy') || '';
    if (!csp.startsWith("default-src 'self'")) throw new Error(`CSP ${csp}`);
    const html = await r.text();
    if (/https?:\/\//.test(html.replace(/http:\/\/www\.w3\.org[^"]*/g, ''))) throw new Error('external URL in index.html');
    const bare = await fetch(`${relay.base}/app`, { redirect: 'manual' });
    if (bare.status !== 301 || bare.headers.get('location') !== '/app/') throw new Error(`bare ${bare.status}`);
    const up = await fetch(`${relay.base}/app/%2e%2e/data/api-key`);
    if (up.status !== 404) throw new Error(`traversal ${up.status}`);
  });

  const room = await relay.createRoom();
  const doctor = await relay.invite(room, 'doctor');
  const patient = await relay.invite(room, 'patient');

  await check('patient: info panel and waiting state; token never in a request line', async () => {
    const { page, requests } = await open(relay.link(room, patient.token));
    await phase(page, 'waiting');
    const text = await page.locator('#info').innerText();
    for (const want of ['Dr. Example', 'example-clinic', '03-0000-0000', 'Doctor and patient', 'Patient']) {
      if (!text.includes(want)) throw new Error(`info panel lacks ${want}: ${text}`);
    }
    if (!(await page.locator('#waiting').isVisible())) throw new Error('waiting banner hidden');
    if (await page.locator('#admit-bar').isVisible()) throw new Error('patient sees the admit button');
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(out, 'patient-waiting.png') });
    const leaked = requests.filter((u) => u.includes(patient.token));
    if (leaked.length > 0) throw new Error(`token in request URL: ${leaked[0]}`);
    await page.close();
  });

  await check('doctor: info panel, in the call, leave', async () => {
    const { page } = await open(relay.link(room, doctor.token));
    await phase(page, 'call');
    if (!(await page.locator('#info-doctor').innerText()).includes('Dr. Example')) throw new Error('doctor name');
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(out, 'doctor-view.png') });
    await page.click('#leave');
    await phase(page, 'ended');
    await page.close();
  });

  await check('early link: not-open message in English and Japanese, no media', async () => {
    const start = new Date(Date.now() + 3 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    const early = await relay.createRoom({ scheduled_start: start });
    const inv = await relay.invite(early, 'patient');
    const { page, requests } = await open(relay.link(early, inv.token));
    await phase(page, 'refused');
    const text = await page.locator('#screen-refused').innerText();
    if (!/one hour before the start/.test(text)) throw new Error(text);
    if (!text.includes(kJa)) throw new Error(`no Japanese message: ${text}`);
    if (!/Opens at/.test(text)) throw new Error(`no opening time: ${text}`);
    if (!(await page.locator('#info-doctor').innerText()).includes('Dr. Example')) throw new Error('doctor name hidden');
    await page.screenshot({ path: join(out, 'early-link.png') });
    if (requests.some((u) => /\/(whip|whep)/.test(u))) throw new Error('media was attempted');
    await page.close();
  });

  await check('uninvited link and a link without token: invalid-link message, no media', async () => {
    for (const url of [relay.link(room, 'not-a-real-token-0123456789'), `${relay.base}/app/`]) {
      const { page, requests } = await open(url);
      await phase(page, 'refused');
      const text = await page.locator('#refused-message').innerText();
      if (!/not valid/.test(text)) throw new Error(text);
      if (requests.some((u) => /\/(whip|whep|events)/.test(u))) throw new Error('went further than info');
      if (url.includes('not-a-real')) await page.screenshot({ path: join(out, 'uninvited-link.png') });
      await page.close();
    }
  });

  await check('revoked invite and cancelled room: their messages', async () => {
    const r2 = await relay.createRoom();
    const d2 = await relay.invite(r2, 'doctor');
    const p2 = await relay.invite(r2, 'patient');
    const rev = await relay.api('DELETE', `/v1/rooms/${r2}/invites/${p2.invite_id || p2.id}`);
    if (rev.status !== 200) throw new Error(`revoke ${rev.status} ${JSON.stringify(rev.body)}`);
    let { page } = await open(relay.link(r2, p2.token));
    await phase(page, 'refused');
    if (!/revoked/.test(await page.locator('#refused-message').innerText())) throw new Error('revoked text');
    await page.close();
    const del = await relay.api('DELETE', `/v1/rooms/${r2}`);
    if (del.status !== 200) throw new Error(`cancel ${del.status}`);
    ({ page } = await open(relay.link(r2, d2.token)));
    await phase(page, 'refused');
    if (!/cancelled/.test(await page.locator('#refused-message').innerText())) throw new Error('cancelled text');
    await page.screenshot({ path: join(out, 'cancelled-room.png') });
    await page.close();
  });

  await check('cancelling ends an open page within a second', async () => {
    const r3 = await relay.createRoom();
    const p3 = await relay.invite(r3, 'patient');
    const { page } = await open(relay.link(r3, p3.token));
    await phase(page, 'waiting');
    await page.waitForTimeout(300);  // the event stream is subscribed
    const t0 = Date.now();
    const del = await relay.api('DELETE', `/v1/rooms/${r3}`);
    if (del.status !== 200) throw new Error(`cancel ${del.status}`);
    await phase(page, 'ended');
    const ms = Date.now() - t0;
    if (ms > 1000) throw new Error(`took ${ms} ms`);
    if (!/cancelled/.test(await page.locator('#ended-title').innerText())) throw new Error('ended title');
    await page.screenshot({ path: join(out, 'cancelled-during-wait.png') });
    await page.close();
  });

  await check('expired window: expired message', async () => {
    const iso = (d) => d.toISOString().replace(/\.\d+Z$/, 'Z');
    const now = Date.now();
    const r4 = await relay.createRoom({ scheduled_start: iso(new Date(now)),
                                        opens_at: iso(new Date(now - 3600e3)),
                                        closes_at: iso(new Date(now + 2500)) });
    const p4 = await relay.invite(r4, 'patient');
    await new Promise((r) => setTimeout(r, 3200));
    const { page } = await open(relay.link(r4, p4.token));
    await phase(page, 'refused');
    if (!/expired/.test(await page.locator('#refused-message').innerText())) throw new Error('expired text');
    await page.close();
  });
} finally {
  await browser.close();
  await relay.stop();
}
done();
