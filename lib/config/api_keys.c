/* api_keys — see api_keys.h. */
#include "config/api_keys.h"

#include "config/config.h"
#include "config/config_ctx.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

bool api_keys_required(const struct config *cfg)
{
    return cfg && cfg->ingress.api_key_count > 0;
}

bool api_key_digest(const char *text, size_t len, unsigned char digest[API_KEY_DIGEST_LEN])
{
    unsigned int out_len = 0;
    return EVP_Digest(text, len, digest, &out_len, EVP_sha256(), NULL) == 1 &&
           out_len == API_KEY_DIGEST_LEN;
}

const struct api_key *api_keys_find(const struct config *cfg, const char *token, size_t len)
{
    if (!api_keys_required(cfg) || !token || len == 0 || len > API_KEY_MAX_LEN)
        return NULL;
    unsigned char given[API_KEY_DIGEST_LEN];
    if (!api_key_digest(token, len, given))
        return NULL;
    /* Every digest is compared, the match only remembered: no early exit. Keys are
     * unique (the loader refuses two with the same text), so at most one matches. */
    const struct api_key *found = NULL;
    for (size_t i = 0; i < cfg->ingress.api_key_count; i++) {
        const struct api_key *k = &cfg->ingress.api_keys[i];
        bool same = CRYPTO_memcmp(k->digest, given, API_KEY_DIGEST_LEN) == 0;
        found = same ? k : found;
    }
    OPENSSL_cleanse(given, sizeof given);
    return found;
}

/* `domain` ends with `suffix` (ASCII case-insensitive) and has something before it. */
static bool has_suffix(const char *domain, size_t dlen, const char *suffix, size_t slen)
{
    if (dlen <= slen)
        return false;
    const char *tail = domain + (dlen - slen);
    for (size_t i = 0; i < slen; i++)
        if (cfg_ascii_lower((unsigned char)tail[i]) != cfg_ascii_lower((unsigned char)suffix[i]))
            return false;
    return true;
}

bool api_key_allows(const struct api_key *key, const char *domain)
{
    if (!key || !domain || !*domain)
        return false;
    if (key->domain_count == 0)
        return true;
    size_t dlen = strlen(domain);
    for (size_t i = 0; i < key->domain_count; i++) {
        const char *p = key->domains[i];
        if (strcmp(p, "*") == 0)
            return true;
        if (p[0] == '*' && p[1] == '.') {
            if (has_suffix(domain, dlen, p + 1, strlen(p + 1)))
                return true;
        } else if (cfg_ascii_casecmp(p, domain) == 0) {
            return true;
        }
    }
    return false;
}

const char *api_key_pattern_problem(const char *pattern)
{
    if (!*pattern)
        return "must not be empty";
    if (strcmp(pattern, "*") == 0)
        return NULL;
    const char *rest = pattern;
    if (pattern[0] == '*') {
        if (pattern[1] != '.' || !pattern[2])
            return "a pattern is \"*.\" and a domain suffix, like \"*.example.net\"";
        rest = pattern + 2;
    }
    for (const char *p = rest; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '*')
            return "may have '*' only as its first label (\"*.example.net\")";
        if (c <= 0x20 || c == 0x7f)
            return "must not contain spaces or control characters";
    }
    return NULL;
}
