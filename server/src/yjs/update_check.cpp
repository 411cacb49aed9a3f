// server/src/yjs/update_check.cpp — walks a Yjs v1 update without applying it: see update_check.h.
#include "yjs/update_check.h"

#include <algorithm>
#include <string>
#include <utility>

#include "yjs/lib0.h"

namespace tandem::server::yjs {
namespace {

// Content refs (info & 31), as yjs numbers them (structs/Item.js contentRefs).
enum ContentRef : std::uint8_t {
  kGC = 0, kDeleted = 1, kJson = 2, kBinary = 3, kString = 4, kEmbed = 5,
  kFormat = 6, kType = 7, kAny = 8, kDoc = 9, kSkip = 10,
};
constexpr std::uint8_t kHasOrigin = 0x80;       // BIT8: origin id follows
constexpr std::uint8_t kHasRightOrigin = 0x40;  // BIT7: right origin id follows
constexpr std::uint8_t kHasParentSub = 0x20;    // BIT6: parent sub (map key) follows, if parent info does
constexpr std::uint64_t kMaxTypeRef = 6;        // YArray 0 .. YXmlText 6 (ContentType.js typeRefs)
constexpr std::uint64_t kXmlElementRef = 3;     // carries a node name
constexpr std::uint64_t kXmlHookRef = 5;        // carries a hook name

// lib0 any tags (decoding.js readAnyLookupTable).
enum AnyTag : std::uint8_t {
  kUint8Array = 116, kArray = 117, kObject = 118, kAnyString = 119, kTrue = 120, kFalse = 121,
  kBigInt64 = 122, kFloat64 = 123, kFloat32 = 124, kVarInt = 125, kNull = 126, kUndefined = 127,
};

// ---- JSON grammar (JSON.parse's) ---------------------------------------------------------------
class JsonSyntax {
 public:
  explicit JsonSyntax(std::string_view text) : at_(text.data()), end_(text.data() + text.size()) {}
  bool whole_text() {
    space();
    if (!value(0)) return false;
    space();
    return at_ == end_;
  }

 private:
  bool peek(char c) const { return at_ != end_ && *at_ == c; }
  bool take(char c) { return peek(c) ? (++at_, true) : false; }
  bool digit() const { return at_ != end_ && *at_ >= '0' && *at_ <= '9'; }
  void space() {
    while (at_ != end_ && (*at_ == ' ' || *at_ == '\t' || *at_ == '\n' || *at_ == '\r')) ++at_;
  }
  bool word(std::string_view w) {
    if (static_cast<std::size_t>(end_ - at_) < w.size() || std::string_view(at_, w.size()) != w) return false;
    at_ += w.size();
    return true;
  }
  bool digits() {  // one or more
    if (!digit()) return false;
    while (digit()) ++at_;
    return true;
  }
  bool number() {
    take('-');
    if (!take('0') && !digits()) return false;  // "0" alone, or no leading zero
    if (take('.') && !digits()) return false;
    if (take('e') || take('E')) {
      if (!take('+')) take('-');
      if (!digits()) return false;
    }
    return true;
  }
  bool string() {
    if (!take('"')) return false;
    while (at_ != end_) {
      const auto c = static_cast<unsigned char>(*at_++);
      if (c == '"') return true;
      if (c < 0x20) return false;  // raw control characters must be escaped
      if (c != '\\') continue;
      if (at_ == end_) return false;
      const char escape = *at_++;
      if (escape == 'u') {
        for (int i = 0; i < 4; ++i, ++at_) {
          if (at_ == end_) return false;
          const char h = *at_;
          if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) return false;
        }
      } else if (std::string_view("\"\\/bfnrt").find(escape) == std::string_view::npos) {
        return false;
      }
    }
    return false;  // unterminated
  }
  // '[' or '{' already seen; `close` ends it; members are "string: value" when `object`.
  bool elements(int depth, char close, bool object) {
    space();
    if (take(close)) return true;
    do {
      space();
      if (object) {
        if (!string()) return false;
        space();
        if (!take(':')) return false;
        space();
      }
      if (!value(depth + 1)) return false;
      space();
    } while (take(','));
    return take(close);
  }
  bool value(int depth) {
    if (at_ == end_) return false;
    switch (*at_) {
      case '{': return depth < kMaxNesting && (++at_, elements(depth, '}', true));
      case '[': return depth < kMaxNesting && (++at_, elements(depth, ']', false));
      case '"': return string();
      case 't': return word("true");
      case 'f': return word("false");
      case 'n': return word("null");
      default: return number();
    }
  }

  const char* at_;
  const char* end_;
};

// ---- the walk ----------------------------------------------------------------------------------
// JavaScript string length (UTF-16 code units) of valid UTF-8: one per sequence, two for the
// 4-byte ones (outside the BMP). ContentString's length is this.
std::uint64_t utf16_length(std::string_view utf8) {
  std::uint64_t units = 0;
  for (const char ch : utf8) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c & 0xc0) != 0x80) units += c >= 0xf0 ? 2 : 1;
  }
  return units;
}

void read_json(Lib0Reader& in, bool undefined_allowed) {
  const std::string_view text = in.read_var_string();
  if (!in.ok() || (undefined_allowed && text == "undefined")) return;
  if (!JsonSyntax(text).whole_text()) in.fail("JSON string is not JSON (or nests past " + std::to_string(kMaxNesting) + ")");
}

void read_any(Lib0Reader& in, int depth);

// The value after its tag. Containers count towards kMaxNesting.
void read_any_value(Lib0Reader& in, std::uint8_t tag, int depth) {
  if ((tag == kObject || tag == kArray) && depth >= kMaxNesting)
    return in.fail("any value nested past " + std::to_string(kMaxNesting));
  switch (tag) {
    case kUndefined: case kNull: case kTrue: case kFalse: return;
    case kVarInt: in.read_var_int(); return;
    case kFloat32: in.skip(4); return;
    case kFloat64: case kBigInt64: in.skip(8); return;
    case kAnyString: in.read_var_string(); return;
    case kUint8Array: in.read_var_bytes(); return;
    case kObject:  // key, value
      return in.read_each(in.read_var_uint(), 2, [&](std::uint64_t) {
        in.read_var_string();
        read_any(in, depth + 1);
      });
    case kArray: return in.read_each(in.read_var_uint(), 1, [&](std::uint64_t) { read_any(in, depth + 1); });
    default: return in.fail("unknown any tag " + std::to_string(tag));
  }
}

void read_any(Lib0Reader& in, int depth) {
  const std::uint8_t tag = in.read_uint8();
  if (in.ok()) read_any_value(in, tag, depth);
}

void read_id(Lib0Reader& in) {
  in.read_var_uint();  // client
  in.read_var_uint();  // clock
}

// An item's content; returns its length (clock units).
std::uint64_t read_content(Lib0Reader& in, std::uint8_t ref) {
  switch (ref) {
    case kDeleted: return in.read_var_uint();
    case kJson: {
      const std::uint64_t count = in.read_var_uint();
      in.read_each(count, 1, [&](std::uint64_t) { read_json(in, true); });
      return count;
    }
    case kBinary: in.read_var_bytes(); return 1;
    case kString: return utf16_length(in.read_var_string());
    case kEmbed: read_json(in, false); return 1;
    case kFormat: in.read_var_string(); read_json(in, false); return 1;
    case kType: {
      const std::uint64_t type_ref = in.read_var_uint();
      if (in.ok() && type_ref > kMaxTypeRef) in.fail("unknown type ref " + std::to_string(type_ref));
      if (type_ref == kXmlElementRef || type_ref == kXmlHookRef) in.read_var_string();  // node name
      return 1;
    }
    case kAny: {
      const std::uint64_t count = in.read_var_uint();
      in.read_each(count, 1, [&](std::uint64_t) { read_any(in, 0); });
      return count;
    }
    case kDoc: {
      in.read_var_string();  // guid
      // yjs reads the options with `opts.shouldLoad`: anything but an object throws or is junk.
      const std::uint8_t tag = in.read_uint8();
      if (in.ok() && tag != kObject) in.fail("subdocument options are not an object");
      if (in.ok()) read_any_value(in, tag, 0);
      return 1;
    }
    default: in.fail("unknown content ref " + std::to_string(ref)); return 0;
  }
}

// One struct; returns its length, and whether it carries an id range (Skips do not).
std::uint64_t read_struct(Lib0Reader& in, bool& carried) {
  const std::uint8_t info = in.read_uint8();
  if (!in.ok()) return 0;
  const std::uint8_t ref = info & 31;
  carried = ref != kSkip;
  if (ref == kGC || ref == kSkip) {  // yjs writes no flags on these
    if (info != ref) in.fail("GC or Skip struct with flag bits");
    return in.read_var_uint();
  }
  if (info & kHasOrigin) read_id(in);
  if (info & kHasRightOrigin) read_id(in);
  if ((info & (kHasOrigin | kHasRightOrigin)) == 0) {  // no origin to copy the parent from
    const std::uint64_t parent_info = in.read_var_uint();
    if (parent_info == 1) in.read_var_string();  // a root type's name
    else if (parent_info == 0) read_id(in);      // the item holding the parent type
    else in.fail("parent info " + std::to_string(parent_info) + " (must be 0 or 1)");
    if (info & kHasParentSub) in.read_var_string();
  }
  return read_content(in, ref);
}

// Sorts by client and merges the ranges of each client (overlapping or adjacent).
std::vector<ClientRanges> merge(std::vector<std::pair<std::uint64_t, Range>> all) {
  std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first < y.first : x.second.clock < y.second.clock;
  });
  std::vector<ClientRanges> merged;
  for (const auto& [client, range] : all) {
    if (merged.empty() || merged.back().client != client) merged.push_back({client, {}});
    std::vector<Range>& ranges = merged.back().ranges;
    if (!ranges.empty() && range.clock <= ranges.back().end())
      ranges.back().length = std::max(ranges.back().end(), range.end()) - ranges.back().clock;
    else
      ranges.push_back(range);
  }
  return merged;
}

// Where the walk is, for the error message: "struct 3 of client 7: ", "delete set: ".
struct Where {
  const char* part = "";
  bool item = false;  // names one struct or delete range: index and client follow
  std::uint64_t index = 0;
  std::uint64_t client = 0;
  std::string describe() const {
    if (!item) return *part ? std::string(part) + ": " : std::string();
    return std::string(part) + " " + std::to_string(index) + " of client " + std::to_string(client) + ": ";
  }
};

// Checks a struct or delete range: not empty, and its end within 2^53 - 1.
bool check_range(Lib0Reader& in, std::uint64_t clock, std::uint64_t length) {
  if (!in.ok()) return false;
  if (length == 0) in.fail("length 0");
  else if (length > kMaxSafeInteger - clock) in.fail("clock past 2^53 - 1");
  return in.ok();
}

using RangeList = std::vector<std::pair<std::uint64_t, Range>>;  // (client, range), in reading order

void read_client_groups(Lib0Reader& in, Where& where, RangeList& out, std::vector<std::uint64_t>& clients) {
  where = {"client group header"};
  in.read_each(in.read_var_uint(), 3, [&](std::uint64_t) {
    where = {"client group header"};
    const std::uint64_t structs = in.read_var_uint();
    const std::uint64_t client = in.read_var_uint();
    std::uint64_t clock = in.read_var_uint();
    clients.push_back(client);
    in.read_each(structs, 2, [&](std::uint64_t s) {
      where = {"struct", true, s, client};
      bool carried = true;
      const std::uint64_t length = read_struct(in, carried);
      if (!check_range(in, clock, length)) return;
      // A client's structs follow on: extend the last range unless a Skip left a gap.
      if (carried && !out.empty() && out.back().first == client && out.back().second.end() == clock)
        out.back().second.length += length;
      else if (carried)
        out.push_back({client, Range{clock, length}});
      clock += length;
    });
  });
}

void read_delete_set(Lib0Reader& in, Where& where, RangeList& out) {
  where = {"delete set"};
  in.read_each(in.read_var_uint(), 2, [&](std::uint64_t) {
    where = {"delete set"};
    const std::uint64_t client = in.read_var_uint();
    const std::uint64_t ranges = in.read_var_uint();
    in.read_each(ranges, 2, [&](std::uint64_t r) {
      where = {"delete range", true, r, client};
      const std::uint64_t clock = in.read_var_uint();
      const std::uint64_t length = in.read_var_uint();
      if (check_range(in, clock, length)) out.push_back({client, Range{clock, length}});
    });
  });
  if (in.ok()) where = {};
}

}  // namespace

Result<UpdateSummary> check_update(std::string_view update) {
  Lib0Reader in(update);
  Where where;
  RangeList structs, deletes;
  std::vector<std::uint64_t> clients;
  read_client_groups(in, where, structs, clients);
  if (in.ok()) read_delete_set(in, where, deletes);
  if (in.ok() && !in.at_end()) in.fail("trailing bytes after the delete set");
  std::sort(clients.begin(), clients.end());
  const auto twice = std::adjacent_find(clients.begin(), clients.end());
  if (in.ok() && twice != clients.end()) in.fail("client " + std::to_string(*twice) + " has two struct groups");
  if (!in.ok()) return Error{std::string(kBadUpdate), "Yjs update: " + where.describe() + in.failure()};
  return UpdateSummary{merge(std::move(structs)), merge(std::move(deletes))};
}

bool is_empty_update(std::string_view update) { return update == std::string_view("\0\0", 2); }

void merge_into(UpdateSummary& into, const UpdateSummary& more) {
  auto merged = [](const std::vector<ClientRanges>& a, const std::vector<ClientRanges>& b) {
    std::vector<std::pair<std::uint64_t, Range>> all;
    for (const auto* side : {&a, &b})
      for (const ClientRanges& c : *side)
        for (const Range& r : c.ranges) all.emplace_back(c.client, r);
    return merge(std::move(all));
  };
  into.structs = merged(into.structs, more.structs);
  into.deletes = merged(into.deletes, more.deletes);
}

bool covers(const UpdateSummary& a, const UpdateSummary& b) {
  const auto inside = [](const std::vector<ClientRanges>& outer, const std::vector<ClientRanges>& inner) {
    auto client = outer.begin();
    for (const ClientRanges& want : inner) {
      while (client != outer.end() && client->client < want.client) ++client;
      if (client == outer.end() || client->client != want.client) return false;
      auto range = client->ranges.begin();  // disjoint and sorted: the first ending at or after
      for (const Range& r : want.ranges) {  // r's end is the only one that can hold it
        while (range != client->ranges.end() && range->end() < r.end()) ++range;
        if (range == client->ranges.end() || range->clock > r.clock) return false;
      }
    }
    return true;
  };
  return inside(a.structs, b.structs) && inside(a.deletes, b.deletes);
}

Result<StateVector> check_state_vector(std::string_view state_vector) {
  Lib0Reader in(state_vector);
  StateVector entries;
  in.read_each(in.read_var_uint(), 2, [&](std::uint64_t) {
    const std::uint64_t client = in.read_var_uint();
    const std::uint64_t clock = in.read_var_uint();
    entries.push_back({client, clock});
  });
  if (in.ok() && !in.at_end()) in.fail("trailing bytes after the state vector");
  std::sort(entries.begin(), entries.end(), [](const auto& x, const auto& y) { return x.client < y.client; });
  const auto twice = std::adjacent_find(entries.begin(), entries.end(),
                                        [](const auto& x, const auto& y) { return x.client == y.client; });
  if (in.ok() && twice != entries.end()) in.fail("client " + std::to_string(twice->client) + " listed twice");
  if (!in.ok()) return Error{std::string(kBadUpdate), "Yjs state vector: " + in.failure()};
  return entries;
}

bool is_json_text(std::string_view text) { return JsonSyntax(text).whole_text(); }

}  // namespace tandem::server::yjs
