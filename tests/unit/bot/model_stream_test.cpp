// model_stream_test.cpp — tandem-bot's model client (ModelStream) against plain sockets in the
// test: an answer streamed in two pieces becomes the text; a refusal is named; a model host
// whose accept queue is full (its SYNs dropped, the way a blackholed host behaves) neither
// outlives the deadline nor a cancel.
#include "model_stream.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace tandem::bot {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A listening socket on 127.0.0.1 with a free port.
struct Listener {
  int fd = -1;
  int port = 0;
  explicit Listener(int backlog) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(fd, backlog), 0);
    socklen_t size = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    port = ntohs(address.sin_port);
  }
  ~Listener() { ::close(fd); }
  ModelEndpoint endpoint() const { return {"127.0.0.1", std::to_string(port), "/reply"}; }
};

// Waits (generously: a loaded machine) until the stream has finished.
bool finishes_within(const ModelStream& stream, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!stream.finished() && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  return stream.finished();
}

// Reads the request up to its body's end (Content-Length), then sends `answer` in pieces.
void answer_one(int listener, const std::string& first, const std::string& second) {
  const int client = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(client, 0);
  std::string request;
  char buffer[4096];
  for (;;) {
    const auto end = request.find("\r\n\r\n");
    if (end != std::string::npos) {
      const auto length_at = request.find("Content-Length: ");
      ASSERT_NE(length_at, std::string::npos);
      const std::size_t length = std::stoul(request.substr(length_at + 16));
      if (request.size() >= end + 4 + length) break;
    }
    const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
    ASSERT_GT(n, 0);
    request.append(buffer, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(request.rfind("POST /reply HTTP/1.0\r\n", 0), 0u) << request;
  EXPECT_NE(request.find(R"({"prompt":"hi"})"), std::string::npos) << request;
  ::send(client, first.data(), first.size(), MSG_NOSIGNAL);
  std::this_thread::sleep_for(20ms);
  ::send(client, second.data(), second.size(), MSG_NOSIGNAL);
  ::close(client);
}

// A model that answers one request in two pieces; the stream's text once it has finished.
std::string text_of_answer(std::string first, std::string second) {
  Listener model(8);
  std::thread server(answer_one, model.fd, std::move(first), std::move(second));
  ModelStream stream(model.endpoint(), R"({"prompt":"hi"})", 30000);
  const bool finished = finishes_within(stream, 30s);
  server.join();
  EXPECT_TRUE(finished) << "the stream did not finish within 30 s";
  return stream.text();
}

TEST(model_stream_test, the_answer_body_streamed_in_pieces_is_the_text) {
  EXPECT_EQ(text_of_answer("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nAhoy", ", matey"), "Ahoy, matey");
}

TEST(model_stream_test, a_refusal_is_named_in_the_text) {
  EXPECT_EQ(text_of_answer("HTTP/1.0 503 Service Unavailable\r\n\r\n", "busy"),
            "(the model answered HTTP/1.0 503 Service Unavailable)");
}

TEST(model_stream_test, nobody_listening_is_named_in_the_text) {
  ModelEndpoint closed;
  {
    Listener gone(1);
    closed = gone.endpoint();
  }  // closed: the port refuses
  ModelStream stream(closed, R"({"prompt":"hi"})", 30000);
  ASSERT_TRUE(finishes_within(stream, 30s));
  EXPECT_NE(stream.text().find("could not be reached"), std::string::npos) << stream.text();
}

// A listener whose accept queue is full drops further SYNs: the dial hangs in the kernel's
// retries. One connection fills a queue of length 0 (Linux lets one wait beyond the backlog).
struct FullListener {
  Listener listener{0};
  int queued = -1;
  FullListener() {
    queued = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(listener.port));
    EXPECT_EQ(::connect(queued, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  }
  ~FullListener() { ::close(queued); }
};

TEST(model_stream_test, a_dial_that_hangs_ends_at_the_deadline) {
  FullListener model;
  const auto started = Clock::now();
  ModelStream stream(model.listener.endpoint(), R"({"prompt":"hi"})", 300);
  ASSERT_TRUE(finishes_within(stream, 30s)) << "the dial outlived its deadline";
  EXPECT_GE(Clock::now() - started, 300ms);
  EXPECT_NE(stream.text().find("did not answer in time"), std::string::npos) << stream.text();
}

TEST(model_stream_test, a_dial_that_hangs_ends_at_a_cancel) {
  FullListener model;
  ModelStream stream(model.listener.endpoint(), R"({"prompt":"hi"})", 3600000);
  std::this_thread::sleep_for(100ms);  // dialling meanwhile (nothing waits on this)
  stream.cancel();
  ASSERT_TRUE(finishes_within(stream, 30s)) << "the dial ignored the cancel";
  EXPECT_EQ(stream.text(), "");
}

}  // namespace
}  // namespace tandem::bot
