#!/usr/bin/env bash
# TURN comparison: the same turnutils_uclient load (UDP, ChannelData, 1200-byte messages, many
# allocations) against medrelay's TURN and against coturn (Debian's turnserver), alternating
# runs, loopback only. Each run writes one JSON line: relayed packets (2 x messages echoed by
# turnutils_peer: client->peer and peer->client) and the server process's CPU seconds from
# /proc/<pid>/stat (all threads). Both servers are started here and stopped after each run.
#
#   bench/turn/compare.sh MEDRELAY_BINARY OUT_DIR [REPS] [PROCS] [MESSAGES] [INTERVAL_MS]
# PROCS turnutils_uclient processes run in parallel, each with 4 clients (8 allocations: a
# client and an RTCP-less second allocation per client; medrelay allows 8 per user and 16 per
# source address, so each process has its own user name and 127.0.0.x source). Each client sends
# a message every INTERVAL_MS (turnutils_uclient -z).
set -euo pipefail

medrelay=${1:?medrelay binary}
out=${2:?output dir}
reps=${3:-3}
procs=${4:-8}
messages=${5:-400}
interval=${6:-5}
secret=bench-secret-0123456789
mkdir -p "$out"
work=$(mktemp -d /tmp/medrelay-turn-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

freeport() {
  python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}
cpu_seconds() {  # utime + stime (fields 14, 15 of /proc/<pid>/stat) in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}
wait_udp() {  # wait until something listens on 127.0.0.1:$1/udp (5 s at most)
  for _ in $(seq 50); do
    ss -Hlun "sport = :$1" | grep -q . && return 0
    sleep 0.1
  done
  echo "turn compare: nothing listens on udp port $1" >&2
  return 1
}

command -v turnserver >/dev/null && command -v turnutils_uclient >/dev/null || {
  echo "turn compare: coturn is not installed (scripts/install-deps.sh bench)" >&2
  exit 2
}

peer_port=$(freeport)
turnutils_peer -L 127.0.0.1 -p "$peer_port" >"$work/peer.log" 2>&1 &
pids+=($!)
wait_udp "$peer_port"

start_server() {  # $1 = coturn|medrelay; sets server_pid and server_port
  server_port=$(freeport)
  case "$1" in
    coturn)
      turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$server_port" \
        --use-auth-secret --static-auth-secret="$secret" --realm=bench --no-tls --no-dtls \
        --no-tcp --no-cli --allow-loopback-peers --no-stdout-log --simple-log \
        --log-file="$work/coturn.log" --pidfile="$work/coturn.pid" \
        --min-port=50000 --max-port=59999 --total-quota=0 --user-quota=0 \
        >"$work/coturn.out" 2>&1 &
      ;;
    medrelay)
      rm -rf "$work/data"
      cat >"$work/medrelay.yaml" <<YAML
http:
  listen: "127.0.0.1:0"
media:
  listen_ip: "127.0.0.1"
  udp_port: 0
  tcp_port: 0
  workers: 1
turn:
  udp_listen: "127.0.0.1:$server_port"
  realm: bench
  secrets: ["$secret"]
  allow_peers: ["127.0.0.1/32"]
storage:
  data_dir: "$work/data"
log:
  level: warn
YAML
      "$medrelay" --config "$work/medrelay.yaml" >"$work/medrelay.out" 2>&1 &
      ;;
  esac
  server_pid=$!
  pids+=("$server_pid")
  wait_udp "$server_port"
}

run_once() {  # $1 = server, $2 = rep
  start_server "$1"
  local cpu0 t0 t1 cpu1 sent=0 recv=0 lost=0
  cpu0=$(cpu_seconds "$server_pid")
  t0=$(date +%s.%N)
  local ucpids=()
  for i in $(seq "$procs"); do
    timeout 60 turnutils_uclient -W "$secret" -u "bench$i" -L "127.0.0.$((i + 1))" \
      -e 127.0.0.1 -r "$peer_port" -p "$server_port" -m 4 -n "$messages" -l 1200 -z "$interval" -c \
      127.0.0.1 >"$work/uclient.$i.log" 2>&1 &
    ucpids+=($!)
  done
  for p in "${ucpids[@]}"; do wait "$p" || true; done
  t1=$(date +%s.%N)
  cpu1=$(cpu_seconds "$server_pid")
  for i in $(seq "$procs"); do
    local line
    line=$(grep -o 'tot_send_msgs=[0-9]*, tot_recv_msgs=[0-9]*$' "$work/uclient.$i.log" | tail -n 1 || true)
    if [ -z "$line" ]; then
      echo "turn compare: $1 run $2: uclient $i did not finish:" >&2
      tail -n 3 "$work/uclient.$i.log" >&2
      continue
    fi
    sent=$((sent + $(sed 's/tot_send_msgs=\([0-9]*\),.*/\1/' <<<"$line")))
    recv=$((recv + $(sed 's/.*tot_recv_msgs=\([0-9]*\)/\1/' <<<"$line")))
  done
  local rss
  rss=$(awk '/VmHWM/ { print $2 * 1024 }' "/proc/$server_pid/status")
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  python3 - "$1" "$2" "$sent" "$recv" "$cpu0" "$cpu1" "$t0" "$t1" "$rss" "$procs" <<'PY' >>"$out/turn.jsonl"
import json, sys
server, rep, sent, recv, c0, c1, t0, t1, rss, procs = sys.argv[1:]
cpu = float(c1) - float(c0)
relayed = 2 * int(recv)
print(json.dumps({"server": server, "rep": int(rep), "messages_sent": int(sent),
                  "messages_echoed": int(recv), "relayed_packets": relayed,
                  "loss": 1 - int(recv) / int(sent) if int(sent) else 0,
                  "cpu_seconds": cpu, "wall_seconds": float(t1) - float(t0),
                  "allocations": int(procs) * 8, "offered_msgs_per_s": int(sent) / (float(t1) - float(t0)),
                  "peak_rss_bytes": int(rss or 0),
                  "relayed_per_cpu_second": relayed / cpu if cpu > 0 else None}))
PY
  tail -n 1 "$out/turn.jsonl" >&2
}

: >"$out/turn.jsonl"
for rep in $(seq "$reps"); do
  # Alternate which server goes first so drift on a shared machine hits both alike.
  if [ $((rep % 2)) -eq 1 ]; then order="medrelay coturn"; else order="coturn medrelay"; fi
  for s in $order; do
    echo "turn: $s run $rep/$reps ($procs x 8 allocations, $messages x 1200 B per client)" >&2
    run_once "$s" "$rep"
  done
done
