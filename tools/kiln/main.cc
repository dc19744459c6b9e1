// Entry point of the `kiln` command line (see cli.h).
#include <iostream>
#include <string>
#include <vector>

#include "tools/kiln/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return kiln::cli::Main(args, std::cout, std::cerr);
}
