// bot_worker.cpp — tandem-bot's personalities and the word-by-word replies (see bot_worker.h).
#include "bot_worker.h"

#include <utility>

namespace tandem::bot {

namespace {

constexpr std::size_t kQuoteBytes = 200;  // the part of the prompt an answer quotes
constexpr const char* kCancelled = " [cancelled]";

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
  replies_[*request.reply] = Job{.room = request.room, .words = words_of(answer_for(request.bot, request.prompt)),
                                 .next = 0, .text = {}, .due = now + pace_, .cancelled = false};
}

void BotWorker::on_cancel(const protocol::AiCancel& cancel) {
  auto it = replies_.find(cancel.reply);
  if (it == replies_.end()) return;
  say("cancel " + cancel.reply + " by " + cancel.user.value_or("?"));
  it->second.cancelled = true;
}

void BotWorker::drop(const std::string& reply) { replies_.erase(reply); }

void BotWorker::tick(Millis now) {
  std::vector<std::pair<std::string, protocol::ChatPartial>> out;
  for (auto it = replies_.begin(); it != replies_.end();) {
    Job& job = it->second;
    if (!job.cancelled && now < job.due) {
      ++it;
      continue;
    }
    if (!job.cancelled) job.text += job.words[job.next++];
    const bool done = job.cancelled || job.next >= job.words.size();
    std::string text = job.cancelled ? job.text + kCancelled : job.text;
    out.emplace_back(it->first, protocol::ChatPartial{job.room, it->first, std::move(text), std::nullopt, done});
    job.due = now + pace_;
    it = done ? replies_.erase(it) : std::next(it);
  }
  for (auto& [reply, partial] : out) {
    if (partial.done) say("reply " + reply + " ended");
    if (send) send(std::move(partial), [this, reply = reply] { drop(reply); });
  }
}

}  // namespace tandem::bot
