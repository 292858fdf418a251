// A shaped link for browser quality tests on a kernel without netem (docs/media.md "Testing
// under shaped links"): two network namespaces made by the test — the relay's (medrelay and the
// doctor's browser) and the patient's — joined by a veth pair on a /30 that exists only inside
// them, IPv6 off, no default routes. Rate limits are tbf on the sending side's veth (uplink: the
// patient's, downlink: the relay's), so congestion builds a queue and tail-drops; random loss is
// an nftables rule on the receiving namespace's input hook (a drop on the sender's output would
// return EPERM to the sending socket instead of losing the packet). Needs root.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Conditions by name. Rates are tbf rates; loss is percent per direction. settleMs: call time
// before measuring; measureMs: the measuring window (steps change the uplink rate within it).
export const kConditions = {
  unshaped: { description: 'loopback, no shaping', shaped: false, settleMs: 12000, measureMs: 6000 },
  uplink_1m: { description: 'patient uplink 1 Mbit/s', shaped: true, uplink: '1000kbit',
    settleMs: 20000, measureMs: 20000 },
  uplink_600k: { description: 'patient uplink 600 kbit/s', shaped: true, uplink: '600kbit',
    settleMs: 20000, measureMs: 20000 },
  loss_2m_3pct: { description: 'patient link 2 Mbit/s both ways, 3 % random loss both ways',
    shaped: true, uplink: '2000kbit', downlink: '2000kbit', uplinkLoss: 3, downlinkLoss: 3,
    settleMs: 20000, measureMs: 20000 },
  downlink_600k: { description: 'patient downlink 600 kbit/s', shaped: true, downlink: '600kbit',
    settleMs: 20000, measureMs: 20000 },
  // Thinner than the fake camera's ~470 kbit/s of VP8: the doctor's encoder must learn the
  // patient's downlink from the relay (a REMB limit), peer to peer from its own feedback.
  downlink_300k: { description: 'patient downlink 300 kbit/s', shaped: true, downlink: '300kbit',
    settleMs: 20000, measureMs: 20000 },
  step: { description: 'patient uplink 2 Mbit/s, 500 kbit/s, 2 Mbit/s (20 s each)', shaped: true,
    uplink: '2000kbit', settleMs: 15000, measureMs: 60000,
    steps: [{ atMs: 20000, rate: '500kbit' }, { atMs: 40000, rate: '2000kbit' }] },
};

function run(...args) {
  execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

function tbf(ns, dev, rate, verb = 'add') {
  run('ip', 'netns', 'exec', ns, 'tc', 'qdisc', verb, 'dev', dev, 'root', 'tbf', 'rate', rate,
    'burst', '6kb', 'latency', '80ms');
}

function randomLoss(ns, dev, percent) {
  run('ip', 'netns', 'exec', ns, 'nft', 'add', 'table', 'inet', 'shaping');
  run('ip', 'netns', 'exec', ns, 'nft', 'add', 'chain', 'inet', 'shaping', 'in',
    '{ type filter hook input priority 0 ; }');
  run('ip', 'netns', 'exec', ns, 'nft', 'add', 'rule', 'inet', 'shaping', 'in', 'iifname', dev,
    'meta', 'l4proto', 'udp', 'numgen', 'random', 'mod', '100', '<', String(percent), 'counter', 'drop');
}

export class ShapedNet {
  static kRelayAddress = '10.77.0.1';
  static kPatientAddress = '10.77.0.2';
  static kRelayDev = 'mrq-relay';
  static kPatientDev = 'mrq-patient';

  constructor(condition) {
    this.condition = condition;
    this.relayNs = `mrq-relay-${process.pid}`;
    this.patientNs = `mrq-patient-${process.pid}`;
  }

  up() {
    const { relayNs: r, patientNs: p, condition: c } = this;
    run('ip', 'netns', 'add', r);
    run('ip', 'netns', 'add', p);
    run('ip', 'link', 'add', ShapedNet.kRelayDev, 'netns', r, 'type', 'veth', 'peer', 'name',
      ShapedNet.kPatientDev, 'netns', p);
    for (const [ns, dev, addr] of [[r, ShapedNet.kRelayDev, ShapedNet.kRelayAddress],
      [p, ShapedNet.kPatientDev, ShapedNet.kPatientAddress]]) {
      run('ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', `net.ipv6.conf.${dev}.disable_ipv6=1`);
      run('ip', '-n', ns, 'addr', 'add', `${addr}/30`, 'dev', dev);
      run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      run('ip', '-n', ns, 'link', 'set', dev, 'up');
    }
    if (c.uplink) tbf(p, ShapedNet.kPatientDev, c.uplink);
    if (c.downlink) tbf(r, ShapedNet.kRelayDev, c.downlink);
    if (c.uplinkLoss) randomLoss(r, ShapedNet.kRelayDev, c.uplinkLoss);
    if (c.downlinkLoss) randomLoss(p, ShapedNet.kPatientDev, c.downlinkLoss);
  }

  // Deleting the namespaces deletes the veth pair, its qdiscs and the nft tables with them.
  down() {
    for (const ns of [this.patientNs, this.relayNs]) {
      try { run('ip', 'netns', 'del', ns); } catch { /* never created */ }
    }
  }

  // From inside the relay's namespace: the handle that changes the patient's uplink rate.
  static attach(condition, patientNs) {
    return {
      setUplink(rate) { tbf(patientNs, ShapedNet.kPatientDev, rate, condition.uplink ? 'change' : 'add'); },
    };
  }

  // An executable that runs Debian's Chromium inside `ns` (playwright launches it by path).
  static chromiumWrapper(dir, ns) {
    const path = join(dir, `chromium-${ns}.sh`);
    writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${ns} ${process.env.CHROMIUM || '/usr/bin/chromium'} "$@"\n`);
    chmodSync(path, 0o755);
    return path;
  }
}

// Sets the namespaces up for `condition`, runs `script` again (node, with `args` and
// `--inside --patient-ns=<ns>`) inside the relay's namespace, tears them down whatever happens,
// and resolves to the child's exit code.
export async function runInsideRelayNamespace(condition, script, args) {
  const net = new ShapedNet(condition);
  try {
    net.up();
    return await new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', net.relayNs, process.execPath, script, ...args,
        '--inside', `--patient-ns=${net.patientNs}`], { stdio: 'inherit', env: process.env });
      child.on('exit', (c) => resolve(c ?? 1));
    });
  } finally {
    net.down();
  }
}
