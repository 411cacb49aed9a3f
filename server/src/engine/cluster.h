// server/src/engine/cluster.h — the two seams several instances share rooms through
// (docs/SCALING.md): who owns which room (RoomDirectory), and messages between instances
// (ClusterLink). Without them (one instance) the hub serves every room itself and nothing here
// runs. The Redis engine implements both; tests link hubs in one process.
//
// One owner per room: the instance that owns a room runs all of its logic (seq, document,
// locks, presence, typing, streams) as a single instance does. Another instance whose client
// sends a message about that room forwards it to the owner ("attach" the connection once, then
// its frames); the owner treats that connection as a remote member, and ships what it sends to
// it back to the client's instance, which queues it on the client's socket.
//
// Everything here runs on the loop thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tandem/result.h"

namespace tandem::server {

// Which instance owns which room.
// EXPIRY: the directory owns leases: a room's owner must renew() its rooms at least every
//   lease / 3; a lease not renewed in time is free, and the next acquire() by any instance
//   takes it (an instance that died loses its rooms within one lease).
// GUARANTEES: at most one instance holds an unexpired lease on a room at a time, as the
//   directory's clock sees it. An owner paused past its lease may still believe it owns the
//   room; the store's writer claim (store/store.h WRITERS) makes that safe: its commits fail.
// LIVENESS: the directory also knows which instances are alive: each calls heartbeat() at
//   least every instance_ttl / 3; an instance whose heartbeat ran out is dead, and its leases
//   are free at once (acquire() takes them) — so a room whose owner died moves within
//   instance_ttl, not within its lease. heartbeat() also answers which of the instances this
//   one deals with are dead: the owner drops the remote members they carried (presence, lock
//   grace), an edge closes its clients that talked to rooms they owned (1012: they reconnect).
// FAILURE: a call that fails returns an error and changes nothing; the caller keeps serving
//   what it owns until it would have had to renew, and retries.
class RoomDirectory {
 public:
  virtual ~RoomDirectory() = default;

  // This instance's id (unique among the instances sharing the directory).
  virtual const std::string& instance() const = 0;
  // For each room, its owner: this instance when it held the lease or has just taken it (the
  // room was free), else the instance that holds it. Answers in request order.
  virtual Result<std::vector<std::string>> acquire(const std::vector<std::string>& rooms) = 0;
  // Renews this instance's leases on `rooms` (taking again those nobody holds: after a
  // directory restart); returns those another instance holds now.
  virtual Result<std::vector<std::string>> renew(const std::vector<std::string>& rooms) = 0;
  // Gives rooms up (this instance forgot them), so any instance can take them at once. Best
  // effort: a lease not given up simply runs out.
  virtual void release(const std::vector<std::string>& rooms) = 0;

  struct Heartbeat {
    bool was_dead = false;           // this instance's own heartbeat had run out (it was paused):
                                     // others may have taken its rooms and dropped its clients
    bool reset = false;              // the directory lost every lease and heartbeat since the
                                     // last beat (Redis restarted empty); peers get one
                                     // instance_ttl to beat again before any is judged dead
    std::vector<std::string> dead;   // those of `peers` whose heartbeat ran out
    std::vector<std::string> reports;  // every other live instance's last `report`
  };
  // Records this instance alive for another instance_ttl with `report` (what it says about
  // itself: the admin API's figures), checks `peers`, and collects the other instances'
  // reports: one round trip.
  virtual Result<Heartbeat> heartbeat(const std::vector<std::string>& peers, const std::string& report) = 0;
};

// Messages between instances: every instance has an inbox.
// DELIVERY: at most once, in send order between two instances; a message may be lost when
//   the link breaks. Either side learns it: the receiver from gaps() (its inbox reconnected or
//   overflowed), the sender from unreached() (nobody listened on the inbox then, or the send
//   failed). The hub then closes every client whose messages may have been lost with 1012,
//   and they reconnect and recover by seq.
// FAILURE: send() never blocks: messages are queued and flushed together by flush().
class ClusterLink {
 public:
  virtual ~ClusterLink() = default;

  virtual const std::string& instance() const = 0;
  virtual void send(const std::string& to_instance, std::string message) = 0;
  // To every other instance (and, harmlessly, back to this one: receivers skip their own).
  virtual void broadcast(std::string message) = 0;
  // Sends what send() queued (one round trip with Redis).
  virtual void flush() = 0;
  // The messages that arrived since the last call, oldest first.
  virtual std::vector<std::string> receive() = 0;
  // Goes up each time messages to this instance may have been lost (a reconnect, an overflow).
  virtual std::uint64_t gaps() const = 0;
  // The instances that messages flushed since the last call may not have reached (their
  // inbox had no listener — reconnecting, or dead — or the send failed), each once.
  virtual std::vector<std::string> unreached() = 0;
};

}  // namespace tandem::server
