// MediaSession's rejoin and recovery (docs/web-client.md "Rejoining") against a scripted server
// and a stand-in RTCPeerConnection, with the recovery timings shortened.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kProbe, kRecovery, MediaSession } from '../src/media.js';

const base = 'http://relay.test/v1/rooms/r1';
let server;  // (method, url, options) -> { status, body, headers } | 'hang' | 'down'
let requests;
let sessions;

class FakePc {
  static all = [];
  constructor() {
    this.connectionState = 'new';
    this.iceConnectionState = 'new';
    this.signalingState = 'stable';
    this.n = FakePc.all.push(this);
    this.offers = 0;
    this.rx = 0;  // bytes received, rising unless the path is silent
    this.silent = false;
  }

  async getStats() {
    if (!this.silent) this.rx += 100;
    return new Map([['T01', { type: 'transport', bytesReceived: this.rx }]]);
  }

  addTransceiver() {}
  setConfiguration() {}
  async createOffer() {
    this.offers += 1;
    return { type: 'offer', sdp: `v=0\r\na=ice-ufrag:c${this.n}x${this.offers}\r\na=ice-pwd:pw${this.n}x${this.offers}\r\n` };
  }

  async setLocalDescription(d) {
    if (d.type === 'rollback') {
      this.signalingState = 'stable';
      this.rolledBack = true;
      return;
    }
    this.localDescription = d;
    this.signalingState = 'have-local-offer';
  }

  async setRemoteDescription(d) {
    this.signalingState = 'stable';
    this.remote = d.sdp;
    // The path comes up once both sides know each other's credentials.
    setTimeout(() => this.set('connected'), 5);
  }

  set(state) {
    if (this.connectionState === 'closed') return;
    this.connectionState = state;
    this.iceConnectionState = state;
    this.oniceconnectionstatechange?.();
    this.onconnectionstatechange?.();
  }

  close() {
    this.connectionState = 'closed';
    this.iceConnectionState = 'closed';
  }
}

function response({ status, body = null, headers = {} }) {
  const h = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    status, ok: status >= 200 && status < 300,
    headers: { get: (k) => h.get(k.toLowerCase()) ?? null },
    json: async () => (typeof body === 'string' ? JSON.parse(body) : body),
    text: async () => (typeof body === 'string' ? body : JSON.stringify(body)),
  };
}

const answer = (ufrag) => `v=0\r\na=ice-ufrag:${ufrag}\r\na=ice-pwd:serverpassword\r\n`;
const created = (id) => ({ status: 201, body: answer(`s${id}`), headers: { Location: `/v1/rooms/r1/sessions/${id}`, ETag: '"e"' } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const saved = JSON.parse(JSON.stringify({ kRecovery, kProbe }));

beforeEach(() => {
  FakePc.all = [];
  requests = [];
  sessions = [];
  globalThis.RTCPeerConnection = FakePc;
  globalThis.fetch = (url, options = {}) => {
    const method = options.method || 'GET';
    requests.push({ method, url: String(url), t: Date.now(), headers: options.headers || {} });
    const r = server(method, String(url), options);
    if (r === 'down') return Promise.reject(new TypeError('Failed to fetch'));
    if (r === 'hang') {
      return new Promise((_, reject) => options.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    }
    return Promise.resolve(response(r));
  };
  Object.assign(kRecovery, { graceMs: 30, consentWindowMs: 30000, silenceMs: 60, silenceCheckMs: 10 });
  kRecovery.timeoutMs = { post: 200, patch: 100 };
  kRecovery.connectWaitMs = { restart: 200, fresh: 200 };
  Object.assign(kProbe, { everyMs: 20, timeoutMs: 50 });
});

afterEach(() => {
  for (const s of sessions) s.close();
  Object.assign(kRecovery, saved.kRecovery);
  Object.assign(kProbe, saved.kProbe);
});

function session(over = {}) {
  const states = [];
  const s = new MediaSession({ url: `${base}/whip`, token: 't0k3n-abcdef', publish: true,
    onState: (x) => states.push(x), ...over });
  sessions.push(s);
  return { s, states };
}

describe('MediaSession: rejoining', () => {
  it('waits as told while the previous page\'s session is still live, then takes its place', async () => {
    let posts = 0;
    server = (method) => {
      if (method !== 'POST') return { status: 404 };
      posts += 1;
      return posts < 3
        ? { status: 409, body: { code: 'already_connected', retry_after_ms: 40 }, headers: { 'Retry-After': '1' } }
        : created('ses_new');
    };
    const { s, states } = session();
    const t0 = Date.now();
    await s.connect({ getTracks: () => [] });
    expect(posts).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(80);  // retry_after_ms twice, not Retry-After
    expect(s.location).toBe('http://relay.test/v1/rooms/r1/sessions/ses_new');
    await sleep(20);
    expect(states).toEqual(['connecting', 'previous', 'connected']);
  });
  it('says the link is live elsewhere after three conflicts in a row, and keeps waiting', async () => {
    let posts = 0;
    server = () => (++posts <= 4 ? { status: 409, body: { code: 'already_connected', retry_after_ms: 5 } } : created('s2'));
    const { s, states } = session();
    await s.connect({ getTracks: () => [] });
    expect(states.slice(0, 3)).toEqual(['connecting', 'previous', 'elsewhere']);
    expect(posts).toBe(5);
  });
  it('gives up on what retrying cannot cure, and at the end of the window', async () => {
    server = () => ({ status: 403, body: { code: 'invite_revoked' } });
    await expect(session().s.connect({ getTracks: () => [] })).rejects.toMatchObject({ status: 403 });
    server = () => ({ status: 409, body: { code: 'already_connected', retry_after_ms: 1000 } });
    const { s } = session({ deadline: Date.now() + 500 });
    await expect(s.connect({ getTracks: () => [] })).rejects.toMatchObject({ status: 409 });
  });
  it('backs off on transient errors (network down, 503) and connects when the server is back', async () => {
    let posts = 0;
    server = () => {
      posts += 1;
      if (posts === 1) return 'down';
      if (posts === 2) return { status: 503, body: { code: 'access_log_unavailable' }, headers: { 'Retry-After': '0' } };
      return created('s3');
    };
    const { s } = session();
    await s.connect({ getTracks: () => [] });
    expect(posts).toBe(3);
  });
});

describe('MediaSession: a lost path', () => {
  async function connected(s) {
    server = (method) => (method === 'POST' ? created('ses_1') : { status: 404 });
    await s.connect({ getTracks: () => [] });
    await sleep(20);
    expect(s.connected()).toBe(true);
    return s.pc;
  }

  it('comes back by itself within the grace time: nothing is sent', async () => {
    const { s, states } = session();
    const pc = await connected(s);
    const before = requests.length;
    pc.set('disconnected');
    setTimeout(() => pc.set('connected'), 10);
    await sleep(80);
    expect(requests.length).toBe(before);
    expect(states.slice(-2)).toEqual(['reconnecting', 'connected']);
    expect(s.recoveries[0].steps).toEqual([]);
  });
  it('restarts ICE only once the server answers again, on the same session', async () => {
    const { s, states } = session();
    const pc = await connected(s);
    let down = true;
    server = (method, url) => {
      if (down) return 'hang';
      if (url.endsWith('/healthz')) return { status: 200, body: {} };
      if (method === 'PATCH') return { status: 200, body: 'a=ice-ufrag:srestart\r\na=ice-pwd:newserverpassword\r\n', headers: { ETag: '"e2"' } };
      return { status: 500 };
    };
    pc.set('disconnected');
    await sleep(150);
    expect(requests.filter((r) => r.method === 'PATCH')).toEqual([]);  // nothing sent into the dead network
    expect(requests.some((r) => r.url.endsWith('/healthz'))).toBe(true);
    down = false;
    await sleep(150);
    const patches = requests.filter((r) => r.method === 'PATCH');
    expect(patches.length).toBe(1);
    expect(patches[0].url).toBe('http://relay.test/v1/rooms/r1/sessions/ses_1');
    expect(patches[0].headers['If-Match']).toBe('*');
    expect(patches[0].headers['Content-Type']).toBe('application/trickle-ice-sdpfrag');
    expect(s.pc).toBe(pc);
    expect(pc.remote).toContain('a=ice-ufrag:srestart');
    expect(s.connected()).toBe(true);
    expect(states.at(-1)).toBe('connected');
    expect(s.recoveries[0].steps.map(([x]) => x)).toEqual(['reachable', 'restart-ok']);
  });
  it('posts a fresh session when the old one is gone (404); an old subscription is deleted first', async () => {
    for (const publish of [true, false]) {
      requests = [];
      const { s } = session({ publish, url: `${base}/${publish ? 'whip' : 'whep?role=doctor'}` });
      const pc = await connected(s);
      server = (method, url) => {
        if (url.endsWith('/healthz')) return { status: 200 };
        if (method === 'PATCH') return { status: 404, body: { code: 'not_found' } };
        if (method === 'POST') return created('ses_2');
        return { status: 200 };
      };
      pc.set('failed');
      await sleep(100);
      expect(pc.rolledBack).toBe(true);
      expect(s.pc).not.toBe(pc);
      expect(s.location).toBe('http://relay.test/v1/rooms/r1/sessions/ses_2');
      expect(s.connected()).toBe(true);
      expect(s.recoveries[0].steps.map(([x]) => x)).toEqual(['reachable', 'restart-gone', 'fresh']);
      const deletes = requests.filter((r) => r.method === 'DELETE').map((r) => r.url);
      // A publish session is taken over by its replacement (takeover in the access log); a
      // subscription is not, so the page ends it.
      expect(deletes).toEqual(publish ? [] : ['http://relay.test/v1/rooms/r1/sessions/ses_1']);
    }
  });
  it('a silent publish path is noticed before the browser says so; the page\'s other sessions are nudged', async () => {
    let silent = 0;
    const { s, states } = session({ onSilent: () => { silent += 1; } });
    const pc = await connected(s);
    const restarting = (method, url) => {
      if (url.endsWith('/healthz')) return { status: 200 };
      if (method === 'PATCH') {
        pc.silent = false;  // the restarted path carries packets again
        return { status: 200, body: 'a=ice-ufrag:sx\r\na=ice-pwd:newserverpassword\r\n' };
      }
      return { status: 500 };
    };
    server = restarting;
    await sleep(100);
    expect(silent).toBe(0);  // bytes keep arriving
    pc.silent = true;
    await sleep(150);
    expect(silent).toBe(1);
    expect(pc.connectionState).toBe('connected');  // the browser never said otherwise
    expect(s.recoveries[0].why).toBe('silent');
    expect(s.recoveries[0].steps.map(([x]) => x)).toEqual(['reachable', 'restart-ok']);
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('connected');
    // A nudged session checks its path the same way.
    const sub = session({ publish: false, url: `${base}/whep?role=doctor` });
    await connected(sub.s);
    server = restarting;
    sub.s.nudge();
    await sleep(100);
    expect(sub.s.recoveries[0].why).toBe('nudged');
    expect(sub.s.recoveries[0].steps.map(([x]) => x)).toEqual(['reachable', 'restart-ok']);
  });
  it('after the consent window a restart cannot help: straight to a fresh session', async () => {
    kRecovery.consentWindowMs = 0;
    const { s } = session();
    const pc = await connected(s);
    server = (method, url) => (url.endsWith('/healthz') ? { status: 200 } : method === 'POST' ? created('ses_3') : { status: 500 });
    pc.set('failed');
    await sleep(100);
    expect(requests.filter((r) => r.method === 'PATCH')).toEqual([]);
    expect(s.location).toBe('http://relay.test/v1/rooms/r1/sessions/ses_3');
    expect(s.recoveries[0].steps.map(([x]) => x)).toEqual(['reachable', 'fresh']);
  });
  it('a subscription whose participant no longer publishes is reported gone', async () => {
    const { s, states } = session({ publish: false, url: `${base}/whep?role=patient` });
    const pc = await connected(s);
    server = (method, url) => (url.endsWith('/healthz') ? { status: 200 } : { status: 404, body: { code: 'not_found' } });
    pc.set('failed');
    await sleep(100);
    expect(states.at(-1)).toBe('gone');
    expect(s.closed).toBe(true);
  });
});
