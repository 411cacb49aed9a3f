// server/src/frame_assembler.h — joins the pieces of one WebSocket message, within bounds.
//
// libwebsockets delivers a message in pieces (rx_buffer_size caps each RECEIVE; WebSocket
// fragments add more). One of these per connection collects the pieces of the current message
// and reports, at its last piece, what the message was. Bytes over max_bytes are discarded as
// they arrive, never buffered, so a peer cannot make the server hold more than max_bytes per
// connection; crossing hard_bytes is reported at once so the edge can close (1009) without
// reading the rest.
//
// A connection takes the kinds of message its protocol has: a Tandem connection both (JSON as
// text, Yjs documents as binary, ydocs/), a Yjs connection binary only. A message of another
// kind is discarded as it arrives, like one over max_bytes, and reported as WrongKind at its end.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tandem::server {

// The WebSocket message kinds (opcodes text and binary).
enum class MessageKind { Text, Binary };
// Which of them a connection takes.
enum class Accepts { Binary, TextAndBinary };

class FrameAssembler {
 public:
  enum class Status {
    Partial,        // more pieces to come (or the rest of a refused message is being skipped)
    Complete,       // `message` holds the whole message, of the accepted kind
    TooBig,         // the message ended, over max_bytes; its bytes were dropped
    OverHardLimit,  // the message just crossed hard_bytes (reported once)
    WrongKind,      // a message of the kind this connection does not take ended; dropped
  };
  struct Outcome {
    Status status = Status::Partial;
    std::string_view message;  // Complete: valid until the next feed()
    MessageKind kind = MessageKind::Text;  // Complete: the message's kind
    std::size_t bytes = 0;     // size of the message so far
  };

  FrameAssembler(std::size_t max_bytes, std::size_t hard_bytes, Accepts accepts = Accepts::TextAndBinary)
      : max_bytes_(max_bytes), hard_bytes_(hard_bytes), accepts_(accepts) {}

  // One piece as libwebsockets hands it over: `first`/`last` mark the message's first and
  // last piece (lws_is_first_fragment / lws_is_final_fragment).
  Outcome feed(std::string_view piece, bool first, bool last, bool binary);

 private:
  enum class Mode { Collecting, Discarding, Dead };

  std::size_t max_bytes_;
  std::size_t hard_bytes_;
  Accepts accepts_;
  std::string buffer_;
  std::size_t bytes_ = 0;
  MessageKind kind_ = MessageKind::Text;  // the current message's
  bool wrong_kind_ = false;  // the current message is of the kind not accepted
  Mode mode_ = Mode::Collecting;
};

}  // namespace tandem::server
