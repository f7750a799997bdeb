#include "cli/cli.hpp"

int main(int argc, char** argv) {
    return mtce::cli::run(argc, argv);
}
