#pragma once

// BMC passwords at rest (mtce(8) FILES): sealed with AES-256-GCM under the controller's BMC key
// (controller.bmc_key_file), a random nonce per value, and the host's name as associated data, so that a
// sealed password copied to another host's row does not open. The text stored is "v1:" and the base64 of
// nonce (12 bytes), ciphertext and tag (16 bytes).

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace mtce::fleet {

/// 32 bytes of key. Not thread-safe to share while assigned; copying is allowed (the store keeps one).
struct bmc_key {
    std::array<unsigned char, 32> bytes{};
};

/// The key as its file holds it: 64 hex digits and an optional newline; what is wrong otherwise.
[[nodiscard]] tl::expected<bmc_key, std::string> parse_bmc_key(std::string_view text);

/// Reads the key file, refusing one that is not this user's (or root's) or that others can read. A missing
/// file is created (0600, 32 random bytes as hex) if `create` and its directory exists; an existing one is
/// never rewritten. Errors are sentences naming the file and the fix.
[[nodiscard]] tl::expected<bmc_key, std::string> load_bmc_key(const std::filesystem::path& path, bool create);

/// `password` sealed for host `host` ("v1:...").
[[nodiscard]] std::string seal_bmc_password(const bmc_key& key, std::string_view host,
                                            std::string_view password);

/// The password `sealed` holds for `host`; an error (no secret in it) for a value that is not "v1:", is
/// damaged, was sealed for another host or under another key.
[[nodiscard]] tl::expected<std::string, std::string> open_bmc_password(const bmc_key& key,
                                                                       std::string_view host,
                                                                       std::string_view sealed);

}  // namespace mtce::fleet
