// bot_worker.h — tandem-bot's worker: turns each ai_request the server routes to it into a
// reply that grows one word per `pace` (chat_partial with the whole text so far), then ends it
// (chat_partial done: the server stores it as the bot's chat message). ai_cancel ends a reply
// at once, its text marked cancelled. The answer comes from the personality (answer_for):
// fixed text around the prompt, so the same prompt always gets the same reply — no model.
// With a model endpoint (use_model), each request is POSTed there instead (model_stream.h) and
// the reply grows as the answer streams in, at most one chat_partial per `pace`.
// No I/O and no clock of its own: the owner forwards the server's messages and calls tick(now);
// what to send goes out through `send`.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tandem/clock.h"
#include "model_stream.h"
#include "tandem/protocol/messages.h"

namespace tandem::bot {

// The reply bot `bot` gives to `prompt` (helper, pirate; any other bot echoes the prompt).
std::string answer_for(const std::string& bot, const std::string& prompt);

class BotWorker {
 public:
  explicit BotWorker(Millis pace) : pace_(pace) {}
  // Answers come from the model at `endpoint` from now on (each call bounded by timeout_ms).
  void use_model(ModelEndpoint endpoint, int timeout_ms) {
    model_ = std::move(endpoint);
    model_timeout_ms_ = timeout_ms;
  }

  // Sends one chat_partial; `failed` runs if the server refuses it: the reply then ends at once
  // with a final done holding text the server takes (never left open on the server).
  std::function<void(protocol::ChatPartial, std::function<void()> failed)> send;
  std::function<void(const std::string&)> log;  // one human-readable line per event

  void on_request(const protocol::AiRequest& request, Millis now);
  void on_cancel(const protocol::AiCancel& cancel);
  void tick(Millis now);  // the next word of every reply that is due
  std::size_t replies() const { return replies_.size(); }

 private:
  struct Job {
    std::string room;
    std::vector<std::string> words;  // the answer, each with its leading space
    std::size_t next = 0;            // words sent so far
    std::string text;                // what was sent so far
    Millis due{0};
    bool cancelled = false;
    bool refused = false;  // the server refused a partial: the next step ends the reply
    std::unique_ptr<ModelStream> model = {};  // with a model: the answer streaming in
  };
  // The next chat_partial of a job, if one is due; erases the job after its last one.
  std::optional<protocol::ChatPartial> step(const std::string& reply, Job& job, Millis now);
  void say(const std::string& line) {
    if (log) log(line);
  }
  void refused(const std::string& reply, const protocol::ChatPartial& partial);

  Millis pace_;
  std::optional<ModelEndpoint> model_;
  int model_timeout_ms_ = 60000;
  std::map<std::string, Job> replies_;  // reply id -> job
};

}  // namespace tandem::bot
