// write_batch_test.cpp — WriteBatch (store/store.h): repeated PutNodes of a node merge into the
// first one's place, and nothing else does; what ends the merging (a delete of any node, a new
// room, a failed batch taken back, writes removed); a Write variant merges like its alternative.
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "store/store.h"

namespace tandem::server::store {
namespace {

protocol::Node node(const std::string& id, double x) {
  protocol::Node n;
  n.id = id;
  n.type = "t";
  n.x = x;
  return n;
}

// "room/node@x" per PutNode, the kind's index for every other write.
std::vector<std::string> shape(const WriteBatch& batch) {
  std::vector<std::string> out;
  for (const auto& write : batch.writes()) {
    if (const auto* put = std::get_if<WriteBatch::PutNode>(&write))
      out.push_back(put->room + "/" + put->node.id + "@" + std::to_string(static_cast<int>(put->node.x)));
    else
      out.push_back("#" + std::to_string(write.index()));
  }
  return out;
}

TEST(write_batch_test, a_later_put_of_the_same_node_replaces_the_first_in_its_place) {
  WriteBatch batch;
  batch.add(WriteBatch::PutNode{"r", node("a", 1)});
  batch.add(WriteBatch::AppendEvent{"r", 1, "{}"});
  batch.add(WriteBatch::PutNode{"r", node("b", 1)});
  batch.add(WriteBatch::PutNode{"r", node("a", 2)});
  batch.add(WriteBatch::PutNode{"s", node("a", 7)});  // another room: another node
  batch.add(WriteBatch::PutNode{"r", node("a", 3)});
  EXPECT_EQ(shape(batch), (std::vector<std::string>{"r/a@3", "#1", "r/b@1", "s/a@7"}));
}

TEST(write_batch_test, a_write_variant_merges_like_its_alternative) {
  WriteBatch batch;
  batch.add(WriteBatch::Write{WriteBatch::PutNode{"r", node("a", 1)}});
  batch.add(WriteBatch::Write{WriteBatch::PutNode{"r", node("a", 2)}});
  batch.add(WriteBatch::Write{WriteBatch::AppendEvent{"r", 1, "{}"}});
  EXPECT_EQ(shape(batch), (std::vector<std::string>{"r/a@2", "#1"}));
}

TEST(write_batch_test, a_delete_or_a_new_room_ends_the_merging) {
  WriteBatch batch;
  batch.add(WriteBatch::PutNode{"r", node("a", 1)});
  batch.add(WriteBatch::DeleteNode{"r", "z"});  // any node: merging restarts for all
  batch.add(WriteBatch::PutNode{"r", node("a", 2)});
  batch.add(WriteBatch::NewRoom{"q", "ep"});
  batch.add(WriteBatch::PutNode{"r", node("a", 3)});
  batch.add(WriteBatch::PutNode{"r", node("a", 4)});
  EXPECT_EQ(shape(batch), (std::vector<std::string>{"r/a@1", "#3", "r/a@2", "#0", "r/a@4"}));
}

TEST(write_batch_test, puts_after_a_failed_batch_is_taken_back_do_not_merge_into_it) {
  // A store may have kept part of a failed batch (PostgreSQL skips what it stored on the
  // retry): a put merged into that part would be skipped with it.
  WriteBatch failed;
  failed.add(WriteBatch::PutNode{"r", node("a", 1)});
  WriteBatch since;
  since.add(WriteBatch::PutNode{"r", node("a", 2)});
  failed.append(std::move(since));
  failed.add(WriteBatch::PutNode{"r", node("a", 3)});
  failed.add(WriteBatch::PutNode{"r", node("a", 4)});
  EXPECT_EQ(shape(failed), (std::vector<std::string>{"r/a@1", "r/a@2", "r/a@4"}));
}

TEST(write_batch_test, removing_writes_or_clearing_ends_the_merging) {
  WriteBatch batch;
  batch.add(WriteBatch::PutNode{"r", node("a", 1)});
  batch.add(WriteBatch::PutNode{"q", node("b", 1)});
  batch.remove_if([](const WriteBatch::Write& write) { return room_of(write) == "q"; });
  batch.add(WriteBatch::PutNode{"r", node("a", 2)});
  EXPECT_EQ(shape(batch), (std::vector<std::string>{"r/a@1", "r/a@2"}));
  batch.clear();
  batch.add(WriteBatch::PutNode{"r", node("a", 3)});
  batch.add(WriteBatch::PutNode{"r", node("a", 4)});
  EXPECT_EQ(shape(batch), (std::vector<std::string>{"r/a@4"}));
}

TEST(write_batch_test, a_batch_keeps_its_id_while_retried_and_a_new_or_cleared_one_takes_a_new_id) {
  // A store that kept part of a failed commit skips it only in the same batch (store.h).
  WriteBatch failed;
  failed.add(WriteBatch::PutNode{"r", node("a", 1)});
  const std::uint64_t id = failed.id();
  WriteBatch since;
  EXPECT_NE(since.id(), id);
  since.add(WriteBatch::PutNode{"r", node("b", 1)});
  failed.append(std::move(since));  // taken back, what came since behind it
  failed.remove_if([](const WriteBatch::Write& write) { return room_of(write) == "q"; });
  EXPECT_EQ(failed.id(), id);
  EXPECT_EQ(WriteBatch(failed).id(), id);  // a copy is the same batch

  WriteBatch moved = std::move(failed);  // handed to the commit thread and back
  EXPECT_EQ(moved.id(), id);
  EXPECT_TRUE(failed.empty());  // NOLINT(bugprone-use-after-move): a moved-from batch is a new one
  EXPECT_NE(failed.id(), id);
  const std::uint64_t before_clear = moved.id();
  moved.clear();  // dropped
  EXPECT_NE(moved.id(), before_clear);
  EXPECT_NE(moved.id(), failed.id());
}

}  // namespace
}  // namespace tandem::server::store
