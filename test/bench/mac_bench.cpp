// mtce-mac-bench: what authenticating one datagram costs on this machine, for the sizes the heartbeat signs
// (mtce-protocol(7): a pulse response covers 106 + 24 = 130 bytes, a pulse request 106 + 84 = 190), with
// HMAC-SHA256 computed the old way (EVP_MAC re-initialised per message) and the new way (copies of
// precomputed pad states, low-level SHA-256), and with every other MAC OpenSSL 3.0's EVP_MAC offers.
//
// Every timed operation is a verification: compute the tag of one of 64 distinct messages and compare it in
// constant time with a tag computed beforehand by a freshly keyed context. A tag that does not match fails
// the run (exit 1), as does any disagreement between the two HMAC-SHA256 paths, HMAC() and RFC 4231. Not a
// test: CTest does not run it.

// SHA256_Init/Update/Final are deprecated in OpenSSL 3.0; they are what the precomputed-pad path is made of.
#define OPENSSL_SUPPRESS_DEPRECATED

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/sha.h>

namespace {

using bytes = std::vector<unsigned char>;

constexpr std::size_t nonce_size = 12;  // GCM's and ChaCha20's 96-bit nonce
constexpr std::size_t batch_size = 64;  // messages in the working set, and in one batch
constexpr std::size_t max_tag_size = 64;
constexpr std::size_t pulse_response_bytes = 106 + 24;
constexpr std::size_t pulse_request_bytes = 106 + 84;
constexpr double tags_per_second_needed = 20'000;  // 1000 hosts x 2 networks x 10 Hz
constexpr std::size_t default_iterations = 550'000;
// Each measurement is repeated this many times. The table shows the fastest repetition: on a machine shared
// with other jobs that is the cost of the work itself; the median, in --json, also carries the neighbours'
// load.
constexpr int repetitions = 11;

using nonce_view = std::span<const unsigned char, nonce_size>;

// A tag that does not verify: the bench's own failure, reported with exit status 1.
struct verification_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// OpenSSL failing (an algorithm missing from this build, memory exhaustion): exit status 2.
[[noreturn]] void openssl_failed(const std::string& what) {
    std::string reason = what;
    if (const unsigned long e = ERR_get_error(); e != 0) {
        std::array<char, 256> text{};
        ERR_error_string_n(e, text.data(), text.size());
        reason += ": ";
        reason += text.data();
    }
    throw std::runtime_error(reason);
}

struct mac_ctx_deleter {
    void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};
struct cipher_ctx_deleter {
    void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
using mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, mac_ctx_deleter>;
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

// One keyed MAC, reused for every message, as the codec reuses its context.
class mac {
public:
    mac() = default;
    virtual ~mac() = default;
    mac(const mac&) = delete;
    mac& operator=(const mac&) = delete;
    mac(mac&&) = delete;
    mac& operator=(mac&&) = delete;

    [[nodiscard]] virtual std::size_t tag_size() const = 0;
    // Writes tag_size() bytes to `out`. MACs that take no nonce ignore `nonce`.
    virtual void tag(std::span<const unsigned char> data, nonce_view nonce, unsigned char* out) = 0;
};

// What an EVP_MAC needs besides its key.
struct evp_spec {
    const char* mac_name = nullptr;
    const char* string_param = nullptr;  // OSSL_MAC_PARAM_DIGEST or OSSL_MAC_PARAM_CIPHER, if any
    std::string string_value;
    std::optional<std::size_t> output_size;  // OSSL_MAC_PARAM_SIZE, where the tag length is a choice
    bool per_message_iv = false;             // GMAC: a fresh 96-bit IV for every message
};

// Any EVP_MAC, keyed once, then re-initialised with a NULL key per message: the provider restarts from the
// state it derived from the key (HMAC's pads, CMAC's subkeys, GMAC's hash key) instead of keying again.
class evp_mac final : public mac {
public:
    evp_mac(const evp_spec& spec, std::span<const unsigned char> key) : per_message_iv_(spec.per_message_iv) {
        EVP_MAC* m = EVP_MAC_fetch(nullptr, spec.mac_name, nullptr);
        if (m == nullptr) {
            openssl_failed(std::string("no EVP_MAC ") + spec.mac_name);
        }
        ctx_.reset(EVP_MAC_CTX_new(m));
        EVP_MAC_free(m);  // the context keeps its own reference
        if (!ctx_) {
            openssl_failed("cannot create a context");
        }
        std::string value = spec.string_value;
        std::size_t size = spec.output_size.value_or(0);
        std::vector<OSSL_PARAM> params;
        if (spec.string_param != nullptr) {
            params.push_back(OSSL_PARAM_construct_utf8_string(spec.string_param, value.data(), 0));
        }
        if (spec.output_size) {
            params.push_back(OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size));
        }
        if (per_message_iv_) {
            params.push_back(OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, iv_.data(), iv_.size()));
        }
        params.push_back(OSSL_PARAM_construct_end());
        if (EVP_MAC_init(ctx_.get(), key.data(), key.size(), params.data()) != 1) {
            openssl_failed(std::string("cannot key ") + spec.mac_name);
        }
        tag_size_ = EVP_MAC_CTX_get_mac_size(ctx_.get());
        if (tag_size_ == 0 || tag_size_ > max_tag_size) {
            openssl_failed(std::string("unexpected tag size of ") + spec.mac_name);
        }
    }

    [[nodiscard]] std::size_t tag_size() const override { return tag_size_; }

    void tag(std::span<const unsigned char> data, nonce_view nonce, unsigned char* out) override {
        std::array<OSSL_PARAM, 2> params{OSSL_PARAM_construct_end(), OSSL_PARAM_construct_end()};
        if (per_message_iv_) {
            std::copy(nonce.begin(), nonce.end(), iv_.begin());
            params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, iv_.data(), iv_.size());
        }
        std::size_t len = 0;
        if (EVP_MAC_init(ctx_.get(), nullptr, 0, params.data()) != 1 ||
            EVP_MAC_update(ctx_.get(), data.data(), data.size()) != 1 ||
            EVP_MAC_final(ctx_.get(), out, &len, tag_size_) != 1 || len != tag_size_) {
            openssl_failed("EVP_MAC failed");
        }
    }

private:
    mac_ctx_ptr ctx_;
    std::size_t tag_size_ = 0;
    bool per_message_iv_ = false;
    std::array<unsigned char, nonce_size> iv_{};
};

// HMAC-SHA256 (RFC 2104) from SHA-256 states that have already absorbed key^ipad and key^opad: a tag is a
// copy of each state, the message and one 32-byte block more. The same bytes as EVP_MAC "HMAC".
class hmac_pads final : public mac {
public:
    explicit hmac_pads(std::span<const unsigned char> key) {
        std::array<unsigned char, SHA256_CBLOCK> block{};
        if (key.size() > block.size()) {
            (void)SHA256(key.data(), key.size(), block.data());
        } else {
            std::copy(key.begin(), key.end(), block.begin());
        }
        std::array<unsigned char, SHA256_CBLOCK> pad{};
        for (std::size_t i = 0; i < block.size(); ++i) {
            pad[i] = static_cast<unsigned char>(block[i] ^ 0x36U);
        }
        (void)SHA256_Init(&inner_);
        (void)SHA256_Update(&inner_, pad.data(), pad.size());
        for (std::size_t i = 0; i < block.size(); ++i) {
            pad[i] = static_cast<unsigned char>(block[i] ^ 0x5cU);
        }
        (void)SHA256_Init(&outer_);
        (void)SHA256_Update(&outer_, pad.data(), pad.size());
        OPENSSL_cleanse(block.data(), block.size());
        OPENSSL_cleanse(pad.data(), pad.size());
    }
    ~hmac_pads() override {
        OPENSSL_cleanse(&inner_, sizeof inner_);
        OPENSSL_cleanse(&outer_, sizeof outer_);
    }
    hmac_pads(const hmac_pads&) = delete;
    hmac_pads& operator=(const hmac_pads&) = delete;
    hmac_pads(hmac_pads&&) = delete;
    hmac_pads& operator=(hmac_pads&&) = delete;

    [[nodiscard]] std::size_t tag_size() const override { return SHA256_DIGEST_LENGTH; }

    void tag(std::span<const unsigned char> data, nonce_view /*nonce*/, unsigned char* out) override {
        std::array<unsigned char, SHA256_DIGEST_LENGTH> inner_hash{};
        SHA256_CTX c = inner_;
        (void)SHA256_Update(&c, data.data(), data.size());
        (void)SHA256_Final(inner_hash.data(), &c);
        c = outer_;
        (void)SHA256_Update(&c, inner_hash.data(), inner_hash.size());
        (void)SHA256_Final(out, &c);
    }

private:
    SHA256_CTX inner_{};
    SHA256_CTX outer_{};
};

// Poly1305 as ChaCha20-Poly1305 uses it (RFC 8439 2.6): the one-time key of each message is the first 32
// bytes of the ChaCha20 keystream under the cluster key and the message's nonce, block counter 0.
class poly1305_chacha20 final : public mac {
public:
    explicit poly1305_chacha20(std::span<const unsigned char> key) {
        EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "ChaCha20", nullptr);
        if (c == nullptr) {
            openssl_failed("no ChaCha20");
        }
        chacha_.reset(EVP_CIPHER_CTX_new());
        const bool keyed =
            chacha_ && EVP_EncryptInit_ex2(chacha_.get(), c, key.data(), nullptr, nullptr) == 1;
        EVP_CIPHER_free(c);
        if (!keyed) {
            openssl_failed("cannot key ChaCha20");
        }
        EVP_MAC* m = EVP_MAC_fetch(nullptr, "POLY1305", nullptr);
        if (m == nullptr) {
            openssl_failed("no EVP_MAC POLY1305");
        }
        poly_.reset(EVP_MAC_CTX_new(m));
        EVP_MAC_free(m);
        if (!poly_) {
            openssl_failed("cannot create a Poly1305 context");
        }
    }

    [[nodiscard]] std::size_t tag_size() const override { return 16; }

    void tag(std::span<const unsigned char> data, nonce_view nonce, unsigned char* out) override {
        // OpenSSL's ChaCha20 IV: a 32-bit little-endian block counter, then the 96-bit nonce.
        std::array<unsigned char, 16> iv{};
        std::copy(nonce.begin(), nonce.end(), iv.begin() + 4);
        static constexpr std::array<unsigned char, 32> zeros{};
        std::array<unsigned char, 32> one_time_key{};
        int n = 0;
        std::size_t len = 0;
        const bool ok = EVP_EncryptInit_ex2(chacha_.get(), nullptr, nullptr, iv.data(), nullptr) == 1 &&
                        EVP_EncryptUpdate(chacha_.get(), one_time_key.data(), &n, zeros.data(),
                                          static_cast<int>(zeros.size())) == 1 &&
                        n == static_cast<int>(one_time_key.size()) &&
                        EVP_MAC_init(poly_.get(), one_time_key.data(), one_time_key.size(), nullptr) == 1 &&
                        EVP_MAC_update(poly_.get(), data.data(), data.size()) == 1 &&
                        EVP_MAC_final(poly_.get(), out, &len, 16) == 1 && len == 16;
        OPENSSL_cleanse(one_time_key.data(), one_time_key.size());
        if (!ok) {
            openssl_failed("Poly1305 failed");
        }
    }

private:
    cipher_ctx_ptr chacha_;
    mac_ctx_ptr poly_;
};

struct algorithm {
    std::string name;
    std::function<std::unique_ptr<mac>(std::span<const unsigned char>)> make;
    std::size_t key_size = 32;
};

std::vector<algorithm> algorithms() {
    auto evp = [](evp_spec spec) {
        return [spec = std::move(spec)](std::span<const unsigned char> key) -> std::unique_ptr<mac> {
            return std::make_unique<evp_mac>(spec, key);
        };
    };
    return {
        {"HMAC-SHA256 EVP_MAC (old)", evp({"HMAC", OSSL_MAC_PARAM_DIGEST, "SHA256", {}, false}), 32},
        {"HMAC-SHA256 pads (new)",
         [](std::span<const unsigned char> key) -> std::unique_ptr<mac> {
             return std::make_unique<hmac_pads>(key);
         },
         32},
        {"BLAKE2BMAC-256", evp({"BLAKE2BMAC", nullptr, {}, 32, false}), 32},
        {"BLAKE2SMAC-256", evp({"BLAKE2SMAC", nullptr, {}, {}, false}), 32},
        {"KMAC128", evp({"KMAC128", nullptr, {}, 32, false}), 32},
        {"KMAC256", evp({"KMAC256", nullptr, {}, 32, false}), 32},
        {"GMAC AES-128-GCM", evp({"GMAC", OSSL_MAC_PARAM_CIPHER, "AES-128-GCM", {}, true}), 16},
        {"GMAC AES-256-GCM", evp({"GMAC", OSSL_MAC_PARAM_CIPHER, "AES-256-GCM", {}, true}), 32},
        {"SipHash-2-4-128", evp({"SIPHASH", nullptr, {}, 16, false}), 16},
        {"Poly1305 + ChaCha20 key",
         [](std::span<const unsigned char> key) -> std::unique_ptr<mac> {
             return std::make_unique<poly1305_chacha20>(key);
         },
         32},
        {"CMAC AES-128", evp({"CMAC", OSSL_MAC_PARAM_CIPHER, "AES-128-CBC", {}, false}), 16},
    };
}

struct message {
    bytes data;
    std::array<unsigned char, nonce_size> nonce{};
    bytes tag;  // the expected tag, from a freshly keyed context
};

// 64 distinct messages of `size` bytes with distinct nonces, and their tags from a new context each: what the
// reused context must reproduce.
std::vector<message> make_messages(const algorithm& a, std::span<const unsigned char> key, std::size_t size,
                                   std::mt19937_64& rng) {
    std::vector<message> messages(batch_size);
    std::uint64_t counter = rng();
    for (message& m : messages) {
        m.data.resize(size);
        for (unsigned char& b : m.data) {
            b = static_cast<unsigned char>(rng());
        }
        // A real sender would take the nonce from its boot and sequence; any never-repeated value will do.
        ++counter;
        for (std::size_t i = 0; i < 8; ++i) {
            m.nonce[4 + i] = static_cast<unsigned char>(counter >> (8 * i));
        }
        const auto fresh = a.make(key);
        m.tag.resize(fresh->tag_size());
        fresh->tag(m.data, m.nonce, m.tag.data());
    }
    return messages;
}

[[gnu::noinline]] bool verify_one(mac& m, const message& msg) {
    std::array<unsigned char, max_tag_size> t{};
    m.tag(msg.data, msg.nonce, t.data());
    return CRYPTO_memcmp(t.data(), msg.tag.data(), msg.tag.size()) == 0;
}

// Verifies n messages one at a time, cycling through the working set. Returns how many verified.
std::size_t verify_each(mac& m, const std::vector<message>& messages, std::size_t n) {
    std::size_t ok = 0;
    std::size_t j = 0;
    for (std::size_t i = 0; i < n; ++i) {
        ok += verify_one(m, messages[j]) ? 1 : 0;
        if (++j == messages.size()) {
            j = 0;
        }
    }
    return ok;
}

// Verifies n messages in batches of 64: all tags computed back to back through the concrete type (no virtual
// call), then all compared, as a receiver draining a recvmmsg batch would.
template <class Mac>
std::size_t verify_batched(Mac& m, const std::vector<message>& messages, std::size_t n) {
    std::array<std::array<unsigned char, max_tag_size>, batch_size> tags{};
    std::size_t ok = 0;
    for (std::size_t done = 0; done < n; done += batch_size) {
        for (std::size_t j = 0; j < batch_size; ++j) {
            m.Mac::tag(messages[j].data, messages[j].nonce, tags[j].data());
        }
        for (std::size_t j = 0; j < batch_size; ++j) {
            ok += CRYPTO_memcmp(tags[j].data(), messages[j].tag.data(), messages[j].tag.size()) == 0 ? 1 : 0;
        }
    }
    return ok;
}

struct timing {
    double median_ns = 0;
    double min_ns = 0;
};

// The measurements of one run, timed round-robin: repetition r of every measurement before repetition r + 1
// of any, so that a burst of load from other jobs on this shared machine slows one repetition of many
// measurements rather than every repetition of one.
class schedule {
public:
    // op(n) performs n operations and returns how many succeeded (verified).
    using operation = std::function<std::size_t(std::size_t)>;

    // `out` receives the ns per operation, median and fastest, when run() returns; it must outlive run().
    void add(std::size_t operations, std::string what, operation op, timing* out) {
        const std::size_t per_run =
            std::max<std::size_t>(operations / repetitions / batch_size, 1) * batch_size;
        entries_.push_back({std::move(what), per_run, std::move(op), out, {}});
    }

    // Throws verification_failure if any operation failed.
    void run() {
        for (entry& e : entries_) {
            const std::size_t warm_up = std::max<std::size_t>(e.per_run / 4 / batch_size, 1) * batch_size;
            check(e, e.op(warm_up), warm_up);
        }
        for (std::size_t r = 0; r < repetitions; ++r) {
            for (entry& e : entries_) {
                const auto start = std::chrono::steady_clock::now();
                const std::size_t ok = e.op(e.per_run);
                const auto stop = std::chrono::steady_clock::now();
                check(e, ok, e.per_run);
                e.ns[r] = std::chrono::duration<double, std::nano>(stop - start).count() /
                          static_cast<double>(e.per_run);
            }
        }
        for (entry& e : entries_) {
            std::sort(e.ns.begin(), e.ns.end());
            *e.out = {e.ns[repetitions / 2], e.ns[0]};
        }
    }

private:
    struct entry {
        std::string what;
        std::size_t per_run = 0;
        operation op;
        timing* out = nullptr;
        std::array<double, repetitions> ns{};
    };

    static void check(const entry& e, std::size_t ok, std::size_t n) {
        if (ok != n) {
            throw verification_failure(e.what + ": " + std::to_string(n - ok) + " of " + std::to_string(n) +
                                       " tags did not verify");
        }
    }

    std::vector<entry> entries_;
};

bytes from_hex(std::string_view hex) {
    bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<unsigned char>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

bytes as_bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

// Both HMAC-SHA256 paths against RFC 4231 (cases 2 and 6: a short key, and a key longer than a block) and
// against HMAC(), on the bench's messages too. Returns a description of the first disagreement.
std::optional<std::string> check_hmac_paths(std::span<const unsigned char> key, std::mt19937_64& rng) {
    struct vector {
        bytes key;
        bytes data;
        bytes tag;
    };
    std::vector<vector> vectors{
        {as_bytes("Jefe"), as_bytes("what do ya want for nothing?"),
         from_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")},
        {bytes(131, 0xaa), as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
         from_hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")},
    };
    for (std::size_t size : {pulse_response_bytes, pulse_request_bytes, std::size_t{0}, std::size_t{1400}}) {
        bytes data(size);
        for (unsigned char& b : data) {
            b = static_cast<unsigned char>(rng());
        }
        bytes tag(SHA256_DIGEST_LENGTH);
        unsigned int len = 0;
        if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), tag.data(),
                 &len) == nullptr) {
            openssl_failed("HMAC() failed");
        }
        vectors.push_back({bytes(key.begin(), key.end()), std::move(data), std::move(tag)});
    }
    const std::array<unsigned char, nonce_size> no_nonce{};
    const evp_spec hmac_spec{"HMAC", OSSL_MAC_PARAM_DIGEST, "SHA256", {}, false};
    for (const vector& v : vectors) {
        evp_mac old_path(hmac_spec, v.key);
        hmac_pads new_path(v.key);
        std::array<unsigned char, SHA256_DIGEST_LENGTH> a{};
        std::array<unsigned char, SHA256_DIGEST_LENGTH> b{};
        // Twice, so that the second tag comes from a context already used once, as in the codec.
        for (int round = 0; round < 2; ++round) {
            old_path.tag(v.data, no_nonce, a.data());
            new_path.tag(v.data, no_nonce, b.data());
            if (!std::equal(a.begin(), a.end(), v.tag.begin(), v.tag.end())) {
                return "EVP_MAC HMAC-SHA256 disagrees with the reference on " +
                       std::to_string(v.data.size()) + " bytes";
            }
            if (!std::equal(b.begin(), b.end(), v.tag.begin(), v.tag.end())) {
                return "precomputed-pad HMAC-SHA256 disagrees with the reference on " +
                       std::to_string(v.data.size()) + " bytes";
            }
        }
    }
    return std::nullopt;
}

struct result {
    std::string name;
    std::size_t tag_bytes = 0;
    timing setup;
    timing at_130;
    timing at_190;
};

struct batching_result {
    std::string name;
    timing new_context;
    timing one_at_a_time;
    timing batched;
};

double tags_per_second(const timing& t) {
    return 1e9 / t.min_ns;
}

double core_percent(const timing& t) {
    return t.min_ns * tags_per_second_needed / 1e9 * 100.0;
}

struct machine {
    std::string cpu = "unknown";
    bool sha_ni = false;
};

machine read_machine() {
    machine m;
    std::ifstream cpuinfo("/proc/cpuinfo");
    bool have_model = false;
    bool have_flags = false;
    for (std::string line; std::getline(cpuinfo, line) && !(have_model && have_flags);) {
        const auto colon = line.find(':');
        if (colon == std::string::npos || colon + 2 > line.size()) {
            continue;
        }
        if (!have_model && line.rfind("model name", 0) == 0) {
            m.cpu = line.substr(colon + 2);
            have_model = true;
        } else if (!have_flags && line.rfind("flags", 0) == 0) {
            m.sha_ni = (line + " ").find(" sha_ni ") != std::string::npos;
            have_flags = true;
        }
    }
    return m;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

std::string json_timing(const timing& t) {
    std::array<char, 64> text{};
    std::snprintf(text.data(), text.size(), "{\"best\": %.1f, \"median\": %.1f}", t.min_ns, t.median_ns);
    return text.data();
}

void print_json(const machine& m, std::size_t iterations, const std::vector<result>& results,
                const std::vector<batching_result>& batching) {
    std::printf("{\n  \"cpu\": %s,\n  \"sha_ni\": %s,\n  \"openssl\": %s,\n  \"iterations\": %zu,\n",
                json_string(m.cpu).c_str(), m.sha_ni ? "true" : "false",
                json_string(OpenSSL_version(OPENSSL_VERSION)).c_str(), iterations);
    std::printf("  \"repetitions\": %d,\n  \"hmac_paths_agree\": true,\n  \"results\": [\n", repetitions);
    for (std::size_t i = 0; i < results.size(); ++i) {
        const result& r = results[i];
        std::printf(
            "    {\"algorithm\": %s, \"tag_bytes\": %zu, \"setup_ns\": %s, \"ns_per_tag_130\": %s, "
            "\"ns_per_tag_190\": %s, \"tags_per_second_130\": %.0f, \"core_percent_20000_per_second_130\": "
            "%.3f}%s\n",
            json_string(r.name).c_str(), r.tag_bytes, json_timing(r.setup).c_str(),
            json_timing(r.at_130).c_str(), json_timing(r.at_190).c_str(), tags_per_second(r.at_130),
            core_percent(r.at_130), i + 1 < results.size() ? "," : "");
    }
    std::printf("  ],\n  \"batching_130\": [\n");
    for (std::size_t i = 0; i < batching.size(); ++i) {
        const batching_result& b = batching[i];
        std::printf(
            "    {\"algorithm\": %s, \"new_context_ns\": %s, \"one_at_a_time_ns\": %s, "
            "\"batch_of_64_ns\": %s}%s\n",
            json_string(b.name).c_str(), json_timing(b.new_context).c_str(),
            json_timing(b.one_at_a_time).c_str(), json_timing(b.batched).c_str(),
            i + 1 < batching.size() ? "," : "");
    }
    std::printf("  ]\n}\n");
}

void print_table(const machine& m, std::size_t iterations, const std::vector<result>& results,
                 const std::vector<batching_result>& batching) {
    std::printf(
        "%s, SHA-NI %s; %s\n%zu tags per measurement in %d repetitions; ns are the fastest repetition's\n\n",
        m.cpu.c_str(), m.sha_ni ? "present" : "absent", OpenSSL_version(OPENSSL_VERSION), iterations,
        repetitions);
    std::printf("%-27s %4s %9s %12s %12s %12s %12s\n", "algorithm", "tag", "setup ns", "ns/tag 130B",
                "ns/tag 190B", "tags/s 130B", "core% 20k/s");
    for (const result& r : results) {
        std::printf("%-27s %4zu %9.0f %12.0f %12.0f %12.0f %11.2f%%\n", r.name.c_str(), r.tag_bytes,
                    r.setup.min_ns, r.at_130.min_ns, r.at_190.min_ns, tags_per_second(r.at_130),
                    core_percent(r.at_130));
    }
    std::printf("\nBatching, 130 B, ns per verified tag:\n");
    std::printf("%-27s %16s %16s %16s\n", "algorithm", "new ctx per msg", "one at a time", "64 back to back");
    for (const batching_result& b : batching) {
        std::printf("%-27s %16.0f %16.0f %16.0f\n", b.name.c_str(), b.new_context.min_ns,
                    b.one_at_a_time.min_ns, b.batched.min_ns);
    }
    std::printf("\nBoth HMAC-SHA256 paths agree with each other, HMAC() and RFC 4231.\n");
}

// The batching comparison for one concrete MAC type: a new keyed context per message, one reused context
// called once per message, and 64 tags back to back on the reused context.
template <class Mac>
void add_batching(schedule& s, batching_result& b,
                  const std::shared_ptr<const std::vector<message>>& messages, std::size_t iterations,
                  std::function<std::unique_ptr<Mac>()> make) {
    std::shared_ptr<Mac> reused = make();
    s.add(
        iterations / 10, b.name + " (new context)",
        [messages, make](std::size_t n) {
            std::size_t ok = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const auto fresh = make();
                ok += verify_one(*fresh, (*messages)[i % messages->size()]) ? 1 : 0;
            }
            return ok;
        },
        &b.new_context);
    s.add(
        iterations, b.name + " (one at a time)",
        [messages, reused](std::size_t n) { return verify_each(*reused, *messages, n); }, &b.one_at_a_time);
    s.add(
        iterations, b.name + " (batched)",
        [messages, reused](std::size_t n) { return verify_batched(*reused, *messages, n); }, &b.batched);
}

struct options {
    std::size_t iterations = default_iterations;
    bool json = false;
};

std::optional<options> parse(std::span<char*> args) {
    options o;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (arg == "--json") {
            o.json = true;
        } else if (arg == "--iterations" && i + 1 < args.size()) {
            const std::string value = args[++i];
            std::size_t end = 0;
            try {
                o.iterations = std::stoul(value, &end);
            } catch (const std::exception&) {
                return std::nullopt;
            }
            if (end != value.size() || o.iterations < batch_size * repetitions) {
                return std::nullopt;
            }
        } else {
            return std::nullopt;
        }
    }
    return o;
}

int run(const options& o) {
    std::mt19937_64 rng(20261207);  // fixed: the same messages on every run
    bytes key(64);
    for (unsigned char& b : key) {
        b = static_cast<unsigned char>(rng());
    }
    if (const auto disagreement = check_hmac_paths(std::span(key).first(32), rng)) {
        std::fprintf(stderr, "mtce-mac-bench: %s\n", disagreement->c_str());
        return 1;
    }

    const auto all = algorithms();
    schedule sched;
    std::vector<result> results;
    results.reserve(all.size());  // the schedule keeps pointers into it
    for (const algorithm& a : all) {
        const bytes k(key.begin(), key.begin() + static_cast<std::ptrdiff_t>(a.key_size));
        result& r = results.emplace_back(result{a.name, a.make(k)->tag_size(), {}, {}, {}});
        sched.add(
            o.iterations / 10, a.name + " (setup)",
            [make = a.make, k, tag_bytes = r.tag_bytes](std::size_t n) {
                std::size_t made = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    made += make(k)->tag_size() == tag_bytes ? 1 : 0;
                }
                return made;
            },
            &r.setup);
        const std::shared_ptr<mac> reused = a.make(k);
        for (const auto& [size, out] :
             {std::pair{pulse_response_bytes, &r.at_130}, std::pair{pulse_request_bytes, &r.at_190}}) {
            auto messages = std::make_shared<const std::vector<message>>(make_messages(a, k, size, rng));
            sched.add(
                o.iterations, a.name + " (" + std::to_string(size) + " B)",
                [messages, reused](std::size_t n) { return verify_each(*reused, *messages, n); }, out);
        }
    }

    const bytes k(key.begin(), key.begin() + 32);
    const evp_spec hmac_spec{"HMAC", OSSL_MAC_PARAM_DIGEST, "SHA256", {}, false};
    std::vector<batching_result> batching;
    batching.reserve(2);
    add_batching<evp_mac>(
        sched, batching.emplace_back(batching_result{all[0].name, {}, {}, {}}),
        std::make_shared<const std::vector<message>>(make_messages(all[0], k, pulse_response_bytes, rng)),
        o.iterations, [k, hmac_spec] { return std::make_unique<evp_mac>(hmac_spec, k); });
    add_batching<hmac_pads>(
        sched, batching.emplace_back(batching_result{all[1].name, {}, {}, {}}),
        std::make_shared<const std::vector<message>>(make_messages(all[1], k, pulse_response_bytes, rng)),
        o.iterations, [k] { return std::make_unique<hmac_pads>(k); });
    sched.run();

    if (o.json) {
        print_json(read_machine(), o.iterations, results, batching);
    } else {
        print_table(read_machine(), o.iterations, results, batching);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const auto o = parse(std::span(argv, static_cast<std::size_t>(argc)));
    if (!o) {
        std::fprintf(stderr,
                     "usage: mtce-mac-bench [--iterations N] [--json]\n"
                     "  N: tags verified per measurement (default %zu, at least %zu)\n",
                     default_iterations, batch_size * repetitions);
        return 2;
    }
    try {
        return run(*o);
    } catch (const verification_failure& e) {
        std::fprintf(stderr, "mtce-mac-bench: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mtce-mac-bench: %s\n", e.what());
        return 2;
    }
}
