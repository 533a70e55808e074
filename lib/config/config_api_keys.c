/* config_api_keys — see config_api_keys.h. */
#include "config/config_api_keys.h"

#include "config/api_keys.h"
#include "config/config.h"
#include "config/config_yaml.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

static const char *name_problem(const char *name)
{
    if (strlen(name) > API_KEY_NAME_MAX)
        return "is longer than 64 characters";
    if (strcmp(name, "_other") == 0) /* the metrics series of names past the cap */
        return "\"_other\" is reserved";
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok)
            return "may hold only letters, digits, '_', '-' and '.'";
    }
    return NULL;
}

/* The key's text: never quoted in a message, hashed, then wiped. */
static void map_key_text(struct cfg_ctx *ctx, struct api_key *k, yaml_node_t *node,
                         const char *path, bool *have)
{
    char *text = cfg_scalar(ctx, node, path);
    if (!text)
        return;
    size_t len = strlen(text);
    bool printable = true;
    for (size_t i = 0; i < len; i++)
        printable = printable && (unsigned char)text[i] > 0x20 && (unsigned char)text[i] < 0x7f;
    if (len < API_KEY_MIN_LEN || len > API_KEY_MAX_LEN)
        cfg_error(ctx, cfg_line(node), path,
                  "must be %d to %d characters long (it is %zu); use a random key, "
                  "e.g. openssl rand -hex 32",
                  API_KEY_MIN_LEN, API_KEY_MAX_LEN, len);
    else if (!printable)
        cfg_error(ctx, cfg_line(node), path,
                  "may hold only visible ASCII characters (no spaces, no control characters)");
    else if (!api_key_digest(text, len, k->digest))
        cfg_oom(ctx);
    else
        *have = true;
    OPENSSL_cleanse(text, len);
    free(text);
}

/* One entry; true when it has a usable key (its digest is set). */
static bool map_api_key(struct cfg_ctx *ctx, struct api_key *k, yaml_node_t *node, const char *path)
{
    static const char *const keys[] = {"name", "key", "domains", NULL};
    k->line = cfg_line(node);
    if (node->type != YAML_MAPPING_NODE) {
        cfg_error(ctx, k->line, path, "expected a mapping {name, key, domains}, got %s",
                  cfg_kind(node));
        return false;
    }
    bool have_name = false, have_key = false, key_ok = false;
    size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_pair_t *pair = &node->data.mapping.pairs.start[i];
        yaml_node_t *key = cfg_node(ctx, pair->key), *v = cfg_node(ctx, pair->value);
        const char *name =
            key->type == YAML_SCALAR_NODE ? (const char *)key->data.scalar.value : "?";
        char child[CFG_PATH_MAX];
        cfg_child_path(child, path, name);
        if (cfg_pair_is_dup(ctx, node, i, child, false))
            continue;
        if (strcmp(name, "name") == 0) {
            have_name = true;
            k->name = cfg_is_null(v) ? cfg_strdup(ctx, "") : cfg_scalar(ctx, v, child);
            const char *why = !k->name    ? NULL
                              : !*k->name ? "must not be empty"
                                          : name_problem(k->name);
            if (why) {
                cfg_error(ctx, cfg_line(v), child, "%s", why);
                free(k->name);
                k->name = NULL;
            }
        } else if (strcmp(name, "key") == 0) {
            have_key = true;
            map_key_text(ctx, k, v, child, &key_ok);
        } else if (strcmp(name, "domains") == 0) {
            cfg_get_optional_list(ctx, v, child, api_key_pattern_problem, "domain", "domains",
                                  &k->domains, &k->domain_count);
        } else {
            cfg_unknown_key(ctx, keys, cfg_line(key), name, child);
        }
    }
    if (!have_name)
        cfg_error(ctx, k->line, path, "missing required key \"name\"");
    if (!have_key)
        cfg_error(ctx, k->line, path, "missing required key \"key\"");
    return key_ok;
}

void cfg_map_api_keys(struct cfg_ctx *ctx, const struct cfg_field *f, struct cfg_rec *rec,
                      yaml_node_t *value, const char *path)
{
    (void)f;
    (void)rec;
    struct config *cfg = ctx->cfg;
    if (cfg_is_null(value))
        return;
    if (value->type != YAML_SEQUENCE_NODE) {
        cfg_error(ctx, cfg_line(value), path, "expected a list of {name, key, domains}, got %s",
                  cfg_kind(value));
        return;
    }
    size_t n = (size_t)(value->data.sequence.items.top - value->data.sequence.items.start);
    if (n == 0)
        return;
    if (n > API_KEY_MAX_COUNT) {
        cfg_error(ctx, cfg_line(value), path, "too many keys (at most %d)", API_KEY_MAX_COUNT);
        return;
    }
    cfg->ingress.api_keys = calloc(n, sizeof *cfg->ingress.api_keys);
    bool *usable = calloc(n, sizeof *usable);
    if (!cfg->ingress.api_keys || !usable) {
        free(usable);
        cfg_oom(ctx);
        return;
    }
    cfg->ingress.api_key_count = n;
    for (size_t i = 0; i < n; i++) {
        char ipath[CFG_PATH_MAX];
        cfg_index_path(ipath, path, i);
        struct api_key *k = &cfg->ingress.api_keys[i];
        usable[i] = map_api_key(ctx, k, cfg_node(ctx, value->data.sequence.items.start[i]), ipath);
        /* Names and keys are unique: a name is what every record shows, and one key
         * text with two scopes would be ambiguous. */
        for (size_t j = 0; j < i; j++) {
            const struct api_key *o = &cfg->ingress.api_keys[j];
            char child[CFG_PATH_MAX];
            if (k->name && o->name && cfg_ascii_casecmp(k->name, o->name) == 0) {
                cfg_child_path(child, ipath, "name");
                cfg_error(ctx, k->line, child, "duplicate name \"%s\" (first at line %d)", k->name,
                          o->line);
            }
            if (usable[i] && usable[j] && memcmp(k->digest, o->digest, sizeof k->digest) == 0) {
                cfg_child_path(child, ipath, "key");
                cfg_error(ctx, k->line, child,
                          "the same key as %s[%zu] (line %d): each upstream needs its own", path, j,
                          o->line);
            }
        }
    }
    free(usable);
}
