/* Unit tests: delivered_memory (which endpoints already got an event; failure counts). */
#include "delivery/delivered_memory.h"
#include "unit.h"

static uint64_t id(const char *url)
{
    return delivered_memory_endpoint_id(url, NULL, 0);
}

static void test_pairs_and_capacity(void)
{
    struct delivered_memory *dm = delivered_memory_new(3);
    delivered_memory_add(dm, 1, id("http://a/"), 200);
    delivered_memory_add(dm, 1, id("http://b/"), 200);
    delivered_memory_add(dm, 1, id("http://a/"), 200); /* idempotent; makes it the newest */
    CHECK_INT(delivered_memory_count(dm), 2);
    /* The 2xx each answered is remembered with it (dead-letter records show it). */
    delivered_memory_add(dm, 1, id("http://b/"), 204);
    CHECK_INT(delivered_memory_status(dm, 1, id("http://b/")), 204);
    CHECK_INT(delivered_memory_status(dm, 1, id("http://a/")), 200);
    CHECK_INT(delivered_memory_status(dm, 1, id("http://c/")), 0);
    delivered_memory_add(dm, 1, id("http://a/"), 0); /* unknown: keeps what it had */
    CHECK_INT(delivered_memory_status(dm, 1, id("http://a/")), 200);
    CHECK(delivered_memory_has(dm, 1, id("http://a/")));
    CHECK(!delivered_memory_has(dm, 2, id("http://a/")));
    CHECK(!delivered_memory_has(dm, 1, id("http://c/")));
    delivered_memory_add(dm, 2, id("http://a/"), 200);
    delivered_memory_add(dm, 3, id("http://a/"), 200); /* over capacity: the oldest goes */
    CHECK_INT(delivered_memory_count(dm), 3);
    CHECK(!delivered_memory_has(dm, 1, id("http://b/")));
    CHECK(delivered_memory_has(dm, 1, id("http://a/")));
    CHECK(delivered_memory_has(dm, 3, id("http://a/")));
    delivered_memory_remove(dm, 1, id("http://a/"));
    CHECK(!delivered_memory_has(dm, 1, id("http://a/")));
    CHECK_INT(delivered_memory_count(dm), 2);
    delivered_memory_free(dm);
    delivered_memory_free(NULL);
}

/* Two endpoints of one route may share a URL and differ by their headers. */
static void test_identity_includes_headers(void)
{
    const char *a[] = {"X-Target: a"};
    const char *b[] = {"X-Target: b"};
    const char *ab[] = {"X-T", "arget: a"};
    uint64_t ida = delivered_memory_endpoint_id("http://gw/", a, 1);
    uint64_t idb = delivered_memory_endpoint_id("http://gw/", b, 1);
    CHECK(ida != idb);
    CHECK(ida != delivered_memory_endpoint_id("http://gw/", ab, 2));
    CHECK(ida != delivered_memory_endpoint_id("http://gw/", NULL, 0));
    struct delivered_memory *dm = delivered_memory_new(8);
    delivered_memory_add(dm, 7, ida, 200);
    CHECK(delivered_memory_has(dm, 7, ida));
    CHECK(!delivered_memory_has(dm, 7, idb));
    delivered_memory_free(dm);
}

static void test_failures(void)
{
    struct delivered_memory *dm = delivered_memory_new(3);
    CHECK_INT(delivered_memory_failures(dm, 5), 0);
    delivered_memory_set_failures(dm, 5, 1);
    delivered_memory_set_failures(dm, 5, 2);
    CHECK_INT(delivered_memory_failures(dm, 5), 2);
    CHECK_INT(delivered_memory_count(dm), 1);
    /* An update makes the entry the newest: two newer entries, then one more, and the
     * updated count is still there while the older pair went first. */
    delivered_memory_add(dm, 6, id("http://a/"), 200);
    delivered_memory_add(dm, 6, id("http://b/"), 200);
    delivered_memory_set_failures(dm, 5, 3); /* touched */
    delivered_memory_add(dm, 6, id("http://c/"), 200);
    CHECK_INT(delivered_memory_failures(dm, 5), 3);
    CHECK(!delivered_memory_has(dm, 6, id("http://a/")));
    delivered_memory_set_failures(dm, 5, 0);
    CHECK_INT(delivered_memory_failures(dm, 5), 0);
    delivered_memory_free(dm);
}

int main(void)
{
    test_pairs_and_capacity();
    test_identity_includes_headers();
    test_failures();
    return unit_done();
}
