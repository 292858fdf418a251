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

export function initialState() {
  return { phase: 'loading', info: null, role: null, admitted: false, refusal: null,
           peers: {}, toasts: [], waitingPatient: false, endReason: null };
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
        return { ...state, phase: 'ended', endReason: 'room_cancelled', peers: {},
                 toasts: toast(state, 'The consultation was cancelled.') };
      }
      if (e.type === 'ended') {
        return { ...state, phase: 'ended', endReason: 'room_ended', peers: {},
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
      if (!e.invite_id || e.invite_id === state.info?.invite_id) return state;
      const label = kRoleLabels[e.role] || 'A participant';
      const peers = { ...state.peers };
      if (e.type === 'joined' || e.type === 'published') {
        const had = peers[e.invite_id];
        peers[e.invite_id] = { role: e.role, connected: true, published: e.type === 'published' || had?.published || false };
        const next = { ...state, peers };
        if (e.type === 'joined' && !(had && had.connected)) next.toasts = toast(state, `${label} joined.`);
        if (e.role === 'patient' && !state.admitted) next.waitingPatient = true;
        return next;
      }
      if (e.type === 'left' || e.type === 'peer-lost') {
        const lost = e.type === 'peer-lost';
        if (lost) peers[e.invite_id] = { ...(peers[e.invite_id] || { role: e.role }), connected: false };
        else delete peers[e.invite_id];
        const next = { ...state, peers,
                       toasts: toast(state, lost ? `${label} lost the connection.` : `${label} left.`) };
        if (e.role === 'patient' && !lost && !state.admitted) next.waitingPatient = false;
        return next;
      }
      return state;
    }
    case 'leave':
      return { ...state, phase: 'ended', endReason: 'left', peers: {} };
    case 'dismissToast':
      return { ...state, toasts: state.toasts.filter((t) => t.id !== action.id) };
    default:
      return state;
  }
}
