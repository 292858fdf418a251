#pragma once
// The cluster's decisions as Redis Lua scripts (docs/cluster.md "Keys and scripts"): each runs
// atomically inside Redis, so no decision is a read-then-write from a node. Every key shares one
// hash tag (`{<prefix>}:`, passed as KEYS[1]), so the scripts stay legal on a Redis Cluster.
//
//   {p}:nodes            set of node ids ever registered
//   {p}:node:<id>        hash: boot, state (serving|draining), region, url, capacity, load
//   {p}:alive:<id>       string = boot id, PX alive TTL, renewed by the node's heartbeat
//   {p}:room:<rid>       hash: home, node, boot, epoch (placement; records stay on `home`)
//   {p}:noderooms:<id>   set of rooms placed on the node
//   {p}:doctor:<subject> string = "<rid>|<node>|<boot>", PX lease TTL (policy rule 3)
namespace medrelay::control::cluster::scripts {

// ARGV: node, boot, alive_ttl_ms, state, region, url, capacity, load, lease_ttl_ms,
//       n_rooms, (rid, epoch)*, n_leases, (subject, rid)*
// Returns {status, superseded rooms, lost leases (subject, holder)*, serving, draining, lost}:
// status "ok", or "conflict" when another live process holds this node id (its boot id differs).
// A room is superseded when its placement no longer names this node, this boot and the epoch
// the node holds (fencing); a room whose key is gone (Redis restarted empty) is recorded again as
// this node's. A lease that expired meanwhile (a store outage) is taken again; one another room
// holds now is lost.
inline constexpr const char* kHeartbeat = R"lua(
local P = KEYS[1]
local node, boot = ARGV[1], ARGV[2]
local alive = P .. 'alive:' .. node
local cur = redis.call('GET', alive)
if cur and cur ~= boot then
  return {'conflict', {}, {}, 0, 0, 0}
end
redis.call('SET', alive, boot, 'PX', ARGV[3])
redis.call('HSET', P .. 'node:' .. node, 'boot', boot, 'state', ARGV[4], 'region', ARGV[5],
           'url', ARGV[6], 'capacity', ARGV[7], 'load', ARGV[8])
redis.call('SADD', P .. 'nodes', node)
local i = 11
local superseded = {}
for _ = 1, tonumber(ARGV[10]) do
  local rid, epoch = ARGV[i], ARGV[i + 1]
  i = i + 2
  local key = P .. 'room:' .. rid
  if redis.call('EXISTS', key) == 0 then
    -- Redis lost it (restarted empty): the node that serves the room says where it is.
    redis.call('HSET', key, 'home', node, 'node', node, 'boot', boot, 'epoch', epoch)
    redis.call('PEXPIRE', key, 2764800000)
    redis.call('SADD', P .. 'noderooms:' .. node, rid)
  else
    local r = redis.call('HMGET', key, 'node', 'boot', 'epoch')
    if r[1] ~= node or r[2] ~= boot or r[3] ~= epoch then
      superseded[#superseded + 1] = rid
    end
  end
end
local lost = {}
local n_leases = tonumber(ARGV[i])
i = i + 1
for _ = 1, n_leases do
  local subject, rid = ARGV[i], ARGV[i + 1]
  i = i + 2
  local key = P .. 'doctor:' .. subject
  local mine = rid .. '|' .. node .. '|' .. boot
  local v = redis.call('GET', key)
  if v == false or v == mine then
    redis.call('SET', key, mine, 'PX', ARGV[9])
  else
    lost[#lost + 1] = subject
    lost[#lost + 1] = v
  end
end
local serving, draining, gone = 0, 0, 0
for _, id in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  local b = redis.call('GET', P .. 'alive:' .. id)
  if b == false then
    gone = gone + 1
  elseif redis.call('HGET', P .. 'node:' .. id, 'state') == 'draining' then
    draining = draining + 1
  else
    serving = serving + 1
  end
end
return {'ok', superseded, lost, serving, draining, gone}
)lua";

// ARGV: node, boot. A node leaving on purpose: its alive key goes at once, so its rooms can be
// placed elsewhere without waiting for the TTL.
inline constexpr const char* kLeave = R"lua(
local P = KEYS[1]
local alive = P .. 'alive:' .. ARGV[1]
if redis.call('GET', alive) == ARGV[2] then redis.call('DEL', alive) end
redis.call('HSET', P .. 'node:' .. ARGV[1], 'state', 'left')
return 1
)lua";

// ARGV: rid, home, room_ttl_ms. Records that the room's records live on `home` (the node that
// created it); a room created again keeps its first home.
inline constexpr const char* kRegisterRoom = R"lua(
local P = KEYS[1]
local key = P .. 'room:' .. ARGV[1]
redis.call('HSETNX', key, 'home', ARGV[2])
redis.call('HSETNX', key, 'epoch', '0')
redis.call('PEXPIRE', key, ARGV[3])
return redis.call('HGET', key, 'home')
)lua";

// ARGV: rid, requester node, requester region, home_if_new ('' if unknown), home_only ('1'|'0'),
//       room_ttl_ms
// Keeps the room's owner while its process (node and boot id) is alive. Otherwise picks a live,
// serving node — in the requester's region first, then the least loaded (load / capacity) — bumps
// the epoch and records the new owner. With home_only, only the room's home node may own it
// (its records are there: docs/cluster.md "What is shared"). Returns
// {outcome, node, epoch, url}: outcome kept | placed | reassigned | unknown (home_only and no
// home recorded: no such room in the cluster) | no_node (no eligible live node).
inline constexpr const char* kPlaceRoom = R"lua(
local P = KEYS[1]
local rid, me, region = ARGV[1], ARGV[2], ARGV[3]
local key = P .. 'room:' .. rid
if ARGV[4] ~= '' then
  redis.call('HSETNX', key, 'home', ARGV[4])
  redis.call('HSETNX', key, 'epoch', '0')
end
local home = redis.call('HGET', key, 'home')
if home == false and ARGV[5] == '1' then return {'unknown', '', 0, ''} end
local owner = redis.call('HGET', key, 'node')
local epoch = tonumber(redis.call('HGET', key, 'epoch') or '0')
if owner then
  local b = redis.call('GET', P .. 'alive:' .. owner)
  if b and b == redis.call('HGET', key, 'boot') then
    return {'kept', owner, epoch, redis.call('HGET', P .. 'node:' .. owner, 'url') or ''}
  end
end
local candidates
if ARGV[5] == '1' then
  candidates = {home}
else
  candidates = redis.call('SMEMBERS', P .. 'nodes')
end
local best, best_boot, best_local, best_score = nil, nil, false, 0
for _, id in ipairs(candidates) do
  local b = redis.call('GET', P .. 'alive:' .. id)
  if b then
    local n = redis.call('HMGET', P .. 'node:' .. id, 'state', 'region', 'capacity', 'load')
    if n[1] == 'serving' then
      local cap = tonumber(n[3] or '0') or 0
      local load = tonumber(n[4] or '0') or 0
      local score = cap > 0 and load / cap or load
      local here = n[2] == region
      if best == nil or (here and not best_local) or
         (here == best_local and (score < best_score or (score == best_score and id < best))) then
        best, best_boot, best_local, best_score = id, b, here, score
      end
    end
  end
end
if best == nil then return {'no_node', '', epoch, ''} end
epoch = redis.call('HINCRBY', key, 'epoch', 1)
redis.call('HSET', key, 'node', best, 'boot', best_boot)
redis.call('PEXPIRE', key, ARGV[6])
if owner then redis.call('SREM', P .. 'noderooms:' .. owner, rid) end
redis.call('SADD', P .. 'noderooms:' .. best, rid)
redis.call('HINCRBY', P .. 'node:' .. best, 'load', 1)
local outcome = 'placed'
if owner then outcome = 'reassigned' end
return {outcome, best, epoch, redis.call('HGET', P .. 'node:' .. best, 'url') or ''}
)lua";

// ARGV: subject, rid, node, boot, lease_ttl_ms
// The doctor's lease: free, or already this room on this process → taken (renewed); held by a
// process that is no longer alive → taken over; else refused. Returns {1, ''} or
// {0, holder room}.
inline constexpr const char* kAcquireDoctor = R"lua(
local P = KEYS[1]
local key = P .. 'doctor:' .. ARGV[1]
local mine = ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4]
local v = redis.call('GET', key)
if v and v ~= mine then
  local room, node, boot = string.match(v, '^(.*)|(.*)|(.*)$')
  if room and redis.call('GET', P .. 'alive:' .. node) == boot then
    return {0, room}
  end
end
redis.call('SET', key, mine, 'PX', ARGV[5])
return {1, ''}
)lua";

// ARGV: subject, rid, node, boot. Drops the lease only if this process holds it for this room.
inline constexpr const char* kReleaseDoctor = R"lua(
local key = KEYS[1] .. 'doctor:' .. ARGV[1]
if redis.call('GET', key) == ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4] then
  return redis.call('DEL', key)
end
return 0
)lua";

}  // namespace medrelay::control::cluster::scripts
