#include "bmc/http_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <asio/experimental/as_tuple.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/system_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "bmc/curl.hpp"

namespace mtce::bmc {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
/// A BMC that takes longer than this to accept a connection is not going to answer in time anyway.
constexpr std::chrono::milliseconds max_connect_timeout{std::chrono::seconds{10}};

/// The value of header line `line` if it is header `name` (case-insensitive), without surrounding blanks.
std::optional<std::string> header_value(std::string_view line, std::string_view name) {
    if (line.size() <= name.size() || line[name.size()] != ':') {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(line[i])) !=
            std::tolower(static_cast<unsigned char>(name[i]))) {
            return std::nullopt;
        }
    }
    auto v = line.substr(name.size() + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
        v.remove_prefix(1);
    }
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ' || v.back() == '\t')) {
        v.remove_suffix(1);
    }
    return std::string{v};
}

/// Whether `fd` is ready for `events` now. Asio's reactor reports readiness edges; curl may leave bytes in
/// the socket after an action, and then no new edge would come. Checking first gives curl level semantics.
bool ready_now(int fd, short events) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (events | POLLERR | POLLHUP)) != 0;
}

}  // namespace

/// One exchange in progress: the easy handle and what it has received so far.
struct transfer {
    transfer(const curl::api& a, const asio::any_io_executor& ex)
        : api{a}, wake{ex, asio::steady_timer::time_point::max()} {}
    ~transfer() {
        if (headers != nullptr) {
            api.slist_free_all(headers);
        }
        if (easy != nullptr) {
            api.easy_cleanup(easy);
        }
    }
    transfer(const transfer&) = delete;
    transfer& operator=(const transfer&) = delete;

    const curl::api& api;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    std::chrono::milliseconds timeout{0};
    http_response response;
    bool too_large = false;
    std::array<char, CURL_ERROR_SIZE> errbuf{};
    std::optional<http_result> outcome;  ///< set once the transfer ended
    asio::steady_timer wake;             ///< cancelled when `outcome` is set, to wake the awaiting request

    static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self) {
        auto* t = static_cast<transfer*>(self);
        const std::size_t bytes = size * n;
        if (t->response.body.size() + bytes > max_http_body) {
            t->too_large = true;
            return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
        }
        t->response.body.append(data, bytes);
        return bytes;
    }

    static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) {
        auto* t = static_cast<transfer*>(self);
        const std::string_view line{data, size * n};
        if (line.starts_with("HTTP/")) {  // a new answer (after an interim 1xx): forget the previous headers
            t->response.auth_token.clear();
            t->response.location.clear();
        } else if (auto token = header_value(line, "X-Auth-Token")) {
            t->response.auth_token = std::move(*token);
        } else if (auto location = header_value(line, "Location")) {
            t->response.location = std::move(*location);
        }
        return size * n;
    }
};

/// The multi handle, the sockets curl asked to watch and its timer. Shared with the handlers Asio holds,
/// which may run after the client is gone: they keep only a weak reference and do nothing then.
class http_client::impl : public std::enable_shared_from_this<http_client::impl> {
public:
    impl(asio::any_io_executor ex, std::filesystem::path ca_file)
        : ex_{std::move(ex)}, ca_file_{std::move(ca_file)}, timer_{ex_} {}
    ~impl() { close(); }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    tl::expected<void, std::string> load() {
        if (multi_ != nullptr) {
            return {};
        }
        auto a = curl::load();
        if (!a) {
            return tl::unexpected{a.error()};
        }
        api_ = *a;
        multi_ = api_->multi_init();
        if (multi_ == nullptr) {
            return tl::unexpected{std::string{"curl_multi_init failed"}};
        }
        (void)api_->multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &impl::on_socket);
        (void)api_->multi_setopt(multi_, CURLMOPT_SOCKETDATA, static_cast<void*>(this));
        (void)api_->multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &impl::on_timer);
        (void)api_->multi_setopt(multi_, CURLMOPT_TIMERDATA, static_cast<void*>(this));
        return {};
    }

    tl::expected<std::shared_ptr<transfer>, error> start(const http_request& req,
                                                         const asio::any_io_executor& ex) {
        if (closed_) {
            return tl::unexpected{error{errc::unreachable, 0, "the HTTP client is closed"}};
        }
        if (auto loaded = load(); !loaded) {
            return tl::unexpected{error{errc::unsupported, 0, loaded.error()}};
        }
        auto t = std::make_shared<transfer>(*api_, ex);
        t->easy = api_->easy_init();
        if (t->easy == nullptr) {
            return tl::unexpected{
                error{errc::unreachable, 0, "cannot start an HTTP transfer (curl_easy_init)"}};
        }
        t->timeout = req.timeout;
        configure(*t, req);
        if (const CURLMcode mc = api_->multi_add_handle(multi_, t->easy); mc != CURLM_OK) {
            return tl::unexpected{
                error{errc::unreachable, 0,
                      std::string{"cannot start an HTTP transfer: "} + api_->multi_strerror(mc)}};
        }
        transfers_.emplace(t->easy, t);
        return t;
    }

    /// The awaiting request was cancelled: stop its transfer.
    void abandon(const std::shared_ptr<transfer>& t) {
        if (transfers_.erase(t->easy) > 0 && multi_ != nullptr) {
            (void)api_->multi_remove_handle(multi_, t->easy);
        }
    }

    void close() {
        if (closed_) {
            return;
        }
        closed_ = true;
        auto all = std::move(transfers_);
        transfers_.clear();
        for (auto& [easy, t] : all) {
            (void)api_->multi_remove_handle(multi_, easy);
            t->outcome = tl::unexpected{error{errc::unreachable, 0, "the HTTP client was closed"}};
            t->wake.cancel();
        }
        if (multi_ != nullptr) {
            (void)api_->multi_cleanup(multi_);
            multi_ = nullptr;
        }
        for (auto& [fd, w] : sockets_) {
            w->closed = true;
            asio::error_code ec;
            w->desc.close(ec);
        }
        sockets_.clear();
        timer_.cancel();
    }

    [[nodiscard]] std::size_t in_flight() const { return transfers_.size(); }
    [[nodiscard]] const asio::any_io_executor& executor() const { return ex_; }

private:
    /// A socket curl asked to watch, through a duplicate of its descriptor: curl closes its own, and the
    /// duplicate keeps Asio's registration valid until curl says to stop watching.
    struct watched {
        watched(const asio::any_io_executor& ex, int dup, curl_socket_t s) : desc{ex, dup}, fd{s} {}
        asio::posix::stream_descriptor desc;
        curl_socket_t fd;
        int what = 0;
        bool reading = false;
        bool writing = false;
        bool closed = false;
    };

    void configure(transfer& t, const http_request& req) {
        CURL* e = t.easy;
        const auto& a = *api_;
        (void)a.easy_setopt(e, CURLOPT_URL, req.url.c_str());
        (void)a.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        (void)a.easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
        (void)a.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                            static_cast<long>(std::min(req.timeout, max_connect_timeout).count()));
        (void)a.easy_setopt(e, CURLOPT_PROXY, "");  // "" also ignores http(s)_proxy from the environment
        (void)a.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        (void)a.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");  // unknown to libcurl < 7.85: then ignored
        (void)a.easy_setopt(e, CURLOPT_SSL_VERIFYPEER, req.verify_tls ? 1L : 0L);
        (void)a.easy_setopt(e, CURLOPT_SSL_VERIFYHOST, req.verify_tls ? 2L : 0L);
        if (req.verify_tls && !ca_file_.empty()) {
            (void)a.easy_setopt(e, CURLOPT_CAINFO, ca_file_.c_str());
        }
        (void)a.easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf.data());
        (void)a.easy_setopt(e, CURLOPT_WRITEFUNCTION, &transfer::on_body);
        (void)a.easy_setopt(e, CURLOPT_WRITEDATA, static_cast<void*>(&t));
        (void)a.easy_setopt(e, CURLOPT_HEADERFUNCTION, &transfer::on_header);
        (void)a.easy_setopt(e, CURLOPT_HEADERDATA, static_cast<void*>(&t));
        (void)a.easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_http_body));
        (void)a.easy_setopt(e, CURLOPT_USERAGENT, "mtce");
        if (!req.username.empty()) {
            (void)a.easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
            (void)a.easy_setopt(e, CURLOPT_USERNAME, req.username.c_str());
            (void)a.easy_setopt(e, CURLOPT_PASSWORD, req.password.c_str());
        }
        if (req.method == "GET") {
            (void)a.easy_setopt(e, CURLOPT_HTTPGET, 1L);
        } else {
            if (req.method != "POST") {
                (void)a.easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
            }
            if (req.method != "DELETE" || !req.body.empty()) {
                (void)a.easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
                (void)a.easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req.body.c_str());
            }
        }
        curl_slist* h = nullptr;
        h = a.slist_append(h, "Accept: application/json");
        h = a.slist_append(h, "OData-Version: 4.0");
        h = a.slist_append(h, "Expect:");  // no 100-continue round trip for small bodies
        if (!req.body.empty()) {
            h = a.slist_append(h, "Content-Type: application/json");
        }
        for (const auto& line : req.headers) {
            h = a.slist_append(h, line.c_str());
        }
        t.headers = h;
        (void)a.easy_setopt(e, CURLOPT_HTTPHEADER, h);
    }

    static int on_socket(CURL* /*easy*/, curl_socket_t s, int what, void* self, void* /*socketp*/) {
        static_cast<impl*>(self)->watch(s, what);
        return 0;
    }

    static int on_timer(CURLM* /*multi*/, long timeout_ms, void* self) {
        auto* me = static_cast<impl*>(self);
        if (me->closed_) {
            return 0;
        }
        if (timeout_ms < 0) {
            me->timer_.cancel();
            return 0;
        }
        // Never act from inside curl's callback: a zero timeout runs on the next turn of the loop.
        me->timer_.expires_after(std::chrono::milliseconds{timeout_ms});
        me->timer_.async_wait([weak = me->weak_from_this()](asio::error_code ec) {
            auto s = weak.lock();
            if (ec || !s) {
                return;
            }
            s->act(CURL_SOCKET_TIMEOUT, 0);
        });
        return 0;
    }

    void watch(curl_socket_t s, int what) {
        auto it = sockets_.find(s);
        if (what == CURL_POLL_REMOVE) {
            if (it != sockets_.end()) {
                it->second->closed = true;
                asio::error_code ec;
                it->second->desc.close(ec);
                sockets_.erase(it);
            }
            return;
        }
        if (closed_) {
            return;
        }
        if (it == sockets_.end()) {
            const int dup = ::fcntl(s, F_DUPFD_CLOEXEC, 0);
            if (dup < 0) {
                return;  // curl's own timeout ends the transfer
            }
            it = sockets_.emplace(s, std::make_shared<watched>(ex_, dup, s)).first;
        }
        it->second->what = what;
        arm(it->second);
    }

    void arm(const std::shared_ptr<watched>& w) {
        if ((w->what & CURL_POLL_IN) != 0 && !w->reading) {
            wait_for(w, /*write=*/false);
        }
        if ((w->what & CURL_POLL_OUT) != 0 && !w->writing) {
            wait_for(w, /*write=*/true);
        }
    }

    void wait_for(const std::shared_ptr<watched>& w, bool write) {
        (write ? w->writing : w->reading) = true;
        auto on_ready = [weak = weak_from_this(), w, write](asio::error_code ec) {
            (write ? w->writing : w->reading) = false;
            auto s = weak.lock();
            if (ec || !s || w->closed) {
                return;
            }
            s->act(w->fd, write ? CURL_CSELECT_OUT : CURL_CSELECT_IN);
            if (!w->closed && !s->closed_) {
                s->arm(w);
            }
        };
        if (ready_now(w->fd, write ? POLLOUT : POLLIN)) {
            asio::post(ex_, [h = std::move(on_ready)]() mutable { h(asio::error_code{}); });
        } else {
            w->desc.async_wait(write ? asio::posix::stream_descriptor::wait_write
                                     : asio::posix::stream_descriptor::wait_read,
                               std::move(on_ready));
        }
    }

    void act(curl_socket_t s, int flags) {
        if (closed_) {
            return;
        }
        int running = 0;
        (void)api_->multi_socket_action(multi_, s, flags, &running);
        collect();
    }

    void collect() {
        int left = 0;
        while (CURLMsg* m = api_->multi_info_read(multi_, &left)) {
            if (m->msg != CURLMSG_DONE) {
                continue;
            }
            CURL* easy = m->easy_handle;  // m is invalid once the handle is removed
            const CURLcode rc = m->data.result;
            finish(easy, rc);
        }
    }

    void finish(CURL* easy, CURLcode rc) {
        (void)api_->multi_remove_handle(multi_, easy);
        auto it = transfers_.find(easy);
        if (it == transfers_.end()) {
            return;
        }
        auto t = std::move(it->second);
        transfers_.erase(it);
        t->outcome = outcome_of(*t, rc);
        t->wake.cancel();
    }

    [[nodiscard]] http_result outcome_of(transfer& t, CURLcode rc) const {
        if (rc == CURLE_OK) {
            long status = 0;
            (void)api_->easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
            t.response.status = status;
            return std::move(t.response);
        }
        // curl's own words: its error buffer names the host and port (never credentials, which are not in the
        // URL), else the code's description.
        const std::string why = t.errbuf[0] != '\0' ? std::string{t.errbuf.data()} : api_->easy_strerror(rc);
        auto failed = failure(t, rc, why);
        // Not one byte of the request went out (no connection, no TLS session): it never reached the BMC.
        long sent = 0;
        if (api_->easy_getinfo(t.easy, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent == 0) {
            failed.may_have_reached = false;
        }
        return tl::unexpected{std::move(failed)};
    }

    [[nodiscard]] static error failure(const transfer& t, CURLcode rc, const std::string& why) {
        switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
            return error{errc::timeout, 0,
                         "no answer within " + std::to_string(t.timeout.count()) + " ms: " + why};
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            return error{errc::tls, 0, "TLS: " + why};
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
            if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
                return error{errc::bad_answer, 0, "the answer is larger than 1 MiB"};
            }
            return error{errc::unreachable, 0, why};
        default:
            return error{errc::unreachable, 0, why};
        }
    }

    asio::any_io_executor ex_;
    std::filesystem::path ca_file_;
    asio::steady_timer timer_;
    const curl::api* api_ = nullptr;
    CURLM* multi_ = nullptr;
    std::unordered_map<CURL*, std::shared_ptr<transfer>> transfers_;
    std::unordered_map<curl_socket_t, std::shared_ptr<watched>> sockets_;
    bool closed_ = false;
};

http_client::http_client(asio::any_io_executor ex, std::filesystem::path ca_file)
    : impl_{std::make_shared<impl>(std::move(ex), std::move(ca_file))} {}

http_client::~http_client() {
    impl_->close();
}

tl::expected<void, std::string> http_client::load() {
    return impl_->load();
}

asio::awaitable<http_result> http_client::perform(http_request request) {
    auto table = impl_;  // the frame keeps the transfer table alive, even past the client
    const auto ex = co_await asio::this_coro::executor;
    auto started = table->start(request, ex);
    if (!started) {
        co_return tl::unexpected{started.error()};
    }
    auto t = std::move(*started);
    if (!t->outcome) {
        auto [ec] = co_await t->wake.async_wait(use_tuple);
        (void)ec;  // cancelled by the transfer's end, or by the caller's cancellation: `outcome` tells
    }
    if (!t->outcome) {
        table->abandon(t);
        throw asio::system_error{asio::error::operation_aborted};
    }
    co_return std::move(*t->outcome);
}

void http_client::perform_detached(const http_request& request) {
    (void)impl_->start(request, impl_->executor());
}

std::size_t http_client::in_flight() const {
    return impl_->in_flight();
}

}  // namespace mtce::bmc
