// Shared helpers for the browser e2e tests: the real medrelay binary on ephemeral ports with a
// temporary data dir, REST calls with its generated API key, and Debian's Chromium through
// playwright-core (fake media devices, loopback ICE candidates).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const kChromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required',
];

// host: the address of every listener (loopback, or an address inside a test's namespace).
export async function startRelay(binary, webRoot, extra = [], host = '127.0.0.1') {
  const dir = mkdtempSync(join(tmpdir(), 'medrelay-web-e2e-'));
  const args = ['--set', `storage.data_dir=${dir}/data`, '--set', `http.listen=${host}:0`,
    '--set', `media.listen_ip=${host}`,
    '--set', 'media.udp_port=0', '--set', 'media.tcp_port=0', '--set', 'media.workers=1',
    '--set', `turn.udp_listen=${host}:0`, '--set', `web.root=${webRoot}`, ...extra];
  const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`medrelay did not start:\n${output}`)), 15000);
    const onData = (d) => {
      output += d;
      const m = new RegExp(`listening on ${host.replaceAll('.', '\\.')} port (\\d+)`).exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`medrelay exited ${code}:\n${output}`)));
  });
  // With http.tls_cert the API is HTTPS (a test's self-signed certificate: callers set
  // NODE_TLS_REJECT_UNAUTHORIZED=0 and launch the browser with ignoreHTTPSErrors).
  const scheme = extra.some((a) => a.startsWith('http.tls_cert=')) ? 'https' : 'http';
  const base = `${scheme}://${host}:${port}`;
  const key = readFileSync(join(dir, 'data', 'api-key'), 'utf8').trim();
  const relay = {
    base, key, dir, proc, output: () => output,
    async api(method, path, body, token = key) {
      const resp = await fetch(base + path, {
        method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await resp.text();
      return { status: resp.status, body: text ? JSON.parse(text) : null, headers: resp.headers };
    },
    async createRoom(over = {}) {
      const r = await relay.api('POST', '/v1/rooms', {
        mode: 'd2p', scheduled_start: 'now', institution_id: 'example-clinic',
        institution_contact: '03-0000-0000', doctor_display_name: 'Dr. Example', ...over });
      if (r.status !== 201) throw new Error(`create room: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.id;
    },
    async invite(room, role, extra = {}) {
      const r = await relay.api('POST', `/v1/rooms/${room}/invites`, { role, subject: `${role}-1`, ...extra });
      if (r.status !== 201) throw new Error(`invite ${role}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    link(room, token, query = '') {
      return `${base}/app/${query}#room=${encodeURIComponent(room)}&token=${encodeURIComponent(token)}`;
    },
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => { if (proc.exitCode !== null) r(); else proc.on('exit', r); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return relay;
}

// options.executablePath may name a wrapper (e.g. one that runs Chromium in a network namespace).
// extraArgs are appended to kChromiumArgs.
export async function launchBrowser({ extraArgs = [], ...options } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'medrelay-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true, args: [...kChromiumArgs, ...extraArgs], viewport: { width: 1100, height: 760 },
    permissions: ['camera', 'microphone'], ...options,
  });
  return {
    context, profile,
    async close() {
      // A killed browser's context may never answer again: do not wait for it long.
      await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// SIGKILL to every process of a browser at once, as when a phone dies or loses power: no DELETE,
// no DTLS close_notify, no goodbye. Playwright starts Chromium as the leader of its own process
// group; the leader is found by the profile directory on its command line. Returns its pid.
export function killBrowser(browser) {
  const flag = `--user-data-dir=${browser.profile}`;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let argv;
    let stat;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;  // exited meanwhile
    }
    if (!argv.includes(flag)) continue;
    // Fields after "(comm)": state, ppid, pgrp (proc(5)).
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (pgrp !== Number(pid)) continue;
    process.kill(-pgrp, 'SIGKILL');
    return pgrp;
  }
  throw new Error(`no browser process with ${flag}`);
}

// Every access-log record after sequence number `after` (GET /v1/access-log, paged).
export async function accessLog(relay, after = 0) {
  const records = [];
  for (let next = after; next !== null && next !== undefined;) {
    const r = await relay.api('GET', `/v1/access-log?after=${next}&limit=1000`);
    if (r.status !== 200) throw new Error(`GET /v1/access-log: ${r.status} ${JSON.stringify(r.body)}`);
    records.push(...r.body.records);
    next = r.body.records.length > 0 ? r.body.next_after : null;
  }
  return records;
}

export function artifactsDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function waitFor(fn, ms, what) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let failures = 0;
export async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures += 1;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}
export function done() {
  if (failures > 0) {
    console.log(`${failures} failed`);
    process.exit(1);
  }
  console.log('all passed');
}
