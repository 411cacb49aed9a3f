// tandem/outbox.h — requests that need an answer: ids, acks, timeouts, the offline queue and
// the resend after a reconnect. One Outbox per client; no I/O of its own.
//
// Life of a request:
//   submit()   gets the next id ("1", "2", ... never reused), is encoded once, and either goes
//              on the wire at once (connection open) or waits in the offline queue.
//   on_frame() a server frame carrying the same id (ack, error, or a data reply such as
//              subscribed / lock_granted) completes it: the callback runs exactly once.
//   tick()     a request on the wire for ack_timeout without an answer fails (errc::timeout).
//   on_closed() everything on the wire is taken off it (its ack clock stops);
//   on_open()  every unanswered request is resent with its original id in original order —
//              first those that were on the wire, then those queued offline (requests submitted
//              by its before_resend hook go ahead of them). The server deduplicates by id, so a
//              resend is safe.
//   stop()     every pending request fails with errc::closed.
//
// Callbacks may call back into the Outbox (submit a retry, stop): an entry is removed before
// its callback runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "tandem/clock.h"
#include "tandem/protocol/messages.h"
#include "tandem/result.h"
#include "tandem/transport.h"

namespace tandem {

struct OutboxSettings {
  // A request on the wire that has had no answer for this long fails with errc::timeout.
  // The clock runs only while the request is on the wire of an open connection: it stops
  // when the connection drops and starts afresh when the request is resent, so time spent
  // offline never counts against a request.
  Millis ack_timeout{10'000};
  // Most unanswered requests held while the connection is not open (those that were on the
  // wire when it dropped count too: they are kept for the resend). A request over the bound
  // fails at once with errc::queue_full; 1000 is minutes of typing or dragging for a person.
  std::size_t max_queued = 1000;
};

// Receives the answer to one request: the server's reply frame (ack or a data reply), or an
// Error — the server's error reply (its code and message), errc::timeout, errc::queue_full
// or errc::closed.
using RequestCallback = std::function<void(Result<protocol::ServerFrame>)>;

// What submit() did with a request.
enum class RequestStatus {
  Sent,       // on the wire; the answer comes through the callback
  Queued,     // waiting for the connection; sent (in order) once it opens
  QueueFull,  // refused: the callback already ran with errc::queue_full
};

// What on_frame() made of a server frame.
enum class FrameRoute {
  Completed,  // answered a pending request; its callback ran
  Duplicate,  // an ack/error for a request already answered or timed out: dropped
  NotMine,    // no id, or not one of ours: for the app
};

class Outbox {
 public:
  // Puts one encoded frame on the wire; NotOpen when there is no open connection.
  using SendFn = std::function<SendStatus(std::string_view frame)>;

  explicit Outbox(SendFn send, OutboxSettings settings = {});

  // Assigns an id, encodes `message` with it, and sends or queues it (see RequestStatus).
  RequestStatus submit(const protocol::ClientMessage& message, RequestCallback done, Millis now);

  // The connection is open (the server said `connected`): resend and flush, in order.
  // `before_resend` (optional) runs once the Outbox is online and before the resend: requests
  // it submits go on the wire first (the client's room rejoins, which resent room requests
  // need on the new connection).
  void on_open(Millis now, const std::function<void()>& before_resend = {});
  // The connection is gone: nothing is on the wire any more.
  void on_closed();
  // Routes one decoded server frame (see FrameRoute).
  FrameRoute on_frame(const protocol::ServerFrame& frame);
  // Fails requests whose ack deadline has passed.
  void tick(Millis now);
  // Fails every pending request with errc::closed. Ids keep counting: a later submit() never
  // reuses one.
  void stop();

  std::size_t pending_count() const { return pending_.size(); }  // every unanswered request
  std::size_t queued_count() const;                              // those not on the wire
  bool online() const { return online_; }

 private:
  struct Pending {
    std::string id;
    std::string frame;  // encoded once, with its id; resent byte for byte
    RequestCallback done;
    bool on_wire = false;
    Millis deadline{0};  // meaningful while on_wire
  };

  // Sends `entry`; on failure the Outbox goes offline so that later requests queue behind it.
  bool put_on_wire(Pending& entry, Millis now);
  void complete(std::map<std::uint64_t, Pending>::iterator it, Result<protocol::ServerFrame> outcome);

  SendFn send_;
  OutboxSettings settings_;
  bool online_ = false;
  std::uint64_t last_id_ = 0;
  // Keyed by the numeric id: iteration order is submission order, which is the resend order.
  // Entries on the wire always precede those that are not (a failed send takes the Outbox
  // offline), so ack deadlines rise along the map and tick() stops at the first live one. The
  // one exception: requests from on_open's before_resend are on the wire ahead of older ones;
  // if a resend then fails, their timeouts wait for the next open — harmless, as the failed
  // send means the connection is going and on_closed takes them off the wire anyway.
  std::map<std::uint64_t, Pending> pending_;
};

}  // namespace tandem
