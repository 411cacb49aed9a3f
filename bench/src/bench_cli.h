// bench/src/bench_cli.h — what the bench tools (tandem-bench, tandem-race, tandem-restart) share
// on their command lines: flags parsed from a table of names and what each sets, and the tokens
// they mint for their clients from the server's secret.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace tandem::bench {

struct Flag {
  std::string name;  // "--clients"
  // Takes the value ("" for a switch); false when the value is not one it accepts.
  std::function<bool(const std::string& value)> set;
  bool is_switch = false;  // takes no value
};

// Setters for the common kinds of value.
Flag text_flag(std::string name, std::string& out);
Flag int_flag(std::string name, int& out);
Flag long_flag(std::string name, long& out);
Flag number_flag(std::string name, double& out);
Flag switch_flag(std::string name, bool& out);

// Parses argv[1..] against `flags`. False — after saying why on stderr — for --help or -h, an
// unknown flag, a missing value or a value its flag refuses.
bool parse_flags(int argc, char** argv, const std::vector<Flag>& flags);

// An HS256 token for user `sub` (named `sub`) allowed in every room, valid for an hour.
std::string mint_bench_token(const std::string& secret, const std::string& sub);

}  // namespace tandem::bench
