/* Unit tests: delivered_memory (which endpoints already got an event). */
#include "delivered_memory.h"
#include "unit.h"

int main(void)
{
    struct delivered_memory *dm = delivered_memory_new(3);
    delivered_memory_add(dm, 1, "http://a/");
    delivered_memory_add(dm, 1, "http://b/");
    delivered_memory_add(dm, 1, "http://a/"); /* idempotent */
    CHECK_INT(delivered_memory_count(dm), 2);
    CHECK(delivered_memory_has(dm, 1, "http://a/"));
    CHECK(!delivered_memory_has(dm, 2, "http://a/"));
    CHECK(!delivered_memory_has(dm, 1, "http://c/"));
    delivered_memory_add(dm, 2, "http://a/");
    delivered_memory_add(dm, 3, "http://a/"); /* over capacity: the oldest goes */
    CHECK_INT(delivered_memory_count(dm), 3);
    CHECK(!delivered_memory_has(dm, 1, "http://a/"));
    CHECK(delivered_memory_has(dm, 1, "http://b/"));
    CHECK(delivered_memory_has(dm, 3, "http://a/"));
    delivered_memory_remove(dm, 1, "http://b/");
    CHECK(!delivered_memory_has(dm, 1, "http://b/"));
    CHECK_INT(delivered_memory_count(dm), 2);
    delivered_memory_free(dm);
    delivered_memory_free(NULL);
    return unit_done();
}
