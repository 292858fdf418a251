// The page's state machine: a pure reducer, so it can be unit-tested without a browser.
// phase: loading -> refused | waiting | call -> ended

export const kMessages = {
  not_yet_open: 'This video consultation has not opened yet. It opens one hour before the start.',
  window_closed: 'This link has expired: the consultation’s time window has closed.',
  invite_revoked: 'This link has been revoked. Please ask the clinic for a new one.',
  room_cancelled: 'This consultation has been cancelled.',
  room_ended: 'This consultation has ended.',
  invalid_token: 'This link is not valid. Please check it or ask the clinic for a new one.',
  wrong_room: 'This link is not valid. Please check it or ask the clinic for a new one.',
  room_not_found: 'This link is not valid. Please check it or ask the clinic for a new one.',
  bad_link: 'This link is not valid. Please check it or ask the clinic for a new one.',
  doctor_busy: 'You are already in another consultation.',
  network: 'The server cannot be reached. Retrying…',
};

export const kRoleLabels = {
  doctor: 'Doctor',
  patient: 'Patient',
  nurse: 'Nurse',
  attending_doctor: 'Attending doctor',
  supporter: 'Supporter',
};

export function refusalMessage(code) {
  return kMessages[code] || 'You cannot join this consultation right now.';
}

// What the page tells its user while its own media reconnects: calm, in Japanese and English,
// never an error (docs/web-client.md "Rejoining").
export const kConnectionMessages = {
  connecting: { ja: '接続しています…', en: 'Connecting…' },
  reconnecting: { ja: '再接続しています…', en: 'Reconnecting…' },
  // The server still holds this invite's previous connection (a page that was closed or lost):
  // it ends within seconds, then this page takes its place.
  previous: { ja: '前回の接続が終わるのを待って、再接続しています…',
              en: 'Reconnecting… (waiting for your previous connection to close)' },
  // The link is open and live in another window or device: this page joins when that one ends.
  elsewhere: { ja: 'このリンクは別の画面で接続中です。そちらが終わると、ここで再接続します。',
               en: 'This link is connected in another window or device. This page will connect when that one closes.' },
};

export function initialState() {
  return { phase: 'loading', info: null, role: null, admitted: false, refusal: null,
           peers: {}, toasts: [], waitingPatient: false, endReason: null, sessions: {},
           videoPaused: false };
}

// The page's own connection over all its sessions ('publish' and the subscribed roles):
// 'idle' before media starts, 'connected' when every session is, otherwise the least healthy
// of 'elsewhere' > 'previous' > 'reconnecting' > 'connecting'.
export function ownConnection(state) {
  const all = Object.values(state.sessions || {});
  if (all.length === 0) return 'idle';
  for (const s of ['elsewhere', 'previous', 'reconnecting', 'connecting']) {
    if (all.includes(s)) return s;
  }
  return 'connected';
}

export function connectionMessage(state) {
  return kConnectionMessages[ownConnection(state)] || null;
}

function toast(state, text) {
  return [...state.toasts.slice(-4), { id: (state.toasts.at(-1)?.id || 0) + 1, text }];
}

function afterJoinable(state) {
  if (state.role === 'patient' && !state.admitted) return 'waiting';
  return 'call';
}

export function reduce(state, action) {
  switch (action.type) {
    case 'info': {
      const info = action.info;
      const admitted = info.state === 'in_consultation';
      const next = { ...state, info, role: info.role, admitted: state.admitted || admitted };
      if (info.state === 'cancelled') return { ...next, phase: 'refused', refusal: { code: 'room_cancelled' } };
      if (info.join && info.join.allowed === false) {
        return { ...next, phase: 'refused', refusal: info.join };
      }
      return { ...next, phase: afterJoinable(next), refusal: null };
    }
    case 'refused':
      return { ...state, phase: 'refused', refusal: action.error };
    case 'event': {
      const e = action.event;
      if (e.type === 'cancelled') {
        return { ...state, phase: 'ended', endReason: 'room_cancelled', peers: {}, sessions: {},
                 toasts: toast(state, 'The consultation was cancelled.') };
      }
      if (e.type === 'ended') {
        return { ...state, phase: 'ended', endReason: 'room_ended', peers: {}, sessions: {},
                 toasts: toast(state, 'The consultation has ended.') };
      }
      if (e.type === 'admitted') {
        // The doctor's own click and the event that follows it: one toast.
        if (state.admitted) return { ...state, waitingPatient: false };
        const next = { ...state, admitted: true, waitingPatient: false,
                       toasts: toast(state, 'The patient has been admitted.') };
        if (state.phase === 'waiting') next.phase = 'call';
        return next;
      }
      if (e.type === 'video_paused' || e.type === 'video_resumed') {
        // Audio first (docs/media.md "Subscriber downlink"): the relay stopped sending video to
        // a participant whose downlink is too thin, and says why the picture stands still.
        const paused = e.type === 'video_paused';
        const own = e.invite_id && e.invite_id === state.info?.invite_id;
        const label = kRoleLabels[e.role] || 'A participant';
        const text = own
          ? (paused ? 'Your connection is too slow for video: continuing with audio only.'
                    : 'Your connection has recovered: video is back.')
          : (paused ? `${label}'s connection is too slow for video: they continue with audio only.`
                    : `${label}'s video is back.`);
        return { ...state, videoPaused: own ? paused : state.videoPaused, toasts: toast(state, text) };
      }
      if (!e.invite_id || e.invite_id === state.info?.invite_id) return state;
      const label = kRoleLabels[e.role] || 'A participant';
      const peers = { ...state.peers };
      const had = peers[e.invite_id];
      // A participant whose device went silent (peer-lost) and came back: on the same
      // connection (peer-restored) or from a new page that took the old one over (joined).
      const back = had && !had.connected;
      if (e.type === 'joined' || e.type === 'published' || e.type === 'peer-restored') {
        peers[e.invite_id] = { role: e.role, connected: true, published: e.type === 'published' || had?.published || false };
        const next = { ...state, peers };
        if (back) next.toasts = toast(state, `${label} is back.`);
        else if (e.type === 'joined' && !had) next.toasts = toast(state, `${label} joined.`);
        if (e.role === 'patient' && !state.admitted && e.type !== 'peer-restored') next.waitingPatient = true;
        return next;
      }
      if (e.type === 'peer-lost') {
        if (had && !had.connected) return state;
        peers[e.invite_id] = { ...(had || { role: e.role }), connected: false };
        return { ...state, peers, toasts: toast(state, `${label} is reconnecting…`) };
      }
      if (e.type === 'left') {
        delete peers[e.invite_id];
        const next = { ...state, peers, toasts: toast(state, `${label} left.`) };
        if (e.role === 'patient' && !state.admitted) next.waitingPatient = false;
        return next;
      }
      return state;
    }
    case 'session': {
      // One of the page's own media sessions changed: 'connecting', 'connected',
      // 'reconnecting', 'previous', 'elsewhere', or null when it is closed.
      const sessions = { ...state.sessions };
      if (action.state === null) delete sessions[action.name];
      else sessions[action.name] = action.state;
      return { ...state, sessions };
    }
    case 'leave':
      return { ...state, phase: 'ended', endReason: 'left', peers: {}, sessions: {} };
    case 'dismissToast':
      return { ...state, toasts: state.toasts.filter((t) => t.id !== action.id) };
    default:
      return state;
  }
}
