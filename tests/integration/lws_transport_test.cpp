// lws_transport_test.cpp — the native transport against a scripted peer: message reassembly,
// close codes as the app must see them (including the lws 1012 quirk), failures reported as
// exactly one on_closed, and the non-blocking poll.
#include <gtest/gtest.h>

#include <future>
#include <string>

#include "scripted_peer.h"
#include "transport_probe.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

// Pumps a little longer after a close so a second on_closed, if the transport produced one,
// would show up. Bounded: three short polls.
void drain(TransportProbe& probe) {
  for (int i = 0; i < 3; ++i) probe.transport.poll(milliseconds{30});
}

// A port nothing listens on: bind one, note it, release it.
int closed_port() {
  ScriptedPeer peer;
  return peer.port();
}

}  // namespace

TEST(lws_transport_test, joins_fragments_into_one_message) {
  ScriptedPeer peer;
  peer.run([](PeerConnection& c) {
    c.handshake();
    c.send_frame(1, "hel", false);
    c.send_frame(0, "lo ", false);
    c.send_frame(0, "world", true);
    c.send_text("second");
    c.read_frame();  // keeps the connection up until the client closes
  });
  TransportProbe probe;
  probe.open(peer.url());
  ASSERT_TRUE(probe.wait_open());
  EXPECT_EQ(probe.wait_message(1), "hello world");
  EXPECT_EQ(probe.wait_message(2), "second");
  probe.transport.close(1000, "done");
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(peer.finish(), "");
}

TEST(lws_transport_test, joins_a_frame_larger_than_the_receive_buffer) {
  // lws hands a frame over in pieces of at most its rx buffer (4 KiB); 300 KB arrives as one.
  std::string big(300'000, 'x');
  for (std::size_t i = 0; i < big.size(); i += 1000) big[i] = static_cast<char>('a' + (i / 1000) % 26);
  ScriptedPeer peer;
  peer.run([&](PeerConnection& c) {
    c.handshake();
    c.send_text(big);
    c.read_frame();
  });
  TransportProbe probe;
  probe.open(peer.url());
  const auto message = probe.wait_message(1);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->size(), big.size());
  EXPECT_TRUE(*message == big);
  probe.transport.close(1000, "done");
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(peer.finish(), "");
}

TEST(lws_transport_test, reports_server_restart_as_1012_despite_lws_reading_1002) {
  ScriptedPeer peer;
  PeerFrame echoed;
  peer.run([&](PeerConnection& c) {
    c.handshake();
    c.send_close(1012, "restart");
    echoed = c.read_frame();
  });
  TransportProbe probe;
  probe.open(peer.url());
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(probe.log.closed->code, 1012);
  EXPECT_EQ(probe.log.closed->reason, "restart");
  EXPECT_EQ(peer.finish(), "");
  EXPECT_EQ(echoed.opcode, 8);  // the close was answered
}

TEST(lws_transport_test, keeps_a_genuine_1002) {
  ScriptedPeer peer;
  peer.run([](PeerConnection& c) {
    c.handshake();
    c.send_close(1002, "bad frame");
    c.read_frame();
  });
  TransportProbe probe;
  probe.open(peer.url());
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(probe.log.closed->code, 1002);
  EXPECT_EQ(probe.log.closed->reason, "bad frame");
  EXPECT_EQ(peer.finish(), "");
}

TEST(lws_transport_test, passes_application_close_codes_and_reasons) {
  ScriptedPeer peer;
  peer.run([](PeerConnection& c) {
    c.handshake();
    c.send_close(4401, "token expired");
    c.read_frame();
  });
  TransportProbe probe;
  probe.open(peer.url());
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(probe.log.opens, 1);
  EXPECT_EQ(probe.log.closed->code, 4401);
  EXPECT_EQ(probe.log.closed->reason, "token expired");
  drain(probe);
  EXPECT_EQ(probe.log.closes, 1);
  EXPECT_EQ(peer.finish(), "");
}

TEST(lws_transport_test, reports_1006_when_tcp_drops_without_a_close_frame) {
  ScriptedPeer peer;
  peer.run([](PeerConnection& c) {
    c.handshake();
    c.send_text("hi");
    c.drop();
  });
  TransportProbe probe;
  probe.open(peer.url());
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(probe.log.closed->code, 1006);
  EXPECT_EQ(probe.log.messages, std::vector<std::string>{"hi"});
  drain(probe);
  EXPECT_EQ(probe.log.closes, 1);
  EXPECT_EQ(peer.finish(), "");
}

TEST(lws_transport_test, failed_dial_reports_1006_exactly_once) {
  TransportProbe probe;
  probe.open("ws://127.0.0.1:" + std::to_string(closed_port()) + "/ws");
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(probe.log.opens, 0);
  EXPECT_EQ(probe.log.closed->code, 1006);
  EXPECT_NE(probe.log.closed->reason.find("connect failed"), std::string::npos) << probe.log.closed->reason;
  drain(probe);
  EXPECT_EQ(probe.log.closes, 1);
  EXPECT_EQ(probe.transport.phase(), native::TransportPhase::Idle);
}

TEST(lws_transport_test, wss_url_dials_with_tls) {
  ScriptedPeer peer;
  std::string first_bytes;
  peer.run([&](PeerConnection& c) {
    first_bytes = c.read_bytes(3);  // a TLS record header, not "GET"
    c.drop();
  });
  TransportProbe probe;
  probe.open("wss://127.0.0.1:" + std::to_string(peer.port()) + "/ws");
  ASSERT_TRUE(probe.wait_closed());
  ASSERT_EQ(peer.finish(), "");
  EXPECT_EQ(first_bytes.substr(0, 2), std::string("\x16\x03", 2));  // handshake record, TLS 1.x
  EXPECT_EQ(probe.log.closed->code, 1006);
  EXPECT_EQ(probe.log.opens, 0);
}

TEST(lws_transport_test, unparsable_url_reports_1006_from_poll_not_from_open) {
  TransportProbe probe;
  probe.open("http://127.0.0.1:1/ws");
  EXPECT_EQ(probe.log.closes, 0);  // events come only from poll()
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(probe.log.closed->code, 1006);
  EXPECT_EQ(probe.log.closed->reason, "URL must start with ws:// or wss://");
  drain(probe);
  EXPECT_EQ(probe.log.closes, 1);
}

TEST(lws_transport_test, send_is_refused_until_open_and_after_close) {
  ScriptedPeer peer;
  peer.run([](PeerConnection& c) {
    c.handshake();
    const PeerFrame close = c.read_frame();
    c.send_frame(8, close.payload);  // echo the close
  });
  TransportProbe probe;
  EXPECT_EQ(probe.send("early"), SendStatus::NotOpen);
  probe.open(peer.url());
  EXPECT_EQ(probe.send("dialling"), SendStatus::NotOpen);
  ASSERT_TRUE(probe.wait_open());
  probe.transport.close(1000, "bye");
  EXPECT_EQ(probe.send("late"), SendStatus::NotOpen);
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_EQ(peer.finish(), "");
}

TEST(lws_transport_test, sends_frames_in_order_then_the_close_frame) {
  constexpr int kFrames = 200;
  ScriptedPeer peer;
  std::vector<std::string> received;
  PeerFrame close;
  peer.run([&](PeerConnection& c) {
    c.handshake();
    for (int i = 0; i < kFrames; ++i) received.push_back(c.read_frame().payload);
    close = c.read_frame();
    c.send_frame(8, close.payload);
  });
  TransportProbe probe;
  probe.open(peer.url());
  ASSERT_TRUE(probe.wait_open());
  for (int i = 0; i < kFrames; ++i) ASSERT_EQ(probe.send("{\"n\":" + std::to_string(i) + "}"), SendStatus::Sent);
  EXPECT_GT(probe.transport.queued_bytes(), 0u);  // nothing is written outside WRITEABLE
  probe.transport.close(4000, "heartbeat timeout");
  ASSERT_TRUE(probe.wait_closed());
  ASSERT_EQ(peer.finish(), "");
  ASSERT_EQ(received.size(), static_cast<std::size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) EXPECT_EQ(received[i], "{\"n\":" + std::to_string(i) + "}");
  EXPECT_EQ(close.opcode, 8);
  ASSERT_GE(close.payload.size(), 2u);
  EXPECT_EQ((static_cast<unsigned char>(close.payload[0]) << 8) | static_cast<unsigned char>(close.payload[1]), 4000);
  EXPECT_EQ(close.payload.substr(2), "heartbeat timeout");
  EXPECT_EQ(probe.log.closed->code, 4000);
}

TEST(lws_transport_test, close_does_not_wait_for_the_server_to_answer) {
  // lws sends the close frame and ends the connection without waiting for the echo, so a
  // silent server (the usual reason to close on a heartbeat timeout) delays nothing.
  ScriptedPeer peer;
  PeerFrame close;
  peer.run([&](PeerConnection& c) {
    c.handshake();
    close = c.read_frame();  // deliberately unanswered
    c.wait_for_disconnect();
  });
  TransportProbe probe;
  probe.open(peer.url());
  ASSERT_TRUE(probe.wait_open());
  const auto started = Clock::now();
  probe.transport.close(4000, "heartbeat timeout");
  ASSERT_TRUE(probe.wait_closed());
  // Well under close_timeout (1 s): the close frame went out and nobody waited for the echo.
  EXPECT_LT(Clock::now() - started, milliseconds{900});
  EXPECT_EQ(probe.log.closed->code, 4000);
  EXPECT_EQ(peer.finish(), "");
  EXPECT_EQ(close.opcode, 8);
}

TEST(lws_transport_test, close_reports_within_close_timeout_when_the_socket_is_stuck) {
  // A server that stopped reading: our queue cannot drain, so the close frame can never be
  // written. on_closed must still come, after close_timeout.
  ScriptedPeer peer;
  std::promise<void> release;
  peer.run([released = release.get_future().share()](PeerConnection& c) {
    c.handshake();
    released.wait_for(2 * kStepDeadline);  // reads nothing until the test is done
  });
  native::LwsTransportSettings settings = TransportProbe::quiet_settings();
  settings.close_timeout = milliseconds{300};
  TransportProbe probe(settings);
  probe.open(peer.url());
  ASSERT_TRUE(probe.wait_open());
  const std::string chunk(256 * 1024, 'z');
  for (int i = 0; i < 128; ++i) ASSERT_EQ(probe.send(chunk), SendStatus::Sent);  // 32 MiB
  for (int i = 0; i < 10; ++i) probe.transport.poll(milliseconds{20});
  ASSERT_GT(probe.transport.queued_bytes(), 0u) << "the socket took everything; the test needs more data";
  const auto started = Clock::now();
  probe.transport.close(4000, "heartbeat timeout");
  ASSERT_TRUE(probe.wait_closed());
  const auto took = Clock::now() - started;
  EXPECT_EQ(probe.log.closed->code, 4000);
  EXPECT_GE(took, milliseconds{250});
  EXPECT_LT(took, milliseconds{2000});
  release.set_value();
  peer.finish();
}

TEST(lws_transport_test, close_while_dialling_abandons_the_dial) {
  ScriptedPeer peer;
  peer.run([](PeerConnection& c) {
    c.wait_for_disconnect();  // never answers the upgrade
  });
  TransportProbe probe;
  probe.open(peer.url());
  probe.transport.poll(milliseconds{50});  // let the TCP connect happen
  ASSERT_EQ(probe.transport.phase(), native::TransportPhase::Connecting);
  const auto started = Clock::now();
  probe.transport.close(4000, "connect timeout");
  ASSERT_TRUE(probe.wait_closed());
  EXPECT_LT(Clock::now() - started, milliseconds{2000});
  EXPECT_EQ(probe.log.opens, 0);
  EXPECT_EQ(probe.log.closed->code, 4000);
  drain(probe);
  EXPECT_EQ(probe.log.closes, 1);
  EXPECT_EQ(peer.finish(), "");  // the dial's socket was closed
}

TEST(lws_transport_test, message_over_the_bound_closes_with_1009) {
  ScriptedPeer peer;
  PeerFrame close;
  peer.run([&](PeerConnection& c) {
    c.handshake();
    c.send_text(std::string(5000, 'y'));
    close = c.read_frame();
    c.send_frame(8, close.payload);
  });
  native::LwsTransportSettings settings = TransportProbe::quiet_settings();
  settings.max_message_bytes = 1000;
  TransportProbe probe(settings);
  probe.open(peer.url());
  ASSERT_TRUE(probe.wait_closed());
  ASSERT_EQ(peer.finish(), "");
  EXPECT_TRUE(probe.log.messages.empty());
  EXPECT_EQ(probe.log.closed->code, 1009);
  ASSERT_GE(close.payload.size(), 2u);
  EXPECT_EQ((static_cast<unsigned char>(close.payload[0]) << 8) | static_cast<unsigned char>(close.payload[1]), 1009);
}

TEST(lws_transport_test, open_while_open_closes_the_old_connection_first) {
  ScriptedPeer first;
  first.run([](PeerConnection& c) {
    c.handshake();
    c.wait_for_disconnect();  // the transport drops it without a close frame
  });
  ScriptedPeer second;
  second.run([](PeerConnection& c) {
    c.handshake();
    c.send_text("from second");
    c.read_frame();
  });
  TransportProbe probe;
  probe.open(first.url());
  ASSERT_TRUE(probe.wait_open());

  // A second log for the second connection shows which connection each event belongs to.
  EventLog second_log;
  probe.transport.open(second.url(), second_log);
  ASSERT_TRUE(probe.wait_for([&] { return !second_log.messages.empty(); }));
  EXPECT_EQ(probe.log.closes, 1);
  EXPECT_EQ(probe.log.closed->code, 1006);
  EXPECT_EQ(probe.log.closed->reason, "replaced by a new connection");
  EXPECT_EQ(second_log.opens, 1);
  EXPECT_EQ(second_log.messages.front(), "from second");
  probe.transport.close(1000, "done");
  ASSERT_TRUE(probe.wait_for([&] { return second_log.closes == 1; }));
  EXPECT_EQ(first.finish(), "");
  EXPECT_EQ(second.finish(), "");
}

TEST(lws_transport_test, poll_with_wait_blocks_no_longer_than_asked) {
  // lws_service(ctx, 0) alone can sleep for 30 s on an idle client (LWS-NOTES §8).
  ScriptedPeer peer;
  peer.run([](PeerConnection& c) {
    c.handshake();
    c.read_frame();
  });
  TransportProbe probe;
  probe.open(peer.url());
  ASSERT_TRUE(probe.wait_open());
  const auto started = Clock::now();
  EXPECT_EQ(probe.transport.poll(milliseconds{150}), 0u);
  const auto took = Clock::now() - started;
  EXPECT_GE(took, milliseconds{100});
  EXPECT_LT(took, milliseconds{2000});  // generous for a loaded CI machine
  const auto idle_started = Clock::now();
  EXPECT_EQ(probe.transport.poll(), 0u);  // no wait: returns at once
  // The bug this catches is lws_service(ctx, 0) blocking for ~30 s; 500 ms leaves CI room.
  EXPECT_LT(Clock::now() - idle_started, milliseconds{500});
  probe.transport.close(1000, "done");
  ASSERT_TRUE(probe.wait_closed());
  peer.finish();
}
