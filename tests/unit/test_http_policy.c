/*
 * Unit tests: http_policy — Host parsing and the allowlist, same-origin, the JSON media
 * type, the allowed_hosts entries, and the three rule groups over request heads
 * (the HTTP side is covered by tests/integration/test_http_guard.py and
 * test_http_errors.py).
 */
#include "core/hostname.h"
#include "http/http_policy.h"
#include "unit.h"

#include <string.h>
#include <unistd.h>

static enum host_class parse(const char *host, char *name, int *port)
{
    return hostname_parse_host(host, strlen(host), name, 256, port);
}

static void test_parse_host(void)
{
    char name[256];
    int port;
    CHECK(parse("Example.COM", name, &port) == HOST_NAME);
    CHECK_STR(name, "example.com");
    CHECK_INT(port, -1);
    CHECK(parse("example.com.:8080", name, &port) == HOST_NAME);
    CHECK_STR(name, "example.com");
    CHECK_INT(port, 8080);
    CHECK(parse("127.0.0.1:80", name, &port) == HOST_IP && port == 80);
    CHECK(parse("10.1.2.3", name, &port) == HOST_IP && port == -1);
    CHECK(parse("[::1]:8080", name, &port) == HOST_IP && port == 8080);
    CHECK(parse("[fe80::1]", name, &port) == HOST_IP && port == -1);
    CHECK(parse("", name, &port) == HOST_MALFORMED);
    CHECK(parse(":80", name, &port) == HOST_MALFORMED);
    CHECK(parse("a.example:", name, &port) == HOST_MALFORMED);
    CHECK(parse("a.example:80x", name, &port) == HOST_MALFORMED);
    CHECK(parse("a.example:65536", name, &port) == HOST_MALFORMED);
    CHECK(parse("a.example:80:81", name, &port) == HOST_MALFORMED);
    CHECK(parse("[::1", name, &port) == HOST_MALFORMED);
    CHECK(parse("[::1]x", name, &port) == HOST_MALFORMED);
    CHECK(parse("[not-v6]", name, &port) == HOST_MALFORMED);
    CHECK(parse("a b", name, &port) == HOST_MALFORMED);
    CHECK(parse("a_b.example", name, &port) == HOST_MALFORMED);
    /* Not dotted-quad: neither an IP literal nor a host name (last label all digits). */
    CHECK(parse("127.1", name, &port) == HOST_MALFORMED);
    CHECK(parse("2130706433", name, &port) == HOST_MALFORMED);
}

static void test_allowlist(void)
{
    const char *const extra[] = {"eventhub.example.com", "*.svc.cluster.local", "10.0.0.1"};
    struct http_policy *p = http_policy_new(extra, 3);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK(http_policy_host_allowed(p, NULL));
    CHECK(http_policy_host_allowed(p, ""));
    CHECK(http_policy_host_allowed(p, "localhost"));
    CHECK(http_policy_host_allowed(p, "LOCALHOST:8080"));
    CHECK(http_policy_host_allowed(p, "localhost."));
    CHECK(http_policy_host_allowed(p, "127.0.0.1:8080"));
    CHECK(http_policy_host_allowed(p, "127.45.6.7"));
    CHECK(http_policy_host_allowed(p, "[::1]:8080"));
    CHECK(http_policy_host_allowed(p, "192.0.2.10:8080")); /* any IP literal */
    CHECK(http_policy_host_allowed(p, "eventhub.example.com"));
    CHECK(http_policy_host_allowed(p, "EventHub.Example.com:443"));
    CHECK(http_policy_host_allowed(p, "eventhub.ns.svc.cluster.local"));
    CHECK(!http_policy_host_allowed(p, "svc.cluster.local")); /* subdomains only */
    CHECK(!http_policy_host_allowed(p, "evilsvc.cluster.local"));
    CHECK(!http_policy_host_allowed(p, "attacker.example"));
    CHECK(!http_policy_host_allowed(p, "attacker.example:8080"));
    CHECK(!http_policy_host_allowed(p, "localhost.attacker.example"));
    CHECK(!http_policy_host_allowed(p, "eventhub.example.com.attacker.example"));
    CHECK(!http_policy_host_allowed(p, "a b"));
    /* The machine's own name and its short form. */
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) == 0 && host[0]) {
        CHECK(http_policy_host_allowed(p, host));
        char *dot = strchr(host, '.');
        if (dot) {
            *dot = '\0';
            CHECK(http_policy_host_allowed(p, host));
        }
    }
    CHECK(strstr(http_policy_describe(p), "localhost") != NULL);
    CHECK(strstr(http_policy_describe(p), "*.svc.cluster.local") != NULL);
    http_policy_free(p);

    const char *const star[] = {"*"};
    p = http_policy_new(star, 1);
    CHECK(p && http_policy_host_allowed(p, "anything.example"));
    http_policy_free(p);
    http_policy_free(NULL);
}

static void test_same_origin(void)
{
    CHECK(http_policy_same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
    CHECK(http_policy_same_origin("http://localhost:8080", "LocalHost:8080"));
    CHECK(http_policy_same_origin("http://eventhub.example.com", "eventhub.example.com"));
    CHECK(http_policy_same_origin("http://eventhub.example.com", "eventhub.example.com:80"));
    /* Behind a TLS proxy that keeps Host. */
    CHECK(http_policy_same_origin("https://eventhub.example.com", "eventhub.example.com"));
    CHECK(http_policy_same_origin("https://eventhub.example.com", "eventhub.example.com:443"));
    CHECK(http_policy_same_origin("http://[::1]:8080", "[::1]:8080"));
    CHECK(!http_policy_same_origin("https://eventhub.example.com", "eventhub.example.com:80"));
    CHECK(!http_policy_same_origin("http://127.0.0.1:9999", "127.0.0.1:8080")); /* same-site */
    CHECK(!http_policy_same_origin("http://127.0.0.2:8080", "127.0.0.1:8080"));
    CHECK(!http_policy_same_origin("http://localhost:8080", "127.0.0.1:8080"));
    CHECK(!http_policy_same_origin("http://attacker.example:8080", "127.0.0.1:8080"));
    CHECK(!http_policy_same_origin("null", "127.0.0.1:8080"));
    CHECK(!http_policy_same_origin("file://", "127.0.0.1:8080"));
    CHECK(!http_policy_same_origin("http://127.0.0.1:8080/", "127.0.0.1:8080"));
    CHECK(!http_policy_same_origin("http://127.0.0.1:8080", NULL));
    CHECK(!http_policy_same_origin("http://127.0.0.1:8080", ""));
    CHECK(!http_policy_same_origin(NULL, "127.0.0.1:8080"));
}

static void test_json_and_entries(void)
{
    CHECK(http_policy_is_json("application/json"));
    CHECK(http_policy_is_json("Application/JSON; charset=utf-8"));
    CHECK(http_policy_is_json(" application/json ;charset=utf-8"));
    CHECK(!http_policy_is_json(NULL));
    CHECK(!http_policy_is_json(""));
    CHECK(!http_policy_is_json("text/plain"));
    CHECK(!http_policy_is_json("application/x-www-form-urlencoded"));
    CHECK(!http_policy_is_json("multipart/form-data; boundary=x"));
    CHECK(!http_policy_is_json("application/jsonp"));
    CHECK(!http_policy_is_json("application/json-patch+json"));

    CHECK(hostname_allowed_entry_problem("*") == NULL);
    CHECK(hostname_allowed_entry_problem("eventhub.example.com") == NULL);
    CHECK(hostname_allowed_entry_problem("eventhub") == NULL);
    CHECK(hostname_allowed_entry_problem("*.example.com") == NULL);
    CHECK(hostname_allowed_entry_problem("10.0.0.1") == NULL);
    CHECK(hostname_allowed_entry_problem("[::1]") == NULL);
    CHECK(hostname_allowed_entry_problem("http://a.example") != NULL);
    CHECK(hostname_allowed_entry_problem("a.example:8080") != NULL);
    CHECK(hostname_allowed_entry_problem("*example.com") != NULL);
    CHECK(hostname_allowed_entry_problem("*.") != NULL);
    CHECK(hostname_allowed_entry_problem("a..example") != NULL);
    CHECK(hostname_allowed_entry_problem("a/b") != NULL);
}

/* A well-formed HTTP/1.1 head with a Host. */
static struct http_head head(const char *host)
{
    struct http_head h = {0};
    h.target_len = 10;
    h.header_fields = 2;
    h.header_bytes = 40;
    h.host = host;
    h.host_count = host ? 1 : 0;
    return h;
}

static int framing_status(const struct http_head *h)
{
    struct http_verdict v = {0};
    return http_policy_check_framing(h, &v) ? 0 : v.status;
}

static void test_framing(void)
{
    struct http_head h = head("127.0.0.1:8080");
    CHECK_INT(framing_status(&h), 0);
    h.target_len = HTTP_MAX_TARGET_BYTES;
    CHECK_INT(framing_status(&h), 0);
    h.target_len = HTTP_MAX_TARGET_BYTES + 1;
    CHECK_INT(framing_status(&h), 414);
    h = head("a");
    h.header_bytes = HTTP_MAX_HEADER_BYTES + 1;
    CHECK_INT(framing_status(&h), 431);
    h = head("a");
    h.header_fields = HTTP_MAX_HEADER_FIELDS + 1;
    CHECK_INT(framing_status(&h), 431);
    h = head("a");
    h.host_count = 2;
    CHECK_INT(framing_status(&h), 400);
    h = head(NULL);
    CHECK_INT(framing_status(&h), 400); /* HTTP/1.1 without Host */
    h.http10 = true;
    CHECK_INT(framing_status(&h), 0);
    h = head("a");
    h.content_length = "3";
    h.content_length_count = 2;
    CHECK_INT(framing_status(&h), 400);
    h.content_length_count = 1;
    CHECK_INT(framing_status(&h), 0);
    h.transfer_encoding = "chunked";
    h.transfer_encoding_count = 1;
    CHECK_INT(framing_status(&h), 400); /* both */
    h.content_length_count = 0;
    CHECK_INT(framing_status(&h), 0);
    h.transfer_encoding = "Chunked";
    CHECK_INT(framing_status(&h), 0);
    /* libmicrohttpd compares the value exactly: a padded one it would not frame as chunked */
    h.transfer_encoding = "chunked\t";
    CHECK_INT(framing_status(&h), 501);
    h.transfer_encoding = " Chunked ";
    CHECK_INT(framing_status(&h), 501);
    h.transfer_encoding = "chunked";
    h.bad_field = true; /* "Transfer-Encoding : chunked" */
    CHECK_INT(framing_status(&h), 400);
    h.bad_field = false;
    CHECK(http_policy_field_name_ok("Transfer-Encoding"));
    CHECK(http_policy_field_name_ok("X-Custom_1!"));
    CHECK(!http_policy_field_name_ok("Transfer-Encoding "));
    CHECK(!http_policy_field_name_ok("Bad\tName"));
    CHECK(!http_policy_field_name_ok(""));
    CHECK(!http_policy_field_name_ok("a:b"));
    h.transfer_encoding = "gzip, chunked";
    CHECK_INT(framing_status(&h), 501);
    h.transfer_encoding = "identity";
    CHECK_INT(framing_status(&h), 501);
    h.transfer_encoding = "chunked";
    h.transfer_encoding_count = 2;
    CHECK_INT(framing_status(&h), 400);
}

static int control_status(const struct http_head *h, bool mutating, const char **error)
{
    struct http_verdict v = {0};
    bool ok = http_policy_check_control(h, mutating, &v);
    *error = ok ? "" : v.error;
    return ok ? 0 : v.status;
}

static void test_control(void)
{
    const char *err;
    struct http_head h = head("127.0.0.1:8080");
    /* A read from curl, a script, Prometheus: no browser headers. */
    CHECK_INT(control_status(&h, false, &err), 0);
    /* A mutation needs the JSON content type, body or not. */
    CHECK_INT(control_status(&h, true, &err), 415);
    CHECK_STR(err, "unsupported_media_type");
    h.content_type = "text/plain";
    CHECK_INT(control_status(&h, true, &err), 415);
    h.content_type = "application/json";
    CHECK_INT(control_status(&h, true, &err), 0);
    /* The dashboard itself: same origin. */
    h.origin = "http://127.0.0.1:8080";
    h.sec_fetch_site = "same-origin";
    CHECK_INT(control_status(&h, true, &err), 0);
    h.sec_fetch_site = "none"; /* typed into the address bar */
    CHECK_INT(control_status(&h, false, &err), 0);
    /* Another site, another port of the same host (same-site), another origin. */
    h.sec_fetch_site = "cross-site";
    CHECK_INT(control_status(&h, false, &err), 403);
    CHECK_STR(err, "cross_origin");
    h.sec_fetch_site = "Same-Site";
    CHECK_INT(control_status(&h, true, &err), 403);
    h.sec_fetch_site = NULL; /* an older browser: Origin alone */
    h.origin = "http://127.0.0.2:8080";
    CHECK_INT(control_status(&h, true, &err), 403);
    h.origin = "null";
    CHECK_INT(control_status(&h, false, &err), 403);
    /* cross_origin comes before the media type. */
    h.origin = "http://attacker.example";
    h.content_type = "text/plain";
    CHECK_INT(control_status(&h, true, &err), 403);
}

static void test_host_rule(void)
{
    struct http_policy *p = http_policy_new(NULL, 0);
    struct http_verdict v = {0};
    struct http_head h = head("attacker.example:8080");
    CHECK(!http_policy_check_host(p, &h, &v));
    CHECK_INT(v.status, 421);
    CHECK_STR(v.error, "misdirected_request");
    h = head("a b");
    CHECK(!http_policy_check_host(p, &h, &v));
    CHECK_INT(v.status, 400);
    h = head("localhost:8080");
    CHECK(http_policy_check_host(p, &h, &v));
    h = head(NULL);
    CHECK(http_policy_check_host(p, &h, &v));
    CHECK(http_policy_check_host(NULL, &h, &v));
    http_policy_free(p);
}

int main(void)
{
    test_parse_host();
    test_allowlist();
    test_same_origin();
    test_json_and_entries();
    test_framing();
    test_control();
    test_host_rule();
    return unit_done();
}
