// webhooks_test.cpp — webhooks from the durable log against a real tandem-server with its store
// (issue 19 item 2; PROTOCOL.md "Webhooks"): a backend in this process (a small HTTP/1.1
// server on plain sockets) verifies every request's signature with the shared secret and
// records the (room, seq) of every event it is sent. 1,000 edits from real clients — document
// changes in a workflow room, chat messages in a chat room — reach it in seq order per room;
// while it is down (connection refused) the server retries, and once it is up again nothing
// is missing and the order is kept; the server killed with SIGKILL in the middle of a run of
// edits and restarted on the same store still delivers every event a client saw (duplicates
// allowed, each event carrying its seq) — before any client is back (the start-up sweep loads
// the rooms it is behind in; on SQLite and on PostgreSQL alike).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cJSON.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server_test_support.h"

using namespace tandem;
using namespace tandem::integration;

namespace {

constexpr const char* kDocRoom = "workflow:hooks";
constexpr const char* kChatRoom = "chat:hooks";
constexpr std::string_view kSecret = "webhook-test-secret-0123456789";
constexpr std::string_view kAdminToken = "webhooks-admin-token-0123456789";
constexpr std::int64_t kReplayWindowS = 300;  // what a backend should accept (PROTOCOL.md "Webhooks")

std::string hex_hmac(std::string_view secret, std::string_view text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), mac, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 15];
  }
  return hex;
}

// What a backend does with a request (the documented recipe): the signature over
// timestamp + "." + body with the shared secret, and a timestamp within the replay window.
bool verify(std::string_view secret, const std::string& timestamp, const std::string& signature,
            const std::string& body) {
  if (timestamp.empty() || !std::all_of(timestamp.begin(), timestamp.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  if (std::llabs(now - std::stoll(timestamp)) > kReplayWindowS) return false;
  const std::string expected = "v1=" + hex_hmac(secret, timestamp + "." + body);
  return CRYPTO_memcmp(expected.data(), signature.data(), std::min(expected.size(), signature.size())) == 0 &&
         expected.size() == signature.size();
}

// The test's backend: one connection at a time (the server posts one request after another,
// on a kept-alive connection), every request verified and recorded, answered 200 (401 when the
// signature is wrong).
class WebhookBackend {
 public:
  struct Request {
    std::string timestamp, signature, id, body;
  };
  struct Delivery {
    std::string room;
    std::int64_t seq = 0;
  };

  ~WebhookBackend() { down(); }

  void up() {
    // CLOEXEC: the server processes this test starts must not inherit the backend's sockets
    // (a listener kept open in a child would take connections nobody answers).
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int yes = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port_));
    // Again on the same port: sockets of the last run may linger a moment.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      if (errno != EADDRINUSE || std::chrono::steady_clock::now() >= deadline)
        throw std::runtime_error(std::string("the webhook backend cannot bind: ") + std::strerror(errno));
      std::this_thread::sleep_for(milliseconds{10});
    }
    if (listen(listener_, 16) != 0)
      throw std::runtime_error(std::string("the webhook backend cannot listen: ") + std::strerror(errno));
    socklen_t size = sizeof address;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    stop_ = false;
    thread_ = std::thread([this] { serve(); });
  }
  // Closes the listening socket and the connection: the server gets connection refused.
  void down() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    // Connections the kernel queued meanwhile are closed, not dropped: a request already sent
    // on one would otherwise wait for the server's webhook_timeout_ms.
    fcntl(listener_, F_SETFL, O_NONBLOCK);
    for (int queued; (queued = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) abort_connection(queued);
    close(listener_);
    listener_ = -1;
  }

  int port() const { return port_; }
  std::vector<Delivery> deliveries() const {
    std::lock_guard lock(mutex_);
    return deliveries_;
  }
  std::optional<Request> first_request() const {
    std::lock_guard lock(mutex_);
    return first_;
  }
  int bad_requests() const { return bad_.load(); }
  int requests() const { return requests_.load(); }

 private:
  void serve() {
    while (!stop_) {
      pollfd wait{listener_, POLLIN, 0};
      if (poll(&wait, 1, 50) <= 0) continue;
      const int connection = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) continue;
      talk(connection);
      abort_connection(connection);
    }
  }
  // Closed with a reset: nothing of it lingers to keep the port busy for the next up().
  static void abort_connection(int connection) {
    const linger abort{1, 0};
    setsockopt(connection, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    close(connection);
  }
  // Requests on one connection until the peer closes it (or the backend goes down).
  void talk(int connection) {
    std::string input;
    for (;;) {
      std::size_t head_end;
      while ((head_end = input.find("\r\n\r\n")) == std::string::npos)
        if (!read_more(connection, input)) return;
      std::map<std::string, std::string> headers;
      std::size_t line_start = input.find("\r\n") + 2;
      while (line_start < head_end) {
        const std::size_t line_end = input.find("\r\n", line_start);
        const std::string line = input.substr(line_start, line_end - line_start);
        const std::size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string name = line.substr(0, colon);
          std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
          std::size_t value = colon + 1;
          while (value < line.size() && line[value] == ' ') ++value;
          headers[name] = line.substr(value);
        }
        line_start = line_end + 2;
      }
      const std::size_t length = std::stoul(headers.count("content-length") ? headers["content-length"] : "0");
      while (input.size() < head_end + 4 + length)
        if (!read_more(connection, input)) return;
      Request request{headers["tandem-timestamp"], headers["tandem-signature"], headers["tandem-webhook-id"],
                      input.substr(head_end + 4, length)};
      input.erase(0, head_end + 4 + length);
      const bool good = record(request);
      const std::string answer = good ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                                      : "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n";
      if (send(connection, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) return;
    }
  }
  bool read_more(int connection, std::string& input) {
    while (!stop_) {
      pollfd wait{connection, POLLIN, 0};
      const int ready = poll(&wait, 1, 50);
      if (ready < 0) return false;
      if (ready == 0) continue;
      char buffer[16384];
      const ssize_t got = recv(connection, buffer, sizeof buffer, 0);
      if (got <= 0) return false;
      input.append(buffer, static_cast<std::size_t>(got));
      return true;
    }
    return false;
  }
  bool record(const Request& request) {
    ++requests_;
    if (!verify(kSecret, request.timestamp, request.signature, request.body)) {
      ++bad_;
      return false;
    }
    cJSON* root = cJSON_Parse(request.body.c_str());
    const cJSON* room = cJSON_GetObjectItemCaseSensitive(root, "room");
    const cJSON* events = cJSON_GetObjectItemCaseSensitive(root, "events");
    const cJSON* first_seq = cJSON_GetObjectItemCaseSensitive(root, "first_seq");
    const cJSON* last_seq = cJSON_GetObjectItemCaseSensitive(root, "last_seq");
    bool good = cJSON_IsString(room) && cJSON_IsArray(events) && cJSON_GetArraySize(events) > 0 &&
                cJSON_IsNumber(first_seq) && cJSON_IsNumber(last_seq);
    std::vector<Delivery> batch;
    if (good) {
      const cJSON* event = nullptr;
      cJSON_ArrayForEach(event, events) {
        const cJSON* seq = cJSON_GetObjectItemCaseSensitive(event, "seq");
        const cJSON* type = cJSON_GetObjectItemCaseSensitive(event, "type");
        if (!cJSON_IsNumber(seq) || !cJSON_IsString(type)) good = false;
        if (good) batch.push_back({room->valuestring, static_cast<std::int64_t>(seq->valuedouble)});
      }
      good = good && batch.front().seq == static_cast<std::int64_t>(first_seq->valuedouble) &&
             batch.back().seq == static_cast<std::int64_t>(last_seq->valuedouble) &&
             request.id == "test:" + std::string(room->valuestring) + ":" + std::to_string(batch.front().seq) + "-" +
                               std::to_string(batch.back().seq);
    }
    cJSON_Delete(root);
    if (!good) {
      ++bad_;
      return false;
    }
    std::lock_guard lock(mutex_);
    if (!first_) first_ = request;
    deliveries_.insert(deliveries_.end(), batch.begin(), batch.end());
    return true;
  }

  int port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<Delivery> deliveries_;
  std::optional<Request> first_;
  std::atomic<int> bad_{0}, requests_{0};
};

// The distinct seqs delivered for `room` in the order they first arrived.
std::vector<std::int64_t> first_arrivals(const std::vector<WebhookBackend::Delivery>& deliveries,
                                         const std::string& room) {
  std::vector<std::int64_t> order;
  std::set<std::int64_t> seen;
  for (const auto& delivery : deliveries)
    if (delivery.room == room && seen.insert(delivery.seq).second) order.push_back(delivery.seq);
  return order;
}

// A client connected and subscribed to both rooms, counting the acks it gets and the room
// events it sees (their seqs, per room).
class Editor {
 public:
  void connect(ServerProcess& server, const std::string& sub) {
    TokenSpec spec;
    spec.sub = sub;
    spec.name = sub;
    probe_ = std::make_unique<TransportProbe>();
    parsed_ = 0;
    probe_->open(server.ws_url() + "?token=" + mint_token(spec));
    ASSERT_TRUE(wait([&] { return connected_; })) << server.output();
    for (const char* room : {kDocRoom, kChatRoom}) {
      const std::string id = std::string("sub-") + room + "-" + std::to_string(++subscribes_);
      probe_->send(protocol::encode_client(protocol::Subscribe{room, std::nullopt}, id));
      ASSERT_TRUE(wait([&] { return answered_.contains(id); })) << server.output();
    }
  }
  void send(const std::string& frame) { probe_->send(frame); }
  // Reads what arrived meanwhile (without waiting for anything in particular).
  void pump() {
    probe_->transport.poll(milliseconds{5});
    take_new();
  }
  template <class Pred>
  bool wait(Pred done, milliseconds timeout = milliseconds{15000}) {
    return probe_->wait_for(
        [&] {
          take_new();
          return done();
        },
        timeout);
  }
  std::size_t acks() const { return acks_; }
  const std::set<std::int64_t>& seen(const std::string& room) { return seen_[room]; }
  std::set<std::string> errors;

 private:
  void take_new() {
    for (; parsed_ < probe_->log.messages.size(); ++parsed_)
      for (auto& result : protocol::decode_server(probe_->log.messages[parsed_])) {
        if (!result.ok()) continue;
        const protocol::ServerFrame& frame = result.value();
        if (std::holds_alternative<protocol::Connected>(frame.message)) connected_ = true;
        if (frame.id) answered_.insert(*frame.id);
        if (std::holds_alternative<protocol::Ack>(frame.message)) ++acks_;
        if (const auto* error = std::get_if<protocol::ErrorReply>(&frame.message)) errors.insert(error->code);
        for (const char* room : {kDocRoom, kChatRoom})
          if (auto seq = room_event_seq(frame.message, room)) seen_[room].insert(*seq);
      }
  }

  std::unique_ptr<TransportProbe> probe_;
  std::size_t parsed_ = 0;
  bool connected_ = false;
  int subscribes_ = 0;
  std::set<std::string> answered_;
  std::size_t acks_ = 0;
  std::map<std::string, std::set<std::int64_t>> seen_;
};

class webhooks_test : public ::testing::Test {
 protected:
  void SetUp() override {
    backend.up();
    const std::string spec = "test http://127.0.0.1:" + std::to_string(backend.port()) +
                             "/hooks rooms=workflow:hooks,chat:hooks events=documents,chat secret=" + std::string(kSecret);
    server = std::make_unique<ServerProcess>(std::vector<std::string>{
        "--webhooks", spec, "--webhook-retry-initial-ms", "20", "--webhook-retry-max-ms", "200",
        "--webhook-batch-max", "50", "--webhook-timeout-ms", "2000", "--rate-per-sec", "100000", "--rate-burst", "100000", "--admin-token",
        std::string(kAdminToken)});
    ASSERT_NO_THROW(server->start());
  }

  // `count` edits by `editor`, alternating: a node created, that node updated, a chat
  // message; sent in windows of 100, each window acked before the next.
  void edit(Editor& editor, int count) {
    for (int sent = 0; sent < count;) {
      const std::size_t acked_before = editor.acks();
      const int window = std::min(100, count - sent);
      for (int i = 0; i < window; ++i, ++sent) send_edit(editor);
      ASSERT_TRUE(editor.wait([&] { return editor.acks() >= acked_before + static_cast<std::size_t>(window); }))
          << "acks " << editor.acks() << "\n"
          << server->output();
    }
  }
  void send_edit(Editor& editor) {
    const int n = edits_++;
    const std::string id = "e" + std::to_string(n);
    if (n % 3 == 0) {
      protocol::Node node;
      node.id = "n" + std::to_string(n);
      node.type = "step";
      editor.send(protocol::encode_client(protocol::NodeCreate{kDocRoom, node}, id));
    } else if (n % 3 == 1) {
      protocol::NodeFields fields;
      fields.label = "edit " + std::to_string(n);
      editor.send(protocol::encode_client(protocol::NodeUpdate{kDocRoom, "n" + std::to_string(n - 1), fields, {}}, id));
    } else {
      editor.send(protocol::encode_client(protocol::ChatSend{kChatRoom, "message " + std::to_string(n)}, id));
    }
  }

  // Waits until the backend has every seq the `observers` saw in each room; then checks that
  // the distinct seqs arrived in increasing order, from 1 without gaps, all verified.
  void expect_delivered(std::vector<Editor*> observers, const char* phase) {
    auto expected = [&](const char* room) {
      std::set<std::int64_t> seen;
      for (Editor* observer : observers) {
        observer->pump();
        seen.insert(observer->seen(room).begin(), observer->seen(room).end());
      }
      return seen;
    };
    bool complete = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!complete && std::chrono::steady_clock::now() < deadline) {
      const auto deliveries = backend.deliveries();
      complete = true;
      for (const char* room : {kDocRoom, kChatRoom}) {
        const auto arrived = first_arrivals(deliveries, room);
        const std::set<std::int64_t> got(arrived.begin(), arrived.end());
        for (std::int64_t seq : expected(room)) complete = complete && got.contains(seq);
      }
      if (!complete) std::this_thread::sleep_for(milliseconds{10});
    }
    const auto deliveries = backend.deliveries();
    for (const char* room : {kDocRoom, kChatRoom}) {
      const auto arrived = first_arrivals(deliveries, room);
      const std::set<std::int64_t> seen = expected(room);
      ASSERT_FALSE(seen.empty()) << phase << ": " << room;
      EXPECT_TRUE(std::is_sorted(arrived.begin(), arrived.end())) << phase << ": " << room << " out of order";
      std::set<std::int64_t> got(arrived.begin(), arrived.end());
      std::vector<std::int64_t> missing;
      std::set_difference(seen.begin(), seen.end(), got.begin(), got.end(), std::back_inserter(missing));
      EXPECT_TRUE(missing.empty()) << phase << ": " << room << ": " << missing.size() << " seq(s) never delivered, first "
                                   << (missing.empty() ? 0 : missing.front()) << "\n"
                                   << server->output();
      // Every seq from 1 to the highest delivered (no gaps).
      ASSERT_FALSE(arrived.empty());
      EXPECT_EQ(arrived.front(), 1) << phase << ": " << room;
      EXPECT_EQ(static_cast<std::size_t>(arrived.back()), arrived.size()) << phase << ": " << room << " has gaps";
    }
    EXPECT_EQ(backend.bad_requests(), 0) << phase;
  }

  WebhookBackend backend;
  std::unique_ptr<ServerProcess> server;
  int edits_ = 0;
};

TEST_F(webhooks_test, every_edit_reaches_the_backend_in_order_through_an_outage_and_a_kill_9) {
  Editor ana, ben;
  ASSERT_NO_FATAL_FAILURE(ana.connect(*server, "ana"));
  ASSERT_NO_FATAL_FAILURE(ben.connect(*server, "ben"));

  // 1. 600 edits with the backend up.
  ASSERT_NO_FATAL_FAILURE(edit(ana, 600));
  ASSERT_NO_FATAL_FAILURE(expect_delivered({&ana, &ben}, "backend up"));
  EXPECT_TRUE(ana.errors.empty());

  // The backend's check is real: the first request verifies, and not with another secret,
  // another body or an old timestamp.
  const auto request = backend.first_request();
  ASSERT_TRUE(request.has_value());
  EXPECT_TRUE(verify(kSecret, request->timestamp, request->signature, request->body));
  EXPECT_FALSE(verify("another-secret-0123456789abcdef", request->timestamp, request->signature, request->body));
  EXPECT_FALSE(verify(kSecret, request->timestamp, request->signature, request->body + " "));
  const std::string old = std::to_string(std::stoll(request->timestamp) - kReplayWindowS - 60);
  EXPECT_FALSE(verify(kSecret, old, "v1=" + hex_hmac(kSecret, old + "." + request->body), request->body));

  // 2. The backend goes down; 200 edits; the server keeps retrying (the admin API shows the
  // failed attempts); the backend comes back: nothing missing, order kept.
  backend.down();
  ASSERT_NO_FATAL_FAILURE(edit(ana, 200));
  const std::string auth = "Authorization: Bearer " + std::string(kAdminToken) + "\r\n";
  ASSERT_TRUE(pump_until(
      [&] {
        const HttpReply reply = http_get(server->port(), "/api/v1/ws/webhooks", milliseconds{1000}, auth);
        return reply.status == 200 && reply.body.find("\"attempts\":0") == std::string::npos &&
               reply.body.find("\"attempts\":") != std::string::npos;
      },
      [] { std::this_thread::sleep_for(milliseconds{20}); }, milliseconds{10000}))
      << http_get(server->port(), "/api/v1/ws/webhooks", milliseconds{1000}, auth).body;
  backend.up();
  ASSERT_NO_FATAL_FAILURE(expect_delivered({&ana, &ben}, "after the outage"));

  // 3. kill -9, twice. First with the backend down, so the last 100 edits wait in the store;
  // the server is restarted, the backend comes back: the restarted server delivers them before
  // any client is back (it loads the rooms it is behind in at start).
  backend.down();
  ASSERT_NO_FATAL_FAILURE(edit(ana, 100));
  server->kill_now();
  ASSERT_NO_THROW(server->start());
  backend.up();
  ASSERT_NO_FATAL_FAILURE(expect_delivered({&ana, &ben}, "after kill -9 with a backlog"));
  Editor ana2, ben2;
  ASSERT_NO_FATAL_FAILURE(ana2.connect(*server, "ana"));
  ASSERT_NO_FATAL_FAILURE(ben2.connect(*server, "ben"));

  // Then in the middle of a run of 100 edits with the backend up (batches in flight, cursors
  // not yet stored: some may come twice). Every event a client saw is delivered.
  edits_ = 3 * ((edits_ + 2) / 3);  // a fresh node first: the last one created may not be stored
  for (int i = 0; i < 100; ++i) send_edit(ana2);
  const std::size_t acked = ana2.acks();
  ASSERT_TRUE(ana2.wait([&] { return ana2.acks() >= acked + 20; })) << server->output();
  server->kill_now();
  ASSERT_NO_THROW(server->start());
  Editor ana3, ben3;
  ASSERT_NO_FATAL_FAILURE(ana3.connect(*server, "ana"));
  ASSERT_NO_FATAL_FAILURE(ben3.connect(*server, "ben"));
  ASSERT_NO_FATAL_FAILURE(expect_delivered({&ana, &ben, &ana2, &ben2}, "after kill -9 mid-run"));

  // Edits after the restarts arrive after everything from before: a new node, its update, a
  // chat message.
  edits_ = 3 * ((edits_ + 2) / 3);
  ASSERT_NO_FATAL_FAILURE(edit(ana3, 3));
  ASSERT_NO_FATAL_FAILURE(expect_delivered({&ana, &ben, &ana2, &ben2, &ana3, &ben3}, "after the restarts"));
  EXPECT_GE(edits_, 1000);  // sent; those the kill cut off before they were stored were never seen
}

// A backend that never answers: its listening socket takes connections (the kernel completes
// them into the backlog) and nobody reads them, so a POST to it waits webhook_timeout_ms.
TEST(webhooks_shutdown_test, a_server_posting_to_an_endpoint_that_never_answers_stops_promptly_on_sigterm) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  socklen_t size = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size);
  const std::string spec = "silent http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) +
                           "/hooks rooms=chat:hooks events=chat secret=" + std::string(kSecret);
  ServerProcess server({"--webhooks", spec, "--webhook-timeout-ms", "60000"});
  ASSERT_NO_THROW(server.start());
  {
    Editor ana;
    ASSERT_NO_FATAL_FAILURE(ana.connect(server, "ana"));
    ana.send(protocol::encode_client(protocol::ChatSend{kChatRoom, "hello"}, "c1"));
    ASSERT_TRUE(ana.wait([&] { return ana.acks() >= 1; })) << server.output();
  }
  // The server's POST is under way: its connection waits in the backlog, never answered.
  pollfd waiting{listener, POLLIN, 0};
  ASSERT_EQ(poll(&waiting, 1, 10000), 1) << server.output();
  const StopResult stopped = server.stop(milliseconds{20000});
  close(listener);
  EXPECT_EQ(stopped.outcome, StopOutcome::Exited) << server.output();
  EXPECT_EQ(stopped.exit_code, 0) << server.output();
  EXPECT_LT(stopped.took, milliseconds{5000}) << server.output();  // not webhook_timeout_ms
}

}  // namespace
