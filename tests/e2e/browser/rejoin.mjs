// A dropped participant is back within seconds (issue 14; docs/web-client.md "Rejoining",
// docs/policy.md rule 5): the real binary, each participant in its own Chromium process so one
// can be SIGKILLed like a phone that dies. Usage:
//   node rejoin.mjs <medrelay binary> <web/dist> <artifacts dir> <case> [--runs N]
// Cases:
//   patient_kill   mid-call the patient's browser is SIGKILLed and the same link opened at once in
//                  a new browser: both decode each other again within 5 s of the new page; the
//                  killed page's sessions end `takeover` in the access log, nobody else's end;
//   doctor_kill    the same for the doctor's browser;
//   network_block  the patient's network (its own network namespace) dropped by nft for 10 s,
//                  then restored: the same page, no new link; both decode again within 3 s of
//                  the restoration; the access log holds what the recovery did (needs root:
//                  exit 77 = skipped);
//   bench          --runs N (default 10) patient_kill rejoins, timed; writes rejoin.json with
//                  every run and p50/p95 of "new page opened to first decoded frame" both ways
//                  (bench/rejoin/run).
// Times are taken in the pages (Date.now() when framesDecoded first rises, polled every 20 ms)
// and in this script, on one clock.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { accessLog, artifactsDir, check, done, killBrowser, launchBrowser, startRelay, waitFor } from './harness.mjs';
import { runInsideRelayNamespace, ShapedNet } from './shaped_net.mjs';

const [binary, webRoot, artifacts, which, ...flags] = process.argv.slice(2);
const out = artifactsDir(artifacts);
const runs = Number(flags.find((f) => f.startsWith('--runs='))?.slice(7) || 10);
const inside = flags.includes('--inside');  // already running in the relay's namespace
const browsers = new Set();
const kStaleAfterMs = 2000;  // media.stale_after_ms, the default

const kCases = ['patient_kill', 'doctor_kill', 'network_block', 'network_block_consent', 'network_switch', 'bench'];
if (!kCases.includes(which)) {
  console.log(`unknown case ${which}; one of ${kCases.join(', ')}`);
  process.exit(2);
}

// The network case needs namespaces: set them up, run this script again inside the relay's
// namespace, tear them down whatever happens (as call_quality.mjs does).
if (which.startsWith('network_') && !inside) {
  if (process.getuid() !== 0) {
    console.log('skipped: blocking one participant\'s network needs root (network namespaces, nft)');
    process.exit(77);
  }
  const code = await runInsideRelayNamespace({ shaped: true }, fileURLToPath(import.meta.url),
    [binary, webRoot, artifacts, which, ...flags]);
  process.exit(code);
}
const patientNs = flags.find((f) => f.startsWith('--patient-ns='))?.slice('--patient-ns='.length);
const host = inside ? ShapedNet.kRelayAddress : '127.0.0.1';

// A participant: its own browser process, one page.
async function openBrowser(relay, role) {
  const options = role === 'patient' && patientNs
    ? { executablePath: ShapedNet.chromiumWrapper(out, patientNs) } : {};
  // Inside the namespaces the relay's plain-HTTP address must count as a secure context
  // (getUserMedia), as 127.0.0.1 does.
  if (inside) options.extraArgs = [`--unsafely-treat-insecure-origin-as-secure=${relay.base}`];
  const browser = await launchBrowser(options);
  browsers.add(browser);
  const page = await browser.context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !/404|409|Failed to load resource/.test(m.text())) console.log(`[${role}] ${m.text()}`);
  });
  return { browser, page, role };
}

async function openLink(p, relay, room, token) {
  p.openedAt = Date.now();
  await p.page.goto(relay.link(room, token));
  await p.page.evaluate(recordPage);
}

// Runs in a page: remembers every own-connection state and reconnect notice shown, and when
// each remote tile was shown as reconnecting, so the test can say what the user saw.
function recordPage() {
  window.seen = { connection: [], notices: [], lost: [] };
  const note = () => {
    const c = document.body.dataset.connection;
    if (c && window.seen.connection.at(-1)?.[1] !== c) window.seen.connection.push([Date.now(), c]);
    const banner = document.getElementById('reconnecting');
    if (banner && !banner.hidden) {
      const text = `${document.getElementById('reconnecting-ja').textContent} / ${document.getElementById('reconnecting-en').textContent}`;
      if (window.seen.notices.at(-1) !== text) window.seen.notices.push(text);
    }
    for (const tile of document.querySelectorAll('.tile.remote')) {
      const lost = tile.classList.contains('lost');
      const last = window.seen.lost.filter((x) => x[1] === tile.dataset.role).at(-1);
      if ((last?.[2] ?? false) !== lost) window.seen.lost.push([Date.now(), tile.dataset.role, lost]);
    }
  };
  new MutationObserver(note).observe(document.body, { attributes: true, childList: true, subtree: true });
  note();
}

// Runs in a page: from now on, the time at which video frames decoded from `role` first exceed
// `baseline` (window.firstFrame[role]).
function watchFrames([role, baseline]) {
  window.firstFrame = window.firstFrame || {};
  delete window.firstFrame[role];
  const timer = setInterval(async () => {
    const s = (await window.medrelay.inbound())[role];
    if (s && s.framesDecoded > baseline) {
      window.firstFrame[role] = Date.now();
      clearInterval(timer);
    }
  }, 20);
}

// Runs in a page: samples its video receivers and sender every 100 ms for `ms` (the
// keyframe exchange after a loss: PLIs and NACKs sent, keyframes encoded and decoded) into
// window.timeline.
function sampleVideo(ms) {
  window.timeline = [];
  const t0 = Date.now();
  const timer = setInterval(async () => {
    if (Date.now() - t0 > ms) return clearInterval(timer);
    const row = { t: Date.now() };
    for (const [name, pc] of Object.entries(window.medrelay.connections())) {
      (await pc.getStats()).forEach((s) => {
        if (s.kind !== 'video') return;
        if (s.type === 'inbound-rtp') {
          row[name] = { packets: s.packetsReceived, frames: s.framesDecoded, keyframes: s.keyFramesDecoded,
            plis: s.pliCount, firs: s.firCount, nacks: s.nackCount, lost: s.packetsLost };
        } else if (s.type === 'outbound-rtp') {
          row[name] = { packets: s.packetsSent, keyframes: s.keyFramesEncoded, plis: s.pliCount, firs: s.firCount, nacks: s.nackCount };
        }
      });
    }
    window.timeline.push(row);
  }, 100);
}

async function framesFrom(p, role) {
  return (await p.page.evaluate(() => window.medrelay.inbound()))[role]?.framesDecoded || 0;
}

async function firstFrameAt(p, role, ms) {
  return waitFor(() => p.page.evaluate((r) => window.firstFrame?.[r] || null, role), ms,
    `${p.role} decoding ${role} again`);
}

async function phase(page, want, ms = 15000) {
  await page.waitForFunction((w) => document.body.dataset.phase === w, want, { timeout: ms });
}

// Video frames decoded and audio packets received rising from `from`.
async function decoding(p, from, ms = 20000) {
  const first = await waitFor(async () => {
    const s = await p.page.evaluate(() => window.medrelay.inbound());
    return s[from] && s[from].framesDecoded > 0 && s[from].audioPackets > 0 ? s[from] : null;
  }, ms, `${p.role} decoding ${from}`);
  await waitFor(async () => {
    const s = (await p.page.evaluate(() => window.medrelay.inbound()))[from];
    return s.framesDecoded > first.framesDecoded + 5 && s.audioPackets > first.audioPackets + 10;
  }, 10000, `${p.role}'s counters from ${from} rising`);
}

async function closeBrowsers() {
  await Promise.all([...browsers].map((b) => b.close()));
  browsers.clear();
}

// Doctor and patient in a call, both decoding each other.
async function call(relay) {
  const room = await relay.createRoom();
  const invites = {};
  const pages = {};
  for (const role of ['doctor', 'patient']) {
    // Subjects unique per room: a doctor subject is busy while connected in another room.
    invites[role] = await relay.invite(room, role, { subject: `${role}-${room}` });
    pages[role] = await openBrowser(relay, role);
    await openLink(pages[role], relay, room, invites[role].token);
  }
  const { doctor: d, patient: p } = pages;
  await phase(d.page, 'call');
  await phase(p.page, 'waiting');
  await d.page.locator('#admit').waitFor({ state: 'visible', timeout: 15000 });
  await d.page.click('#admit');
  await phase(p.page, 'call');
  await Promise.all([decoding(d, 'patient'), decoding(p, 'doctor')]);
  return { room, invites, pages };
}

// The access log's records of one room, with the sessions each invite had.
function sessionsOf(records, room, invite) {
  const mine = records.filter((r) => r.room === room && r.invite === invite);
  const sessions = new Map();
  for (const r of mine) {
    if (r.event === 'participant_joined') sessions.set(r.session, { id: r.session, direction: r.detail?.direction, joined: r, left: null });
    if (r.event === 'participant_left' && sessions.has(r.session)) sessions.get(r.session).left = r;
  }
  return [...sessions.values()];
}

const fmt = (xs) => JSON.stringify(xs.map((s) => ({ id: s.id, direction: s.direction, left: s.left?.reason || null })));

// One rejoin: `victim`'s browser is SIGKILLed mid-call and the same link opened at once in a
// new browser (launched beforehand, so "at once" is milliseconds: the worst case for the
// previous session's stale wait). Returns the figures; asserts what the user and the access
// log must show.
async function killAndRejoin(relay, victim, { quiet = false } = {}) {
  const survivorRole = victim === 'patient' ? 'doctor' : 'patient';
  const { room, invites, pages } = await call(relay);
  const survivor = pages[survivorRole];
  const old = pages[victim];
  const logStart = (await accessLog(relay)).at(-1)?.seq || 0;
  const fresh = await openBrowser(relay, victim);
  await survivor.page.evaluate(() => { window.seen.lost = []; });

  const killedAt = Date.now();
  killBrowser(old.browser);
  browsers.delete(old.browser);
  old.browser.close();  // the profile directory; the processes are gone
  const reopened = openLink(fresh, relay, room, invites[victim].token);
  // The survivor's counter from the victim once the dead browser's last frames are out.
  await new Promise((r) => setTimeout(r, 300));
  const baseline = await framesFrom(survivor, victim);
  await survivor.page.evaluate(watchFrames, [victim, baseline]);
  await reopened;
  await fresh.page.evaluate(watchFrames, [survivorRole, 0]);

  const limit = 5000;
  const newSees = await firstFrameAt(fresh, survivorRole, limit + 5000);
  const survivorSees = await firstFrameAt(survivor, victim, limit + 5000);
  const figures = {
    victim,
    openedAfterKillMs: fresh.openedAt - killedAt,
    // "rejoin to first frame": from the new page's navigation to the first decoded frame.
    [`${victim}SeesMs`]: newSees - fresh.openedAt,
    [`${survivorRole}SeesMs`]: survivorSees - fresh.openedAt,
    killTo: { [`${victim}Sees`]: newSees - killedAt, [`${survivorRole}Sees`]: survivorSees - killedAt },
  };
  const seenNew = await fresh.page.evaluate(() => window.seen);
  const seenSurvivor = await survivor.page.evaluate(() => window.seen);
  figures.newPageStates = seenNew.connection.map(([t, c]) => [t - fresh.openedAt, c]);
  figures.history = await fresh.page.evaluate(() => window.medrelay.history());
  if (!quiet) {
    console.log(`  ${victim} killed; new page ${figures.openedAfterKillMs} ms later; ${victim} decodes the ${survivorRole} `
      + `${figures[`${victim}SeesMs`]} ms and the ${survivorRole} the ${victim} ${figures[`${survivorRole}SeesMs`]} ms after it opened`);
    console.log(`  new page's connection: ${JSON.stringify(figures.newPageStates)}; notices ${JSON.stringify(seenNew.notices)}`);
    console.log(`  ${survivorRole}'s ${victim} tile lost/back: ${JSON.stringify(seenSurvivor.lost.map(([t, r, l]) => [t - killedAt, r, l]))}`);
  }
  for (const [who, ms] of [[victim, figures[`${victim}SeesMs`]], [survivorRole, figures[`${survivorRole}SeesMs`]]]) {
    if (ms > limit) throw new Error(`${who} decoded again only ${ms} ms after the new page opened (limit ${limit})`);
  }
  await Promise.all([decoding(fresh, survivorRole), decoding(survivor, victim)]);

  // What the users saw: the new page reconnected calmly (never an error or refusal screen), the
  // survivor saw the victim as reconnecting, then back.
  const st = await fresh.page.evaluate(() => ({ ...window.medrelay.state(), status: document.getElementById('media-status').textContent }));
  if (st.phase !== 'call' || st.connection !== 'connected' || /fail/i.test(st.status)) {
    throw new Error(`new ${victim} page: ${JSON.stringify(st)}`);
  }
  const states = seenNew.connection.map(([, c]) => c);
  if (states.some((c) => c === 'elsewhere')) throw new Error(`the new page said the link was live elsewhere: ${states}`);
  if (figures.openedAfterKillMs < kStaleAfterMs - 500 && !states.includes('previous')) {
    throw new Error(`the new page opened ${figures.openedAfterKillMs} ms after the kill but never waited for the old session: ${states}`);
  }
  if (states.includes('previous') && !seenNew.notices.some((n) => /再接続/.test(n) && /Reconnecting/.test(n))) {
    throw new Error(`no bilingual reconnecting notice while waiting: ${JSON.stringify(seenNew.notices)}`);
  }
  const tile = seenSurvivor.lost.filter(([, r]) => r === victim).map(([, , l]) => l);
  if (tile[0] !== true || tile.at(-1) !== false) {
    throw new Error(`the ${survivorRole}'s ${victim} tile did not go reconnecting then back: ${JSON.stringify(seenSurvivor.lost)}`);
  }
  // The survivor's page kept its subscription: the server re-bound it to the new publish session.
  const survivorHistory = await survivor.page.evaluate(() => window.medrelay.history());
  if ((survivorHistory[victim]?.recoveries || []).length > 0) {
    throw new Error(`the ${survivorRole}'s subscription had to recover: ${JSON.stringify(survivorHistory[victim])}`);
  }

  // The access log: the killed page's sessions (its publish session and its subscription) end
  // `takeover`; the new page's are live; the survivor's sessions never ended.
  const records = await accessLog(relay);
  const all = sessionsOf(records, room, invites[victim].id);
  const killed = all.filter((s) => s.joined.seq <= logStart);
  const rejoined = all.filter((s) => s.joined.seq > logStart);
  if (killed.length !== 2 || killed.some((s) => s.left?.reason !== 'takeover')) {
    throw new Error(`the killed ${victim} page's sessions: ${fmt(killed)} (want publish and subscribe, both ended takeover)`);
  }
  if (rejoined.length !== 2 || rejoined.some((s) => s.left) || new Set(rejoined.map((s) => s.direction)).size !== 2) {
    throw new Error(`the new ${victim} page's sessions: ${fmt(rejoined)} (want one publish and one subscribe, live)`);
  }
  const survivorSessions = sessionsOf(records, room, invites[survivorRole].id);
  if (survivorSessions.length !== 2 || survivorSessions.some((s) => s.left)) {
    throw new Error(`the ${survivorRole}'s sessions: ${fmt(survivorSessions)} (want both live, unchanged)`);
  }
  const takeover = killed.find((s) => s.direction === 'publish').left;
  figures.takeoverAfterKillMs = Date.parse(takeover.time) - killedAt;
  if (!quiet) console.log(`  access log: killed page's sessions ${fmt(killed)}, taken over ${figures.takeoverAfterKillMs} ms after the kill; new ${fmt(rejoined)}`);
  await closeBrowsers();
  return figures;
}

function nftIn(ns, table, dev) {
  const exec = ns ? ['ip', 'netns', 'exec', ns] : [];
  return {
    add() {
      run(...exec, 'nft', 'add', 'table', 'inet', table);
      run(...exec, 'nft', 'add', 'chain', 'inet', table, 'in', '{ type filter hook input priority -10 ; }');
      run(...exec, 'nft', 'add', 'rule', 'inet', table, 'in', 'iifname', dev, 'counter', 'drop');
    },
    remove() {
      try { run(...exec, 'nft', 'delete', 'table', 'inet', table); } catch { /* not there */ }
    },
  };
}

function run(...args) {
  const r = spawnSync(args[0], args.slice(1));
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
}

// The patient's network drops for `blockMs` (every packet either way lost on the link, dropped
// on each side's input so neither sender sees an error) and comes back; nobody opens a new link.
async function networkBlock(relay, { blockMs = 10000, limit = 3000 } = {}) {
  const { room, invites, pages } = await call(relay);
  const { doctor: d, patient: p } = pages;
  const logStart = (await accessLog(relay)).at(-1)?.seq || 0;
  await d.page.evaluate(() => { window.seen.lost = []; });
  const block = [nftIn(patientNs, 'medrelay_block', ShapedNet.kPatientDev),
    nftIn(null, 'medrelay_block', ShapedNet.kRelayDev)];
  const blockedAt = Date.now();
  try {
    for (const b of block) b.add();
    await waitFor(() => p.page.evaluate(() => document.body.dataset.connection === 'reconnecting'), 10000,
      'the patient page to show it is reconnecting');
    console.log(`  patient page reconnecting ${Date.now() - blockedAt} ms after the block`);
    const during = { patient: await framesFrom(p, 'doctor'), doctor: await framesFrom(d, 'patient') };
    await new Promise((r) => setTimeout(r, Math.max(0, blockMs - (Date.now() - blockedAt))));
    const end = { patient: await framesFrom(p, 'doctor'), doctor: await framesFrom(d, 'patient') };
    if (end.patient > during.patient + 2 || end.doctor > during.doctor + 2) {
      throw new Error(`frames decoded during the block: ${JSON.stringify({ during, end })}`);
    }
    await p.page.evaluate(watchFrames, ['doctor', end.patient]);
    await d.page.evaluate(watchFrames, ['patient', end.doctor]);
    for (const x of [d, p]) await x.page.evaluate(sampleVideo, 5000);
  } finally {
    for (const b of block) b.remove();
  }
  const restoredAt = Date.now();
  const patientSees = await firstFrameAt(p, 'doctor', limit + 10000) - restoredAt;
  const doctorSees = await firstFrameAt(d, 'patient', limit + 10000) - restoredAt;
  const history = await p.page.evaluate(() => window.medrelay.history());
  const seenP = await p.page.evaluate(() => window.seen);
  const seenD = await d.page.evaluate(() => window.seen);
  console.log(`  blocked ${restoredAt - blockedAt} ms; after the restoration the patient decodes the doctor in ${patientSees} ms, `
    + `the doctor the patient in ${doctorSees} ms`);
  for (const [name, h] of Object.entries(history)) {
    console.log(`  patient ${name}: ${JSON.stringify(h.recoveries.map((x) => ({ lost: x.lostAt - blockedAt,
      steps: x.steps.map(([s, t]) => [s, t - restoredAt]), connected: x.connectedAt && x.connectedAt - restoredAt })))}`);
  }
  console.log(`  patient notices ${JSON.stringify(seenP.notices)}; doctor's patient tile ${JSON.stringify(seenD.lost.map(([t, r, l]) => [t - blockedAt, r, l]))}`);
  await new Promise((r) => setTimeout(r, Math.max(0, 5000 - (Date.now() - restoredAt))));
  const timeline = {};
  for (const x of [d, p]) {
    timeline[x.role] = (await x.page.evaluate(() => window.timeline)).map((row) => ({ ...row, t: row.t - restoredAt }));
  }
  writeFileSync(join(out, `rejoin-${which}.json`),
    JSON.stringify({ blockedMs: restoredAt - blockedAt, patientSees, doctorSees, history, seenP, seenD, timeline }, null, 2));
  if (patientSees > limit || doctorSees > limit) {
    throw new Error(`decoding again ${patientSees} ms (patient) / ${doctorSees} ms (doctor) after the restoration (limit ${limit})`);
  }
  await Promise.all([decoding(d, 'patient'), decoding(p, 'doctor')]);
  if (!seenP.notices.some((n) => /再接続/.test(n) && /Reconnecting/.test(n))) {
    throw new Error(`the patient saw no bilingual reconnecting notice: ${JSON.stringify(seenP.notices)}`);
  }
  const tile = seenD.lost.filter(([, r]) => r === 'patient').map(([, , l]) => l);
  if (tile[0] !== true || tile.at(-1) !== false) throw new Error(`the doctor's patient tile: ${JSON.stringify(seenD.lost)}`);
  for (const x of [d, p]) {
    const st = await x.page.evaluate(() => window.medrelay.state());
    if (st.phase !== 'call' || st.connection !== 'connected') throw new Error(`${x.role}: ${JSON.stringify(st)}`);
  }
  return { room, invites, logStart, history, patientSees, doctorSees };
}

async function caseKill(victim) {
  const relay = await startRelay(binary, webRoot);
  try {
    await check(`${victim}'s browser SIGKILLed mid-call, the link reopened at once in a new browser: both decode again within 5 s, the old sessions end "takeover"`, async () => {
      const f = await killAndRejoin(relay, victim);
      writeFileSync(join(out, `rejoin-${victim}_kill.json`), JSON.stringify(f, null, 2));
    });
  } finally {
    await closeBrowsers();
    await relay.stop();
  }
}

async function caseNetworkBlock() {
  const relay = await startRelay(binary, webRoot, [], host);
  try {
    let r;
    await check('patient\'s network blocked for 10 s then restored: the same pages decode again within 3 s', async () => {
      r = await networkBlock(relay);
    });
    await check('network block: the access log holds what happened, and no session ended', async () => {
      if (!r) throw new Error('the call did not recover');
      // Back within the consent window (30 s), every session goes on: no participant_left, no
      // new participant_joined.
      const records = await accessLog(relay, r.logStart);
      const roomRecords = records.filter((x) => x.room === r.room);
      const ends = roomRecords.filter((x) => x.event === 'participant_left');
      const joins = roomRecords.filter((x) => x.event === 'participant_joined');
      const steps = Object.values(r.history).flatMap((h) => h.recoveries.flatMap((x) => x.steps.map(([s]) => s)));
      console.log(`  records after the block: ${JSON.stringify(roomRecords.map((x) => [x.event, x.role, x.reason || '']))}; `
        + `client steps ${JSON.stringify(steps)}`);
      if (steps.includes('fresh')) {
        throw new Error(`the page needed a fresh session although the old ones were within their consent window: ${JSON.stringify(steps)}`);
      }
      if (ends.length !== 0 || joins.length !== 0) {
        throw new Error(`sessions ended or started: ${JSON.stringify(roomRecords)}`);
      }
    });
  } finally {
    await closeBrowsers();
    await relay.stop();
  }
}

// Longer than the consent window (media.consent_timeout_ms set to 8 s here, 30 s by default):
// the server ends the patient's sessions (consent-timeout), the others get `left`; when the
// network returns the page's ICE restart finds its sessions gone (404) and it joins afresh.
async function caseNetworkBlockConsent() {
  const relay = await startRelay(binary, webRoot, ['--set', 'media.consent_timeout_ms=8000'], host);
  try {
    let r;
    await check('patient\'s network blocked for 12 s, past the consent window: the same page joins afresh, both decode within 5 s', async () => {
      r = await networkBlock(relay, { blockMs: 12000, limit: 5000 });
    });
    await check('network block past the consent window: the patient\'s old sessions end consent-timeout, the doctor\'s abandoned subscription hangup', async () => {
      if (!r) throw new Error('the call did not recover');
      for (const [name, h] of Object.entries(r.history)) {
        const steps = h.recoveries.flatMap((x) => x.steps.map(([st]) => st)).filter((st) => st !== 'reachable');
        if (JSON.stringify(steps) !== JSON.stringify(['restart-gone', 'fresh'])) {
          throw new Error(`patient ${name}: steps ${JSON.stringify(steps)} (want a restart finding the session gone, then a fresh one)`);
        }
      }
      const records = await accessLog(relay);
      const patient = sessionsOf(records, r.room, r.invites.patient.id);
      const doctor = sessionsOf(records, r.room, r.invites.doctor.id);
      console.log(`  patient's sessions ${fmt(patient)}; doctor's ${fmt(doctor)}`);
      const old = patient.filter((x) => x.joined.seq <= r.logStart);
      const fresh = patient.filter((x) => x.joined.seq > r.logStart);
      if (old.length !== 2 || old.some((x) => x.left?.reason !== 'consent-timeout')) {
        throw new Error(`the patient's sessions before the block: ${fmt(old)} (want both ended consent-timeout)`);
      }
      if (fresh.length !== 2 || fresh.some((x) => x.left)) throw new Error(`the patient's new sessions: ${fmt(fresh)}`);
      // The doctor's page dropped its subscription to the patient on `left` (DELETE: hangup) and
      // subscribed again on `published`; its publish session never ended.
      const pub = doctor.filter((x) => x.direction === 'publish');
      const subs = doctor.filter((x) => x.direction === 'subscribe');
      if (pub.length !== 1 || pub[0].left) throw new Error(`the doctor's publish session: ${fmt(pub)}`);
      if (subs.length !== 2 || subs[0].left?.reason !== 'hangup' || subs[1].left) {
        throw new Error(`the doctor's subscriptions: ${fmt(subs)} (want the old one hangup, a new one live)`);
      }
    });
  } finally {
    await closeBrowsers();
    await relay.stop();
  }
}

// The patient's device moves to another network mid-call (Wi-Fi to mobile): its address changes
// from 10.77.0.2 to 10.77.0.6 and the old one is gone. The path cannot come back by itself; the
// page restarts ICE on the same sessions (PATCH) once the server answers from the new address.
async function caseNetworkSwitch() {
  const relay = await startRelay(binary, webRoot, [], host);
  try {
    let r;
    await check('patient\'s address changes mid-call: ICE restart on the same sessions, both decode again within 5 s', async () => {
      const { room, invites, pages } = await call(relay);
      const { doctor: d, patient: p } = pages;
      const logStart = (await accessLog(relay)).at(-1)?.seq || 0;
      const before = { patient: await framesFrom(p, 'doctor'), doctor: await framesFrom(d, 'patient') };
      const moved = '10.77.0.6';
      const switchedAt = Date.now();
      run('ip', '-n', patientNs, 'addr', 'del', `${ShapedNet.kPatientAddress}/30`, 'dev', ShapedNet.kPatientDev);
      run('ip', '-n', patientNs, 'addr', 'add', `${moved}/32`, 'dev', ShapedNet.kPatientDev);
      run('ip', '-n', patientNs, 'route', 'add', `${ShapedNet.kRelayAddress}/32`, 'dev', ShapedNet.kPatientDev, 'src', moved);
      run('ip', 'route', 'add', `${moved}/32`, 'dev', ShapedNet.kRelayDev);
      await p.page.evaluate(watchFrames, ['doctor', before.patient + 3]);
      await d.page.evaluate(watchFrames, ['patient', before.doctor + 3]);
      const limit = 5000;
      const patientSees = await firstFrameAt(p, 'doctor', limit + 20000) - switchedAt;
      const doctorSees = await firstFrameAt(d, 'patient', limit + 20000) - switchedAt;
      const history = await p.page.evaluate(() => window.medrelay.history());
      console.log(`  after the switch the patient decodes the doctor in ${patientSees} ms, the doctor the patient in ${doctorSees} ms`);
      for (const [name, h] of Object.entries(history)) {
        console.log(`  patient ${name}: ${JSON.stringify(h.recoveries.map((x) => ({ lost: x.lostAt - switchedAt,
          steps: x.steps.map(([st, t]) => [st, t - switchedAt]), connected: x.connectedAt && x.connectedAt - switchedAt })))}`);
      }
      const pairs = await p.page.evaluate(() => window.medrelay.pairs());
      console.log(`  patient's pairs now ${JSON.stringify(pairs)}`);
      r = { room, invites, logStart, history };
      if (patientSees > limit || doctorSees > limit) throw new Error(`decoding again after ${patientSees} / ${doctorSees} ms (limit ${limit})`);
      await Promise.all([decoding(d, 'patient'), decoding(p, 'doctor')]);
    });
    await check('network switch: the same sessions go on (ICE restart), nothing ends or starts in the access log', async () => {
      if (!r) throw new Error('the call did not recover');
      for (const [name, h] of Object.entries(r.history)) {
        const steps = h.recoveries.flatMap((x) => x.steps.map(([st]) => st));
        if (!steps.includes('restart-ok') || steps.includes('fresh')) {
          throw new Error(`patient ${name}: steps ${JSON.stringify(steps)} (want an ICE restart, no fresh session)`);
        }
      }
      const records = (await accessLog(relay, r.logStart)).filter((x) => x.room === r.room);
      if (records.some((x) => x.event === 'participant_left' || x.event === 'participant_joined')) {
        throw new Error(`sessions ended or started: ${JSON.stringify(records.map((x) => [x.event, x.role, x.reason || '']))}`);
      }
    });
  } finally {
    await closeBrowsers();
    await relay.stop();
  }
}

function percentile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
}

async function caseBench() {
  const relay = await startRelay(binary, webRoot);
  const results = [];
  const failures = [];
  try {
    for (let i = 1; i <= runs; i++) {
      await check(`bench run ${i}/${runs}: patient killed and rejoined`, async () => {
        try {
          const f = await killAndRejoin(relay, 'patient', { quiet: true });
          results.push(f);
          console.log(`  patient decodes the doctor ${f.patientSeesMs} ms, the doctor the patient ${f.doctorSeesMs} ms after the new page opened`
            + ` (${f.openedAfterKillMs} ms after the kill; takeover at ${f.takeoverAfterKillMs} ms)`);
        } catch (e) {
          failures.push(String(e.message || e));
          await closeBrowsers();
          throw e;
        }
      });
    }
  } finally {
    await closeBrowsers();
    await relay.stop();
  }
  const summary = (key) => {
    const xs = results.map((r) => r[key]);
    return xs.length ? { p50: percentile(xs, 0.5), p95: percentile(xs, 0.95), min: Math.min(...xs), max: Math.max(...xs) } : null;
  };
  const report = {
    runs, completed: results.length, failures,
    patientSeesDoctor: summary('patientSeesMs'),
    doctorSeesPatient: summary('doctorSeesMs'),
    takeoverAfterKill: summary('takeoverAfterKillMs'),
    staleAfterMs: kStaleAfterMs,
    results,
  };
  writeFileSync(join(out, 'rejoin.json'), JSON.stringify(report, null, 2));
  console.log(`rejoin to first frame over ${results.length} runs: patient sees doctor p50 ${report.patientSeesDoctor?.p50} ms `
    + `p95 ${report.patientSeesDoctor?.p95} ms; doctor sees patient p50 ${report.doctorSeesPatient?.p50} ms p95 ${report.doctorSeesPatient?.p95} ms`);
}

if (which === 'patient_kill') await caseKill('patient');
if (which === 'doctor_kill') await caseKill('doctor');
if (which === 'network_block') await caseNetworkBlock();
if (which === 'network_block_consent') await caseNetworkBlockConsent();
if (which === 'network_switch') await caseNetworkSwitch();
if (which === 'bench') await caseBench();
done();
