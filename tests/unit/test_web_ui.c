/*
 * Unit tests: web_ui — If-None-Match matching, and the invariants of the embedded asset
 * table (sorted, unique, found by path, index.html present) whatever web/ holds.
 */
#include "api/web_assets.h"
#include "api/web_ui.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

static void test_etag_matching(void)
{
    const char *etag = "\"abc123\"";
    CHECK(web_ui_etag_matches("\"abc123\"", etag));
    CHECK(web_ui_etag_matches("W/\"abc123\"", etag));
    CHECK(web_ui_etag_matches("*", etag));
    CHECK(web_ui_etag_matches(" * ", etag));
    CHECK(web_ui_etag_matches("\"x\", \"abc123\"", etag));
    CHECK(web_ui_etag_matches("\"x\",W/\"abc123\" ,\"y\"", etag));
    CHECK(web_ui_etag_matches("\t\"abc123\"\t", etag));
    CHECK(!web_ui_etag_matches(NULL, etag));
    CHECK(!web_ui_etag_matches("", etag));
    CHECK(!web_ui_etag_matches(" , ,", etag));
    CHECK(!web_ui_etag_matches("abc123", etag));      /* unquoted */
    CHECK(!web_ui_etag_matches("\"abc12\"", etag));   /* prefix */
    CHECK(!web_ui_etag_matches("\"abc1234\"", etag)); /* longer */
    CHECK(!web_ui_etag_matches("\"ABC123\"", etag));  /* case matters */
    CHECK(!web_ui_etag_matches("W/", etag));
    CHECK(!web_ui_etag_matches("w/\"abc123\"", etag)); /* the weak marker is "W/" */
    CHECK(!web_ui_etag_matches("**", etag));
    CHECK(!web_ui_etag_matches("\"abc123\"", NULL));
}

static void test_table(void)
{
    size_t n = web_asset_count();
    CHECK(n >= 1);
    const struct web_asset *index = web_asset_find("/index.html");
    CHECK(index != NULL);
    if (index)
        CHECK_STR(index->mime, "text/html; charset=utf-8");
    CHECK(web_asset_find("/") == NULL); /* "/" is web_ui's alias, not a file */
    CHECK(web_asset_find("/README.md") == NULL);
    CHECK(web_asset_find("/no/such/file.js") == NULL);
    CHECK(web_asset_find("index.html") == NULL);
    CHECK(web_asset_find("") == NULL);
    CHECK(web_asset_find(NULL) == NULL);
    CHECK(web_asset_at(n) == NULL);

    bool sorted = true, found = true, shaped = true;
    for (size_t i = 0; i < n; i++) {
        const struct web_asset *a = web_asset_at(i);
        if (i > 0 && strcmp(web_asset_at(i - 1)->path, a->path) >= 0)
            sorted = false;
        if (web_asset_find(a->path) != a)
            found = false;
        size_t el = strlen(a->etag);
        if (a->path[0] != '/' || a->mime[0] == '\0' || !a->data || el < 3 || a->etag[0] != '"' ||
            a->etag[el - 1] != '"') {
            printf("# malformed entry: %s\n", a->path);
            shaped = false;
        }
    }
    CHECK(sorted);
    CHECK(found);
    CHECK(shaped);
}

int main(void)
{
    test_etag_matching();
    test_table();
    return unit_done();
}
