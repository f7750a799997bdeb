// The one translation unit that compiles toml++'s implementation (TOML_IMPLEMENTATION), as the shared
// libtomlplusplus does: mtce links it statically (see mtce::tomlplusplus in src/CMakeLists.txt).
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
