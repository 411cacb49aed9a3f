// server/src/engine/cluster_message.h — what instances say to each other over a ClusterLink
// (engine/cluster.h), and its encoding: a kind byte, then fields as netstrings
// ("<length>:<bytes>"), so any bytes (frames, JSON) travel unescaped.
//
//   attach   edge → owner   a client connection starts talking to rooms the owner runs:
//                           its connection id and wire id, and who it is (user, the token's
//                           room patterns and permissions, its session); a Yjs connection
//                           (ydocs/) also its protocol and, for y-websocket, its document
//   frame    edge → owner   one message the client sent, as it sent it, and its kind (binary:
//                           Yjs, ydocs/)
//   join     edge → owner   join the client to this room automatically (its user: room)
//   detach   edge → owner   the client connection is gone
//   deliver  owner → edge   what the owner sent to remote members in one loop pass: each
//                           distinct frame once with its kind, then per connection the frames
//                           it gets, in order
//   close    owner → edge   close the client connection with this code and reason
//   publish  any → owner    a POST /api/v1/publish body the edge received for rooms the owner runs
//   answer   owner → edge   the HTTP answer to that publish (status and JSON body)
//   moved    broadcast      a session was resumed by a connection on the sender: any other
//                           connection of it elsewhere is closed (4409)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/protocol/messages.h"
#include "tandem/result.h"

namespace tandem::server::cluster {

enum class Kind : char {
  Attach = 'a', Frame = 'f', Join = 'j', Detach = 'd', Deliver = 'v', Close = 'c', Publish = 'p', Answer = 'r',
  SessionMoved = 's', SsePost = 'e'
};

// Who a connection is, as the owner needs it to run its requests.
struct Identity {
  std::string wire_id;  // `connection_id` as the client knows it
  protocol::UserInfo user;
  std::vector<std::string> rooms;  // the token's room patterns
  std::vector<std::string> perms;
  std::string session;
  std::vector<std::string> read_only;  // the token's read-only room patterns (jwt.h)
  std::uint8_t wire = 0;               // its protocol: hub.h Wire as a number (0: Tandem)
  std::string ydoc;                    // y-websocket: the document its path named
};

struct Attach {
  std::string from;  // the edge instance
  std::uint64_t connection = 0;  // the connection's id on the edge
  Identity identity;
};
struct Frame {
  std::string from;
  std::uint64_t connection = 0;
  std::string text;
  bool binary = false;  // a binary WebSocket message (Yjs)
};
struct Join {
  std::string from;
  std::uint64_t connection = 0;
  std::string room;
};
struct Detach {
  std::string from;
  std::uint64_t connection = 0;
};
struct Deliver {
  std::string from;  // the owner
  std::vector<std::string> frames;  // each distinct frame once
  std::string kinds;                 // per frame: 't' text, 'b' binary
  void add(std::string frame, bool is_binary) {
    frames.push_back(std::move(frame));
    kinds.push_back(is_binary ? 'b' : 't');
  }
  bool binary(std::uint32_t index) const { return index < kinds.size() && kinds[index] == 'b'; }
  struct Recipient {
    std::uint64_t connection = 0;  // on the edge
    std::vector<std::uint32_t> frames;  // indices into `frames`, in send order
  };
  std::vector<Recipient> recipients;
};
struct Close {
  std::string from;
  std::uint64_t connection = 0;
  int code = 0;
  std::string reason;
};

struct Publish {
  std::string from;
  std::uint64_t serial = 0;  // the edge's, to match the answer
  std::string body;
};
// A POST /sse/{stream} another instance received for a stream this one holds (PROTOCOL.md
// §5.5); answered with Answer like Publish. The edge checked the bearer token: `user` is its sub.
struct SsePost {
  std::string from;
  std::uint64_t serial = 0;
  std::string stream;
  std::string n;  // ?n= as given ("" when absent)
  std::string user;
  std::string body;
};
struct Answer {
  std::string from;
  std::uint64_t serial = 0;
  int status = 0;
  std::string body;
};

struct SessionMoved {
  std::string from;
  std::string session;
  std::string wire_id;  // the connection that resumed it
};

using Message = std::variant<Attach, Frame, Join, Detach, Deliver, Close, Publish, Answer, SessionMoved, SsePost>;

std::string encode(const Message& message);
// Refuses anything malformed (another version's message, a truncated one) with a message.
Result<Message> decode(std::string_view bytes);

}  // namespace tandem::server::cluster
