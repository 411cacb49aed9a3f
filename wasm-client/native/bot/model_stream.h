// model_stream.h — tandem-bot's hook for a real model (--model-url): one HTTP POST per
// request, on a thread of its own, whose answer body is the reply as it streams in.
//
// The contract (docs/OPERATIONS.md "Chat bots"): POST <url> with
//   {"bot":"helper","prompt":"…","room":"chat:lobby","user":"ana","reply":"helper.1.1"}
// (Content-Type: application/json, HTTP/1.0, plain http:// only); a 2xx answer's body is the
// reply's text, sent as it is produced (any chunks: each one received makes the reply grow),
// ended by closing the connection. Another status ends the reply with a note saying so.
// cancel() closes the connection: the text so far is the reply.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include "tandem/result.h"

namespace tandem::bot {

// Where to POST: parsed from --model-url (http://host[:port][/path]).
struct ModelEndpoint {
  std::string host;
  std::string port = "80";
  std::string path = "/";
};
// The endpoint of `url`, or an Error naming what is wrong (code "usage").
Result<ModelEndpoint> parse_model_url(const std::string& url);

class ModelStream {
 public:
  // Starts the POST of `body` (the JSON above) at once; `timeout_ms` bounds the whole exchange,
  // the dial included (not the name lookup).
  ModelStream(ModelEndpoint endpoint, std::string body, int timeout_ms);
  ~ModelStream();  // cancels and joins the thread
  ModelStream(const ModelStream&) = delete;
  ModelStream& operator=(const ModelStream&) = delete;

  // The reply text received so far (the body; or the body plus a note once it failed).
  std::string text() const;
  bool finished() const { return finished_.load(); }
  void cancel() { cancelled_.store(true); }

 private:
  void run(ModelEndpoint endpoint, std::string body, int timeout_ms);
  void append(const std::string& more);

  mutable std::mutex mutex_;
  std::string text_;
  std::atomic<bool> finished_{false};
  std::atomic<bool> cancelled_{false};
  std::thread thread_;
};

}  // namespace tandem::bot
