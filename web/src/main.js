// The consultation page: info, waiting room, admission, publish/subscribe, events, reconnects.
import { parseJoinLink, relayOption } from './link.js';
import { readEvents } from './sse.js';
import { initialState, reduce, refusalMessage, kRoleLabels, ownConnection, connectionMessage } from './state.js';
import { MediaSession, HttpError } from './media.js';

const $ = (id) => document.getElementById(id);
const kModes = { d2p: 'Doctor and patient', d2p_with_n: 'Doctor and patient, with a nurse',
                 d2p_with_d: 'Doctor and patient, with a second doctor' };
const kOthers = { d2p: ['doctor', 'patient'], d2p_with_n: ['doctor', 'patient', 'nurse'],
                  d2p_with_d: ['doctor', 'patient', 'attending_doctor'] };

const link = parseJoinLink(location.hash);
const relay = (link.ok && link.relay) || relayOption(new URLSearchParams(location.search).get('relay'));
let iceServers = [];
let state = initialState();
let localStream = null;
let publisher = null;
const subscriptions = new Map();  // role -> { session, tile }
const events = new AbortController();
let mediaStarted = false;

function dispatch(action) {
  const before = state;
  state = reduce(state, action);
  render(before);
}

function fmtTime(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function show(id) {
  for (const s of document.querySelectorAll('.screen')) s.hidden = s.id !== id;
}

function render(before) {
  const info = state.info;
  if (info) {
    $('info-doctor').textContent = info.doctor_display_name || '—';
    $('info-institution').textContent = info.institution_id || '—';
    $('info-contact').textContent = info.institution_contact || '—';
    $('info-mode').textContent = kModes[info.mode] || info.mode;
    $('info-window').textContent = `${fmtTime(info.scheduled_start)} (open ${fmtTime(info.opens_at)} – ${fmtTime(info.closes_at)})`;
    $('info-role').textContent = kRoleLabels[info.role] || info.role;
    $('local-role').textContent = kRoleLabels[info.role] || info.role;
  }
  document.body.dataset.phase = state.phase;
  if (state.phase === 'loading') show('screen-loading');
  if (state.phase === 'refused') {
    show('screen-refused');
    const r = state.refusal || {};
    $('refused-title').textContent = r.code === 'not_yet_open' ? 'Not open yet' : 'You cannot join';
    $('refused-message').textContent = refusalMessage(r.code);
    $('refused-message-ja').textContent = r.message_ja || '';
    $('refused-when').textContent = r.opens_at ? `Opens at ${fmtTime(r.opens_at)}.` : '';
    document.body.dataset.refusal = r.code || 'unknown';
  }
  if (state.phase === 'ended') {
    show('screen-ended');
    $('ended-title').textContent = state.endReason === 'left' ? 'You left the consultation'
      : state.endReason === 'room_cancelled' ? 'The consultation was cancelled' : 'The consultation has ended';
    $('ended-message').textContent = state.endReason === 'left'
      ? 'You can open the link again to rejoin while the consultation is open.' : '';
  }
  if (state.phase === 'waiting' || state.phase === 'call') {
    show('screen-call');
    $('waiting').hidden = state.phase !== 'waiting';
    $('admit-bar').hidden = !(state.role === 'doctor' && state.waitingPatient && !state.admitted);
  }
  if (state.phase !== before.phase) onPhase(before.phase);
  renderConnection();
  renderPeers();
  renderToasts();
}

// The page's own media: a calm bilingual notice while it reconnects (docs/web-client.md
// "Rejoining"), never an error.
function renderConnection() {
  const own = ownConnection(state);
  document.body.dataset.connection = own;
  const message = connectionMessage(state);
  const notice = own === 'reconnecting' || own === 'previous' || own === 'elsewhere';
  $('reconnecting').hidden = !notice;
  if (notice) {
    $('reconnecting-ja').textContent = message.ja;
    $('reconnecting-en').textContent = message.en;
  }
  $('media-status').textContent = own === 'connected' ? 'Connected.'
    : own === 'connecting' ? `${message.ja} ${message.en}` : '';
}

function renderToasts() {
  const list = $('toasts');
  list.replaceChildren(...state.toasts.map((t) => {
    const li = document.createElement('li');
    li.textContent = t.text;
    setTimeout(() => dispatch({ type: 'dismissToast', id: t.id }), 6000);
    return li;
  }));
}

function renderPeers() {
  for (const [role, sub] of subscriptions) {
    const peer = Object.values(state.peers).find((p) => p.role === role);
    const lost = Boolean(peer && !peer.connected);
    sub.tile.classList.toggle('lost', lost);
    sub.tile.querySelector('.reconnecting').hidden = !lost;
  }
}

async function onPhase(previous) {
  if ((state.phase === 'waiting' || state.phase === 'call') && !mediaStarted) {
    mediaStarted = true;
    await startMedia();
  }
  if (state.phase === 'call' && previous === 'waiting') subscribeOthers();
  if (state.phase === 'ended' || state.phase === 'refused') teardown();
}

async function startMedia() {
  try {
    localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  } catch (e) {
    $('media-status').textContent = `Camera or microphone unavailable: ${e.message}`;
    localStream = new MediaStream();
  }
  $('local-video').srcObject = localStream;
  fillDevices();
  // Relay-only must know the TURN server before it gathers (the answer's Link header is too late).
  if (relay) iceServers = await fetchIceServers();
  const session = new MediaSession({
    url: api('whip'), token: link.token, relay, iceServers, publish: true, deadline: windowEnd(),
    onState: (s, err) => sessionState('publish', s, err),
    // The page's network is gone: its subscriptions share it, check them at once too.
    onSilent: () => { for (const sub of subscriptions.values()) sub.session.nudge(); },
  });
  publisher = session;
  // Subscriptions do not wait for the publish session: a page that rejoins may wait seconds for
  // its previous publish session to go stale (409 already_connected) but can receive at once.
  if (state.phase === 'call') subscribeOthers();
  try {
    await session.connect(localStream);
  } catch (e) {
    if (publisher === session) mediaFailed(e);
  }
}

// Nothing is retried after the consultation window closes: the server refuses it anyway.
function windowEnd() {
  const end = Date.parse(state.info?.closes_at || '');
  return Number.isNaN(end) ? Infinity : end;
}

async function fetchIceServers() {
  try {
    const resp = await fetch(api('ice-servers'), { headers: { Authorization: `Bearer ${link.token}` }, cache: 'no-store' });
    if (!resp.ok) return [];
    return (await resp.json()).ice_servers || [];
  } catch {
    return [];
  }
}

// Only what retrying cannot cure ends up here (media.js retryDelay): the server's refusal, or
// an offer it cannot take.
function mediaFailed(e) {
  dispatch({ type: 'session', name: 'publish', state: null });
  if (e instanceof HttpError && e.body?.code && (e.status === 403 || e.status === 409)) {
    dispatch({ type: 'refused', error: e.body });
  } else {
    $('media-status').textContent = `Media connection failed: ${e.message}`;
  }
}

// A session of this page changed (media.js MediaSession.onState): 'publish' or a subscribed role.
function sessionState(name, s, err) {
  if (s === 'refused') {
    if (name === 'publish') return mediaFailed(err);
    dispatch({ type: 'session', name, state: null });
    if (err?.status === 403 && err.body?.code) dispatch({ type: 'refused', error: err.body });
    return;
  }
  if (s === 'gone') {
    // The participant no longer publishes: its 'published' event subscribes again.
    dropSubscription(name);
    return;
  }
  dispatch({ type: 'session', name, state: s });
}

// The participant left (or does not publish): its tile goes, and the subscription is ended
// with a DELETE rather than left to expire (the access log then says hangup, not
// consent-timeout).
function dropSubscription(role) {
  const sub = subscriptions.get(role);
  if (!sub) return;
  sub.session.close();
  sub.tile.remove();
  subscriptions.delete(role);
  dispatch({ type: 'session', name: role, state: null });
}

function subscribeOthers() {
  if (state.phase !== 'call' || !mediaStarted) return;
  for (const role of kOthers[state.info.mode] || []) {
    if (role !== state.role) subscribe(role);
  }
}

async function subscribe(role) {
  if (subscriptions.has(role)) return;
  const tile = document.createElement('figure');
  tile.className = 'tile remote';
  tile.dataset.role = role;
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.setAttribute('aria-label', `${kRoleLabels[role]} video`);
  const caption = document.createElement('figcaption');
  caption.textContent = kRoleLabels[role] || role;
  // Shown while the participant's device is silent (peer-lost) until it is back.
  const notice = document.createElement('p');
  notice.className = 'reconnecting';
  notice.hidden = true;
  notice.setAttribute('role', 'status');
  const ja = document.createElement('span');
  ja.lang = 'ja';
  ja.textContent = '再接続しています…';
  const en = document.createElement('span');
  en.textContent = 'Reconnecting…';
  notice.append(ja, en);
  tile.append(video, caption, notice);
  const remote = new MediaStream();
  video.srcObject = remote;
  const session = new MediaSession({
    url: api(`whep?role=${encodeURIComponent(role)}`), token: link.token, relay,
    iceServers: publisher?.iceServers?.length ? publisher.iceServers : iceServers, deadline: windowEnd(),
    onTrack: (ev) => { remote.addTrack(ev.track); video.play().catch(() => {}); },
    onState: (s, err) => { if (subscriptions.get(role)?.session === session) sessionState(role, s, err); },
  });
  const entry = { session, tile };
  subscriptions.set(role, entry);
  try {
    await session.connect(null);
    if (subscriptions.get(role) !== entry || session.closed) {
      session.close();
      return;
    }
    $('tiles').append(tile);
    renderPeers();
  } catch (e) {
    // 404: not published yet, the 'published' event subscribes again. Anything else that
    // retrying could not cure: the same.
    if (!(e instanceof HttpError) || e.status !== 404) console.warn(`subscribe ${role}: ${e.body?.code || e.message}`);
    if (subscriptions.get(role) === entry) dropSubscription(role);
    session.closed = true;
    session.pc?.close();
  }
}

function onEvent(ev) {
  let data;
  try {
    data = JSON.parse(ev.data);
  } catch {
    return;
  }
  dispatch({ type: 'event', event: data });
  const own = data.invite_id && data.invite_id === state.info?.invite_id;
  if (own) return;
  // A subscription follows the participant's newest publish session by itself (the server
  // re-binds it, starting at a keyframe: docs/policy.md rule 5), so a participant who rejoins
  // needs no new subscription here; one is made only where none is left.
  if (data.type === 'published' && state.phase === 'call') subscribe(data.role);
  if (data.type === 'left') dropSubscription(data.role);
}

function api(path) {
  return `/v1/rooms/${encodeURIComponent(link.room)}/${path}`;
}

async function followEvents() {
  let delay = 1000;
  while (!events.signal.aborted) {
    try {
      const r = await readEvents(api('events'), link.token, onEvent, events.signal);
      if (r.status !== 200) {
        if (r.status >= 400 && r.status < 500 && r.body?.code) {
          if (state.phase === 'call' || state.phase === 'waiting') {
            dispatch({ type: 'event', event: { type: r.body.code === 'room_cancelled' ? 'cancelled' : 'ended' } });
          } else {
            dispatch({ type: 'refused', error: r.body });
          }
          return;
        }
      } else {
        delay = r.retry || 1000;
        // The stream may have missed events: refresh the state.
        await loadInfo();
      }
    } catch {
      if (events.signal.aborted) return;
    }
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(delay * 2, 10000);
  }
}

async function loadInfo() {
  const resp = await fetch(api('info'), { headers: { Authorization: `Bearer ${link.token}` }, cache: 'no-store' });
  const body = await resp.json().catch(() => ({ code: 'invalid_token' }));
  if (!resp.ok) {
    dispatch({ type: 'refused', error: body });
    return false;
  }
  dispatch({ type: 'info', info: body });
  return state.phase === 'waiting' || state.phase === 'call';
}

async function fillDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  for (const [kind, select, track] of [['audioinput', $('mic-select'), localStream.getAudioTracks()[0]],
                                        ['videoinput', $('cam-select'), localStream.getVideoTracks()[0]]]) {
    const current = track?.getSettings().deviceId;
    select.replaceChildren(...devices.filter((d) => d.kind === kind).map((d, i) => {
      const o = document.createElement('option');
      o.value = d.deviceId;
      o.textContent = d.label || `${kind === 'audioinput' ? 'Microphone' : 'Camera'} ${i + 1}`;
      o.selected = d.deviceId === current;
      return o;
    }));
  }
}

async function switchDevice(kind, deviceId) {
  const constraints = kind === 'audio' ? { audio: { deviceId: { exact: deviceId } } }
    : { video: { deviceId: { exact: deviceId }, width: 640, height: 480 } };
  const s = await navigator.mediaDevices.getUserMedia(constraints);
  const track = kind === 'audio' ? s.getAudioTracks()[0] : s.getVideoTracks()[0];
  const old = kind === 'audio' ? localStream.getAudioTracks()[0] : localStream.getVideoTracks()[0];
  if (old) {
    track.enabled = old.enabled;
    localStream.removeTrack(old);
    old.stop();
  }
  localStream.addTrack(track);
  await publisher?.replaceTrack(kind, track);
}

function toggle(button, kind, onLabel, offLabel) {
  const tracks = kind === 'audio' ? localStream.getAudioTracks() : localStream.getVideoTracks();
  const off = button.getAttribute('aria-pressed') !== 'true';
  for (const t of tracks) t.enabled = !off;
  button.setAttribute('aria-pressed', String(off));
  button.textContent = off ? offLabel : onLabel;
}

function teardown() {
  events.abort();
  publisher?.close();
  publisher = null;
  for (const sub of subscriptions.values()) {
    sub.session.close();
    sub.tile.remove();
  }
  subscriptions.clear();
  for (const t of localStream?.getTracks() || []) t.stop();
}

$('toggle-mic').addEventListener('click', (e) => toggle(e.currentTarget, 'audio', 'Mute', 'Unmute'));
$('toggle-cam').addEventListener('click', (e) => toggle(e.currentTarget, 'video', 'Camera off', 'Camera on'));
$('mic-select').addEventListener('change', (e) => switchDevice('audio', e.target.value));
$('cam-select').addEventListener('change', (e) => switchDevice('video', e.target.value));
$('leave').addEventListener('click', () => dispatch({ type: 'leave' }));
$('admit').addEventListener('click', async () => {
  $('admit').disabled = true;
  const resp = await fetch(api('admit'), { method: 'POST', headers: { Authorization: `Bearer ${link.token}` } });
  $('admit').disabled = false;
  if (resp.ok) dispatch({ type: 'event', event: { type: 'admitted' } });
  else $('media-status').textContent = `Could not admit: ${(await resp.json().catch(() => ({}))).message || resp.status}`;
});
window.addEventListener('pagehide', () => teardown());

// For tests and diagnostics: inbound media counters per subscribed role (no identities).
window.medrelay = {
  state: () => ({ phase: state.phase, role: state.role, admitted: state.admitted, refusal: state.refusal?.code || null,
                  connection: ownConnection(state) }),
  // Each session's reported states ([time, state]) and recoveries (lost at, steps, connected
  // at): how the page got back after a loss. Keys: 'publish' and the subscribed roles.
  history() {
    const sessions = [['publish', publisher], ...[...subscriptions].map(([r, s]) => [r, s.session])];
    return Object.fromEntries(sessions.filter(([, x]) => x).map(([n, x]) => [n, { states: x.history, recoveries: x.recoveries }]));
  },
  async inbound() {
    const out = {};
    for (const [role, sub] of subscriptions) {
      const stats = await sub.session.pc.getStats();
      const r = { framesDecoded: 0, audioPackets: 0 };
      stats.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') r.framesDecoded += s.framesDecoded || 0;
        if (s.kind === 'audio') r.audioPackets += s.packetsReceived || 0;
      });
      out[role] = r;
    }
    return out;
  },
  // Each session's RTCPeerConnection, for getStats() in quality tests. Keys: 'publish' and the
  // subscribed roles.
  connections() {
    const out = {};
    if (publisher?.pc) out.publish = publisher.pc;
    for (const [role, sub] of subscriptions) if (sub.session?.pc) out[role] = sub.session.pc;
    return out;
  },
  // The selected ICE candidate pair of each session: local candidate type and relay protocol,
  // remote address. Keys: 'publish' and the subscribed roles.
  async pairs() {
    const sessions = [['publish', publisher], ...[...subscriptions].map(([r, s]) => [r, s.session])];
    const out = {};
    for (const [name, session] of sessions) {
      if (!session?.pc) continue;
      const stats = await session.pc.getStats();
      let pair = null;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
      });
      if (!pair) {
        out[name] = null;
        continue;
      }
      const local = stats.get(pair.localCandidateId) || {};
      const remote = stats.get(pair.remoteCandidateId) || {};
      out[name] = { state: pair.state, localType: local.candidateType, relayProtocol: local.relayProtocol || null,
                    remote: `${remote.address}:${remote.port}`, remoteProtocol: remote.protocol };
    }
    return out;
  },
};

if (!link.ok) {
  dispatch({ type: 'refused', error: { code: 'bad_link' } });
} else {
  history.replaceState(null, '', location.pathname + location.search + location.hash);
  loadInfo().then((ok) => { if (ok) followEvents(); }).catch(() => dispatch({ type: 'refused', error: { code: 'network' } }));
}
