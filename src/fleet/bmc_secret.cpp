#include "fleet/bmc_secret.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/files.hpp"
#include "core/text.hpp"

namespace mtce::fleet {

namespace {

constexpr std::string_view version_prefix = "v1:";
constexpr std::size_t nonce_size = 12;
constexpr std::size_t tag_size = 16;
constexpr std::size_t max_key_file = 4096;

struct cipher_ctx_free {
    void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_free>;

std::string to_hex(const bmc_key& key) {
    std::string out;
    for (const auto b : key.bytes) {
        out += fmt::format("{:02x}", b);
    }
    return out;
}

std::string base64(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

/// Strict base64 (no blanks): nullopt-like empty result with `ok` false for anything else.
bool unbase64(std::string_view text, std::string& out) {
    if (text.empty() || text.size() % 4 != 0 || text.size() > 4096) {
        return false;
    }
    out.assign(text.size() / 4 * 3, '\0');
    const int n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) {
        return false;
    }
    // EVP_DecodeBlock counts the padding as zero bytes.
    std::size_t size = static_cast<std::size_t>(n);
    for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) {
        --size;
    }
    out.resize(size);
    return true;
}

std::string errno_text() {
    return std::error_code{errno, std::system_category()}.message();
}

/// Writes a new key to `path`, never over an existing file: the key goes to a temporary file first and is
/// linked into place, so a reader sees no key or a whole one.
tl::expected<void, std::string> create_key_file(const std::filesystem::path& path, const bmc_key& key) {
    const auto tmp = path.string() + ".new";
    (void)::unlink(tmp.c_str());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return tl::make_unexpected(
            fmt::format("cannot create BMC key file '{}': {}", path.string(), errno_text()));
    }
    const auto text = to_hex(key) + "\n";
    int err = 0;
    if (::fchmod(fd, 0600) != 0 ||
        ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) || ::fsync(fd) != 0) {
        err = errno != 0 ? errno : EIO;
    }
    ::close(fd);
    if (err == 0 && ::link(tmp.c_str(), path.c_str()) != 0) {
        err = errno;
    }
    (void)::unlink(tmp.c_str());
    if (err == EEXIST) {
        return {};  // made meanwhile by another process: that one is read
    }
    if (err != 0) {
        return tl::make_unexpected(fmt::format("cannot create BMC key file '{}': {}", path.string(),
                                               std::error_code{err, std::system_category()}.message()));
    }
    const int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

}  // namespace

tl::expected<bmc_key, std::string> parse_bmc_key(std::string_view text) {
    if (!text.empty() && text.back() == '\n') {
        text.remove_suffix(1);
    }
    bmc_key key;
    if (text.size() != 2 * key.bytes.size()) {
        return tl::make_unexpected(
            fmt::format("it holds {} characters, not the 64 hex digits of a key", text.size()));
    }
    for (std::size_t i = 0; i < key.bytes.size(); ++i) {
        const int hi = hex_value(text[2 * i]);
        const int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return tl::make_unexpected(std::string{"it holds characters other than hex digits"});
        }
        key.bytes[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    return key;
}

tl::expected<bmc_key, std::string> load_bmc_key(const std::filesystem::path& path, bool create) {
    if (path.empty()) {
        return tl::make_unexpected(std::string{"no BMC key file is set (controller.bmc_key_file)"});
    }
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) {
        if (!create) {
            return tl::make_unexpected(fmt::format("BMC key file '{}' is missing", path.string()));
        }
        bmc_key key;
        if (RAND_bytes(key.bytes.data(), static_cast<int>(key.bytes.size())) != 1) {
            return tl::make_unexpected(
                fmt::format("cannot create BMC key file '{}': no random bytes", path.string()));
        }
        if (auto created = create_key_file(path, key); !created) {
            return tl::make_unexpected(std::move(created.error()));
        }
    }
    if (auto problem = check_access(path, file_use::private_file); !problem.empty()) {
        return tl::make_unexpected(fmt::format("BMC key file {}", problem));
    }
    const auto text = read_small_file(path, max_key_file);
    if (!text) {
        return tl::make_unexpected(
            fmt::format("cannot read BMC key file '{}': {}", path.string(), errno_text()));
    }
    auto key = parse_bmc_key(*text);
    if (!key) {
        return tl::make_unexpected(
            fmt::format("BMC key file '{}' is not a key: {}", path.string(), key.error()));
    }
    return key;
}

std::string seal_bmc_password(const bmc_key& key, std::string_view host, std::string_view password) {
    std::string out(nonce_size + password.size() + tag_size, '\0');
    auto* bytes = reinterpret_cast<unsigned char*>(out.data());
    cipher_ctx ctx{EVP_CIPHER_CTX_new()};
    int n = 0;
    int tail = 0;
    const bool sealed =
        ctx && RAND_bytes(bytes, static_cast<int>(nonce_size)) == 1 &&
        EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.bytes.data(), bytes, nullptr) == 1 &&
        EVP_EncryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(host.data()),
                          static_cast<int>(host.size())) == 1 &&
        EVP_EncryptUpdate(ctx.get(), bytes + nonce_size, &n,
                          reinterpret_cast<const unsigned char*>(password.data()),
                          static_cast<int>(password.size())) == 1 &&
        EVP_EncryptFinal_ex(ctx.get(), bytes + nonce_size + n, &tail) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_size),
                            bytes + nonce_size + password.size()) == 1;
    if (!sealed) {
        throw std::runtime_error{"cannot seal a BMC password: OpenSSL's AES-256-GCM failed"};
    }
    return std::string{version_prefix} + base64(out);
}

tl::expected<std::string, std::string> open_bmc_password(const bmc_key& key, std::string_view host,
                                                         std::string_view sealed) {
    if (sealed.substr(0, version_prefix.size()) != version_prefix) {
        return tl::make_unexpected(std::string{"it is not a sealed password of a known version"});
    }
    std::string raw;
    if (!unbase64(sealed.substr(version_prefix.size()), raw) || raw.size() < nonce_size + tag_size) {
        return tl::make_unexpected(std::string{"the sealed password is damaged"});
    }
    const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
    const std::size_t size = raw.size() - nonce_size - tag_size;
    std::string out(size, '\0');
    auto* plain = reinterpret_cast<unsigned char*>(out.data());
    std::array<unsigned char, tag_size> tag{};
    std::copy(bytes + nonce_size + size, bytes + raw.size(), tag.begin());
    cipher_ctx ctx{EVP_CIPHER_CTX_new()};
    int n = 0;
    int tail = 0;
    const bool opened =
        ctx && EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.bytes.data(), bytes, nullptr) == 1 &&
        EVP_DecryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(host.data()),
                          static_cast<int>(host.size())) == 1 &&
        EVP_DecryptUpdate(ctx.get(), plain, &n, bytes + nonce_size, static_cast<int>(size)) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_size), tag.data()) == 1 &&
        EVP_DecryptFinal_ex(ctx.get(), plain + n, &tail) == 1;
    if (!opened) {
        return tl::make_unexpected(
            std::string{"it does not open with this BMC key (another key, or sealed for another host)"});
    }
    return out;
}

}  // namespace mtce::fleet
