// bot_worker.cpp — tandem-bot's personalities and the word-by-word replies (see bot_worker.h).
#include "bot_worker.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "tandem/protocol/rules.h"

#include "tandem/json.h"

namespace tandem::bot {

namespace {

constexpr std::size_t kQuoteBytes = 200;  // the part of the prompt an answer quotes
constexpr const char* kCancelled = " [cancelled]";
constexpr const char* kUndelivered = "(this reply could not be delivered)";
// The most a reply's text may hold before the " [cancelled]" suffix: the whole always fits the
// server's bound on a chat message, so no chat_partial is refused for its size.
constexpr std::size_t kMaxReplyBytes = protocol::bounds::max_chat_bytes - std::char_traits<char>::length(kCancelled);

// The longest prefix of `text` of at most `max` bytes that ends on a whole UTF-8 character:
// never cut inside a sequence, and an incomplete trailing sequence (the rest of it not read
// yet) is held back.
std::size_t whole_utf8(const std::string& text, std::size_t max) {
  const std::size_t end = std::min(text.size(), max);
  std::size_t start = end;  // after the lead byte of the last sequence
  while (start > 0 && end - start < 4 && (static_cast<unsigned char>(text[start - 1]) & 0xC0) == 0x80) --start;
  if (start == 0) return end;
  const auto lead = static_cast<unsigned char>(text[start - 1]);
  const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return end - (start - 1) >= length ? end : start - 1;
}

// At most `max` bytes of `text`, never cut inside a UTF-8 sequence.
std::string clip(const std::string& text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + "…";
}

// The words of `text`, each but the first with the space before it.
std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start + 1);
    if (end == std::string::npos) end = text.size();
    words.push_back(text.substr(start, end - start));
    start = end;
  }
  return words;
}

}  // namespace

std::string answer_for(const std::string& bot, const std::string& prompt) {
  const std::string quoted = "\"" + clip(prompt, kQuoteBytes) + "\"";
  if (bot == "helper")
    return "You asked " + quoted + ". Here is how I would go about it: start small, check each step as you go, "
           "and ask again if anything is unclear.";
  if (bot == "pirate")
    return "Arr, ye be askin' " + quoted + "! Hoist the sails, matey, chart yer course one wave at a time, "
           "and never trust a parrot with the map.";
  return bot + " heard " + quoted + ".";
}

void BotWorker::on_request(const protocol::AiRequest& request, Millis now) {
  if (!request.reply) return;  // not from a server (the server always names the reply)
  say("request " + *request.reply + " in " + request.room + " for " + request.bot + " from " +
      request.user.value_or("?"));
  Job job{.room = request.room, .words = {}, .next = 0, .text = {}, .due = now + pace_, .cancelled = false};
  if (model_) {
    std::string body = json::JsonWriter()
                           .str("bot", request.bot)
                           .str("prompt", request.prompt)
                           .str("room", request.room)
                           .str("user", request.user.value_or(""))
                           .str("reply", *request.reply)
                           .finish();
    job.model = std::make_unique<ModelStream>(*model_, std::move(body), model_timeout_ms_);
  } else {
    job.words = words_of(answer_for(request.bot, request.prompt));
  }
  replies_[*request.reply] = std::move(job);
}

void BotWorker::on_cancel(const protocol::AiCancel& cancel) {
  auto it = replies_.find(cancel.reply);
  if (it == replies_.end()) return;
  say("cancel " + cancel.reply + " by " + cancel.user.value_or("?"));
  it->second.cancelled = true;
}

void BotWorker::refused(const std::string& reply, const protocol::ChatPartial& partial) {
  if (auto it = replies_.find(reply); it != replies_.end()) {  // ended with a final done on the next tick
    it->second.refused = true;
    return;
  }
  if (!partial.done || partial.text == kUndelivered) return;  // gone, or the fallback itself was refused
  // The final done was refused (e.g. rate_limited): one short one, so the reply does not stay open.
  if (send) send(protocol::ChatPartial{partial.room, reply, kUndelivered, std::nullopt, true},
                 [this, reply] { say("reply " + reply + " dropped"); });
}

std::optional<protocol::ChatPartial> BotWorker::step(const std::string& reply, Job& job, Millis now) {
  bool done = job.cancelled;
  if (job.model) {
    if (job.cancelled) job.model->cancel();
    bool finished = job.model->finished();  // read before the text: then the text is whole
    std::string text = job.model->text();
    if (text.size() > kMaxReplyBytes) {  // too long for one chat message: clipped, and the reply ends
      job.model->cancel();
      finished = true;
    }
    text.resize(whole_utf8(text, kMaxReplyBytes));
    if (job.cancelled || finished || job.refused) {
      job.text = std::move(text);
      done = true;
    } else if (now < job.due || text == job.text) {
      return std::nullopt;
    } else {
      job.text = std::move(text);
    }
  } else if (job.refused) {
    done = true;
  } else if (!job.cancelled) {
    if (now < job.due) return std::nullopt;
    job.text += job.words[job.next++];
    job.text.resize(whole_utf8(job.text, kMaxReplyBytes));
    done = job.next >= job.words.size() || job.text.size() >= kMaxReplyBytes;
  }
  if (job.refused) {  // the server refused a partial: end at once with text it takes
    job.cancelled = false;
    done = true;
    if (job.text.empty()) job.text = kUndelivered;
  }
  job.due = now + pace_;
  std::string text = job.cancelled ? job.text + kCancelled : job.text;
  return protocol::ChatPartial{job.room, reply, std::move(text), std::nullopt, done};
}

void BotWorker::tick(Millis now) {
  std::vector<std::pair<std::string, protocol::ChatPartial>> out;
  for (auto it = replies_.begin(); it != replies_.end();) {
    std::optional<protocol::ChatPartial> partial = step(it->first, it->second, now);
    const bool done = partial && partial->done;
    if (partial) out.emplace_back(it->first, std::move(*partial));
    it = done ? replies_.erase(it) : std::next(it);
  }
  for (auto& [reply, partial] : out) {
    if (partial.done) say("reply " + reply + " ended");
    // Copied by name: a structured binding cannot be captured (clang 14).
    if (send) send(partial, [this, reply = reply, partial = partial] { refused(reply, partial); });
  }
}

}  // namespace tandem::bot
