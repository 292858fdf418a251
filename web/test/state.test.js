import { describe, expect, it } from 'vitest';
import { initialState, reduce, refusalMessage } from '../src/state.js';

const info = (over = {}) => ({ room_id: 'r', mode: 'd2p', state: 'open', role: 'patient', invite_id: 'me',
  doctor_display_name: 'Dr. X', join: { allowed: true }, ...over });
const ev = (event) => ({ type: 'event', event });

describe('state machine', () => {
  it('patient waits until admitted, then is in the call', () => {
    let s = reduce(initialState(), { type: 'info', info: info() });
    expect(s.phase).toBe('waiting');
    s = reduce(s, ev({ type: 'admitted' }));
    expect(s.phase).toBe('call');
    expect(s.admitted).toBe(true);
  });
  it('patient joining a consultation already in progress goes straight in', () => {
    expect(reduce(initialState(), { type: 'info', info: info({ state: 'in_consultation' }) }).phase).toBe('call');
  });
  it('doctor sees the waiting patient until admitting', () => {
    let s = reduce(initialState(), { type: 'info', info: info({ role: 'doctor' }) });
    expect(s.phase).toBe('call');
    s = reduce(s, ev({ type: 'joined', role: 'patient', invite_id: 'p1' }));
    expect(s.waitingPatient).toBe(true);
    expect(s.toasts.at(-1).text).toBe('Patient joined.');
    s = reduce(s, ev({ type: 'admitted' }));
    expect(s.waitingPatient).toBe(false);
    const toasts = s.toasts.length;
    s = reduce(s, ev({ type: 'admitted' }));  // the event after the doctor's own click
    expect(s.toasts.length).toBe(toasts);
  });
  it('early, expired, revoked and cancelled links are refused with their message', () => {
    const early = { allowed: false, code: 'not_yet_open', message_ja: 'このビデオ通話は開始前です。' };
    let s = reduce(initialState(), { type: 'info', info: info({ join: early }) });
    expect(s.phase).toBe('refused');
    expect(s.refusal.message_ja).toContain('開始前');
    expect(refusalMessage('not_yet_open')).toMatch(/one hour before/);
    s = reduce(initialState(), { type: 'info', info: info({ state: 'cancelled', join: { allowed: false, code: 'x' } }) });
    expect(s.refusal.code).toBe('room_cancelled');
    s = reduce(initialState(), { type: 'refused', error: { code: 'invite_revoked' } });
    expect(s.phase).toBe('refused');
    expect(refusalMessage('window_closed')).toMatch(/expired/);
    expect(refusalMessage('something_new')).toMatch(/cannot join/);
  });
  it('cancellation during the call ends it', () => {
    let s = reduce(initialState(), { type: 'info', info: info({ role: 'doctor' }) });
    s = reduce(s, ev({ type: 'joined', role: 'patient', invite_id: 'p1' }));
    s = reduce(s, ev({ type: 'cancelled' }));
    expect(s.phase).toBe('ended');
    expect(s.endReason).toBe('room_cancelled');
    expect(s.peers).toEqual({});
  });
  it('peer-lost marks the peer, left removes it; own events are ignored', () => {
    let s = reduce(initialState(), { type: 'info', info: info({ role: 'doctor', state: 'in_consultation' }) });
    s = reduce(s, ev({ type: 'joined', role: 'patient', invite_id: 'p1' }));
    s = reduce(s, ev({ type: 'peer-lost', role: 'patient', invite_id: 'p1' }));
    expect(s.peers.p1.connected).toBe(false);
    expect(s.toasts.at(-1).text).toBe('Patient lost the connection.');
    s = reduce(s, ev({ type: 'joined', role: 'patient', invite_id: 'p1' }));
    expect(s.peers.p1.connected).toBe(true);
    s = reduce(s, ev({ type: 'left', role: 'patient', invite_id: 'p1' }));
    expect(s.peers.p1).toBeUndefined();
    const before = s;
    expect(reduce(s, ev({ type: 'joined', role: 'doctor', invite_id: 'me' }))).toBe(before);
  });
  it('toasts never name a patient (only roles)', () => {
    const s = reduce(reduce(initialState(), { type: 'info', info: info({ role: 'doctor' }) }),
      ev({ type: 'joined', role: 'patient', invite_id: 'p1', subject: 'Taro Yamada' }));
    expect(JSON.stringify(s.toasts)).not.toContain('Taro');
  });
});
