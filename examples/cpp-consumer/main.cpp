// examples/cpp-consumer/main.cpp — tandem-chat-hello: a native app on the installed Tandem
// package (Tandem::client). It connects to a tandem-server, joins a room, sends one chat
// message and waits until the server has acknowledged it (stored) and sent it back as a room
// event, printing a line per step.
//
// Usage: TANDEM_TOKEN=<jwt> tandem-chat-hello ws://HOST:PORT/ws ROOM TEXT
//   the token from your backend, or for a try: tandem-server mint-token --secret S --sub ana
// Exit status: 0 the message came back, 1 it did not within 20 s (or the server refused us),
// 2 bad usage.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <tandem/native/native_client.h>  // tandem::native::NativeClient, and <tandem/client.h> with it

int main(int argc, char** argv) {
  // 1. Arguments. The token comes from the environment, which keeps it out of `ps`.
  const char* token = std::getenv("TANDEM_TOKEN");
  if (argc != 4 || token == nullptr || *token == '\0') {
    std::fprintf(stderr, "usage: TANDEM_TOKEN=<jwt> %s ws://HOST:PORT/ws ROOM TEXT\n", argv[0]);
    return 2;
  }
  const std::string room = argv[2];
  const std::string text = argv[3];
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each line shows at once, through a pipe too

  // 2. The client: the core (session, outbox, rooms) on the libwebsockets transport, driven
  //    on this thread by poll().
  tandem::ClientConfig config;
  config.session.url = argv[1];
  config.session.token = token;
  if (auto invalid = tandem::validate(config)) {
    std::fprintf(stderr, "bad settings: %s\n", invalid->message.c_str());
    return 2;
  }
  tandem::native::NativeClient native(config);
  tandem::Client& client = native.client();

  // 3. State: what we wait for, and why we stopped waiting.
  bool acked = false;          // the server stored the message
  bool echoed = false;         // and sent it back to the room, us included
  std::int64_t joined_at = 0;  // the room's seq at our join: its history is older than that
  std::string failure;         // the first thing that went wrong
  auto fail = [&](const std::string& why) {
    if (failure.empty()) failure = why;
  };

  client.on_state = [&](const tandem::StateChange& change) {
    if (change.state == tandem::State::Open)
      std::printf("connected as %s\n", client.connected()->user.id.c_str());
    // Closed (rather than Reconnecting): the server refused us for good, e.g. 4401 bad token.
    if (change.state == tandem::State::Closed && change.cause != tandem::Cause::Stopped)
      fail("closed " + std::to_string(change.close_code) + " " + change.close_reason);
  };
  // The room's replica changed; a Chat change may be our message coming back.
  client.rooms().on_change = [&](const std::string& changed, tandem::RoomChanges what) {
    if (changed != room || !what.has(tandem::RoomChange::Chat) || echoed) return;
    for (const tandem::protocol::ChatEntry& m : client.rooms().replica(room)->chat()) {
      if (m.seq > joined_at && m.user == client.connected()->user.id && m.text == text) {
        echoed = true;
        std::printf("received seq %lld from %s: %s\n", static_cast<long long>(m.seq), m.user.c_str(), m.text.c_str());
        break;
      }
    }
  };

  // 4. Connect, join, and once joined send. A join made before the connection is open waits
  //    in the offline queue.
  native.start();
  client.rooms().join(room, std::nullopt, [&](tandem::Result<tandem::protocol::Subscribed> joined) {
    if (!joined) {
      fail("join " + joined.error().code + ": " + joined.error().message);
      return;
    }
    joined_at = joined->seq;
    std::printf("joined %s at seq %lld\n", room.c_str(), static_cast<long long>(joined_at));
    client.rooms().send_chat(room, text, [&](tandem::Result<tandem::Acked> answer) {
      if (!answer) {
        fail("chat " + answer.error().code + ": " + answer.error().message);
        return;
      }
      acked = true;
      std::printf("sent \"%s\": acked\n", text.c_str());
    });
  });

  // 5. Poll until both happened (in either order), it failed or took too long; then close
  //    cleanly.
  native.poll_until([&] { return (acked && echoed) || !failure.empty(); }, tandem::Millis{20'000});
  native.shutdown();
  if (!acked || !echoed) {
    std::fprintf(stderr, "failed: %s\n", failure.empty() ? "no answer within 20 s" : failure.c_str());
    return 1;
  }
  std::printf("ok\n");
  return 0;
}
