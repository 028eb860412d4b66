#include <certmgr/cli.hpp>

int main(int argc, char** argv) { return certmgr::cli::run(argc, argv); }
