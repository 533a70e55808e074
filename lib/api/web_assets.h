/*
 * web_assets — the dashboard's files (web/), embedded in the binary at build time.
 *
 * scripts/embed_assets.py (run by lib/meson.build, rebuilt whenever a file under web/
 * changes, appears or goes) generates the table and these functions; nothing is read
 * from disk at run time. The table is immutable, so any thread may read it.
 */
#ifndef EVENTHUB_WEB_ASSETS_H
#define EVENTHUB_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *path;          /* URL path: web/css/app.css is "/css/app.css" */
    const char *mime;          /* Content-Type, charset included for text */
    const unsigned char *data; /* the file's bytes (static) */
    size_t len;
    const char *etag; /* a strong validator with its quotes, from a hash of the bytes */
};

/* The asset with exactly this URL path, or NULL. */
const struct web_asset *web_asset_find(const char *path);
/* All assets, sorted by path: index 0 .. web_asset_count() - 1 (NULL past the end). */
size_t web_asset_count(void);
const struct web_asset *web_asset_at(size_t i);

#endif
