// The one translation unit that compiles Asio's implementation (ASIO_SEPARATE_COMPILATION).
#include <asio/impl/src.hpp>
