import { describe, expect, it } from 'vitest';
import { connectionMessage, initialState, ownConnection, reduce, refusalMessage } from '../src/state.js';

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
  it('peer-lost marks the peer reconnecting, a rejoin (joined) brings it back, left removes it; own events are ignored', () => {
    let s = reduce(initialState(), { type: 'info', info: info({ role: 'doctor', state: 'in_consultation' }) });
    s = reduce(s, ev({ type: 'joined', role: 'patient', invite_id: 'p1' }));
    s = reduce(s, ev({ type: 'published', role: 'patient', invite_id: 'p1' }));
    s = reduce(s, ev({ type: 'peer-lost', role: 'patient', invite_id: 'p1' }));
    expect(s.peers.p1.connected).toBe(false);
    expect(s.peers.p1.published).toBe(true);
    expect(s.toasts.at(-1).text).toBe('Patient is reconnecting…');
    // A second peer-lost (the same device's other session) says nothing new.
    expect(reduce(s, ev({ type: 'peer-lost', role: 'patient', invite_id: 'p1' }))).toBe(s);
    // The new page took the old one over: joined, then published.
    s = reduce(s, ev({ type: 'joined', role: 'patient', invite_id: 'p1' }));
    expect(s.peers.p1.connected).toBe(true);
    expect(s.toasts.at(-1).text).toBe('Patient is back.');
    const toasts = s.toasts.length;
    s = reduce(s, ev({ type: 'published', role: 'patient', invite_id: 'p1' }));
    expect(s.toasts.length).toBe(toasts);
    s = reduce(s, ev({ type: 'left', role: 'patient', invite_id: 'p1' }));
    expect(s.peers.p1).toBeUndefined();
    expect(s.toasts.at(-1).text).toBe('Patient left.');
    const before = s;
    expect(reduce(s, ev({ type: 'joined', role: 'doctor', invite_id: 'me' }))).toBe(before);
    expect(reduce(s, ev({ type: 'peer-lost', role: 'doctor', invite_id: 'me' }))).toBe(before);
  });
  it('video_paused / video_resumed: own downlink and, for a doctor, the patient\'s', () => {
    let s = reduce(initialState(), { type: 'info', info: info({ role: 'patient', state: 'in_consultation' }) });
    s = reduce(s, ev({ type: 'video_paused', role: 'patient', invite_id: 'me', reason: 'bandwidth' }));
    expect(s.videoPaused).toBe(true);
    expect(s.toasts.at(-1).text).toBe('Your connection is too slow for video: continuing with audio only.');
    s = reduce(s, ev({ type: 'video_resumed', role: 'patient', invite_id: 'me', reason: 'bandwidth' }));
    expect(s.videoPaused).toBe(false);
    expect(s.toasts.at(-1).text).toBe('Your connection has recovered: video is back.');
    let d = reduce(initialState(), { type: 'info', info: info({ role: 'doctor', state: 'in_consultation' }) });
    d = reduce(d, ev({ type: 'video_paused', role: 'patient', invite_id: 'p1', reason: 'bandwidth' }));
    expect(d.videoPaused).toBe(false);
    expect(d.toasts.at(-1).text).toBe("Patient's connection is too slow for video: they continue with audio only.");
  });
  it('peer-restored: the same connection is back after a network loss', () => {
    let s = reduce(initialState(), { type: 'info', info: info({ role: 'patient', state: 'in_consultation' }) });
    s = reduce(s, ev({ type: 'joined', role: 'doctor', invite_id: 'd1' }));
    s = reduce(s, ev({ type: 'peer-lost', role: 'doctor', invite_id: 'd1' }));
    expect(s.peers.d1.connected).toBe(false);
    s = reduce(s, ev({ type: 'peer-restored', role: 'doctor', invite_id: 'd1' }));
    expect(s.peers.d1.connected).toBe(true);
    expect(s.toasts.at(-1).text).toBe('Doctor is back.');
    // peer-restored of a peer never seen lost (a page opened meanwhile) is quiet.
    const toasts = s.toasts.length;
    s = reduce(s, ev({ type: 'peer-restored', role: 'doctor', invite_id: 'd1' }));
    expect(s.peers.d1.connected).toBe(true);
    expect(s.toasts.length).toBe(toasts);
  });
  it('a patient lost while waiting stays waiting; the doctor still sees the admit button', () => {
    let s = reduce(initialState(), { type: 'info', info: info({ role: 'doctor' }) });
    s = reduce(s, ev({ type: 'joined', role: 'patient', invite_id: 'p1' }));
    s = reduce(s, ev({ type: 'peer-lost', role: 'patient', invite_id: 'p1' }));
    expect(s.waitingPatient).toBe(true);
    s = reduce(s, ev({ type: 'joined', role: 'patient', invite_id: 'p1' }));
    expect(s.waitingPatient).toBe(true);
    expect(s.peers.p1.connected).toBe(true);
  });
  it('own connection: connecting, connected, reconnecting and waiting for the previous page, in two languages', () => {
    let s = reduce(initialState(), { type: 'info', info: info({ role: 'patient', state: 'in_consultation' }) });
    expect(ownConnection(s)).toBe('idle');
    expect(connectionMessage(s)).toBeNull();
    s = reduce(s, { type: 'session', name: 'publish', state: 'connecting' });
    s = reduce(s, { type: 'session', name: 'doctor', state: 'connecting' });
    expect(ownConnection(s)).toBe('connecting');
    s = reduce(s, { type: 'session', name: 'publish', state: 'previous' });
    s = reduce(s, { type: 'session', name: 'doctor', state: 'connected' });
    expect(ownConnection(s)).toBe('previous');
    expect(connectionMessage(s).ja).toMatch(/再接続/);
    expect(connectionMessage(s).en).toMatch(/^Reconnecting…/);
    s = reduce(s, { type: 'session', name: 'publish', state: 'connected' });
    expect(ownConnection(s)).toBe('connected');
    s = reduce(s, { type: 'session', name: 'doctor', state: 'reconnecting' });
    expect(ownConnection(s)).toBe('reconnecting');
    expect(connectionMessage(s)).toEqual({ ja: '再接続しています…', en: 'Reconnecting…' });
    s = reduce(s, { type: 'session', name: 'doctor', state: null });
    expect(ownConnection(s)).toBe('connected');
    for (let i = 0; i < 3; i++) s = reduce(s, { type: 'session', name: 'publish', state: 'elsewhere' });
    expect(ownConnection(s)).toBe('elsewhere');
    expect(connectionMessage(s).en).toMatch(/another window or device/);
    // Reconnecting is never an error or an end: the phase stays.
    expect(s.phase).toBe('call');
    expect(s.refusal).toBeNull();
    s = reduce(s, { type: 'leave' });
    expect(ownConnection(s)).toBe('idle');
  });
  it('toasts never name a patient (only roles)', () => {
    const s = reduce(reduce(initialState(), { type: 'info', info: info({ role: 'doctor' }) }),
      ev({ type: 'joined', role: 'patient', invite_id: 'p1', subject: 'Taro Yamada' }));
    expect(JSON.stringify(s.toasts)).not.toContain('Taro');
  });
});
