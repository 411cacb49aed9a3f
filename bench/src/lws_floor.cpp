// bench/src/lws_floor.cpp — tandem-lws-floor: the race's room protocol (peer_protocol.h) on a
// bare libwebsockets server, nothing else: what lws itself costs per connection and per
// message, under every figure of Tandem's (issue 15). Built on the same library and context
// settings Tandem's edge starts from (one service thread, receive buffers of `--rx-buffer-size`,
// default 256 as lws's smallest useful), without auth, JSON, limits, queues' bounds or state
// beyond a member's room and the messages waiting for its socket. Each message is one
// lws_write per member, in WRITEABLE callbacks (lws allows one write per callback), as lws's
// own examples do; a message is stored once and shared by every member's queue.
//
//   tandem-lws-floor PORT [RX_BUFFER_SIZE]   — prints "lws floor ready on port N"
#include <libwebsockets.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "peer_protocol.h"

namespace {

namespace bench = tandem::bench;

using Message = std::shared_ptr<const std::string>;  // LWS_PRE bytes of headroom, then the text

// Per connection: only a pointer until the member joins or sends, so an idle connection costs
// lws's own state and this word.
struct Member {
  std::string room;
  std::string partial;         // a message arriving in fragments
  std::deque<Message> queue;  // waiting for the socket
};
struct Session {
  Member* member;
};

std::unordered_map<std::string, std::unordered_set<lws*>> g_rooms;
volatile std::sig_atomic_t g_stop = 0;

Message framed(std::string_view text) {
  auto message = std::make_shared<std::string>(LWS_PRE, '\0');
  message->append(text);
  return message;
}

void deliver(lws* wsi, Member& member, Message message) {
  member.queue.push_back(std::move(message));
  if (member.queue.size() == 1) lws_callback_on_writable(wsi);
}

void on_message(lws* wsi, Member& member, std::string_view text) {
  if (bench::is_join(text)) {
    if (!member.room.empty()) g_rooms[member.room].erase(wsi);
    member.room = std::string(bench::room_of(text));
    g_rooms[member.room].insert(wsi);
    deliver(wsi, member, framed(bench::joined(member.room)));
  } else if (bench::is_msg(text) && !member.room.empty() && bench::room_of(text) == member.room) {
    const Message message = framed(text);
    for (lws* other : g_rooms[member.room])
      deliver(other, *static_cast<Session*>(lws_wsi_user(other))->member, message);
  }
}

int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len) {
  auto* session = static_cast<Session*>(user);
  switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
      session->member = nullptr;
      break;
    case LWS_CALLBACK_RECEIVE: {
      if (!session->member) session->member = new Member;
      Member& member = *session->member;
      member.partial.append(static_cast<const char*>(in), len);
      if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) break;
      const std::string text = std::move(member.partial);
      member.partial.clear();
      on_message(wsi, member, text);
      break;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
      Member* member = session->member;
      if (!member || member->queue.empty()) break;
      const Message message = member->queue.front();
      member->queue.pop_front();
      const std::size_t length = message->size() - LWS_PRE;
      auto* payload = reinterpret_cast<unsigned char*>(const_cast<char*>(message->data())) + LWS_PRE;
      if (lws_write(wsi, payload, length, LWS_WRITE_TEXT) < static_cast<int>(length)) return -1;
      if (!member->queue.empty()) lws_callback_on_writable(wsi);
      break;
    }
    case LWS_CALLBACK_CLOSED:
      if (Member* member = session->member) {
        if (!member->room.empty()) g_rooms[member->room].erase(wsi);
        delete member;
        session->member = nullptr;
      }
      break;
    default:
      break;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: tandem-lws-floor PORT [RX_BUFFER_SIZE]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int rx_buffer_size = argc > 2 ? std::atoi(argv[2]) : 256;
  const lws_protocols protocols[] = {
      {"race", callback, sizeof(Session), static_cast<std::size_t>(rx_buffer_size), 0, nullptr, 0},
      {nullptr, nullptr, 0, 0, 0, nullptr, 0},
  };
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = port;
  info.iface = "127.0.0.1";
  info.protocols = protocols;
  info.count_threads = 1;
  lws_set_log_level(LLL_ERR, nullptr);
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  lws_context* context = lws_create_context(&info);
  if (!context) {
    std::fprintf(stderr, "lws floor: cannot listen on port %d\n", port);
    return 1;
  }
  std::printf("lws floor ready on port %d\n", port);
  std::fflush(stdout);
  while (!g_stop && lws_service(context, 0) >= 0) {
  }
  lws_context_destroy(context);
  return 0;
}
