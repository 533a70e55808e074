/*
 * api_keys — who may post events: the `ingress.api_keys` of a loaded config, looked up
 * by the bearer token a request carries, and each key's domain scope.
 *
 * A key is kept only as its SHA-256 digest (the loader hashes the configured text and
 * wipes its own copy), so a loaded config — and anything that prints one — holds
 * nothing that can be replayed. A lookup hashes the token it is given and compares it with every
 * key's digest in constant time (CRYPTO_memcmp), always all of them: how long it takes says nothing
 * about which key, or how much of one, matched.
 *
 * Scope: a key's `domains` are exact names ("acme.example.net") or suffix patterns
 * ("*.example.net": any name that ends in ".example.net" with at least one character
 * before it, at any depth; not "example.net" itself), compared ASCII case-insensitively
 * as routes are. No `domains` (or "*") is every domain.
 *
 * Pure functions of a config that never changes once loaded: any thread.
 */
#ifndef EVENTHUB_API_KEYS_H
#define EVENTHUB_API_KEYS_H

#include <stdbool.h>
#include <stddef.h>

struct api_key;
struct config;

#define API_KEY_NAME_MAX 64    /* ingress.api_keys[].name, characters [A-Za-z0-9_.-] */
#define API_KEY_MIN_LEN 16     /* ingress.api_keys[].key, characters */
#define API_KEY_MAX_LEN 4096   /* the same, at most */
#define API_KEY_MAX_COUNT 1000 /* ingress.api_keys entries */
#define API_KEY_DIGEST_LEN 32  /* SHA-256 */

/* True when the config has any ingress key (POST /events then needs one). */
bool api_keys_required(const struct config *cfg);

/* The key whose text is token[0..len), or NULL; constant time in which key matched.
 * The result borrows from cfg. */
const struct api_key *api_keys_find(const struct config *cfg, const char *token, size_t len);

/* Whether `key` may post events for `domain` (see the scope rules above). */
bool api_key_allows(const struct api_key *key, const char *domain);

/* Why `pattern` cannot be a domains entry, or NULL when it can (the loader's check). */
const char *api_key_pattern_problem(const char *pattern);

/* SHA-256 of the key text into digest (the loader's step, and the lookup's). */
bool api_key_digest(const char *text, size_t len, unsigned char digest[API_KEY_DIGEST_LEN]);

#endif
