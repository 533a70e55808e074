/* webhook_signature — see webhook_signature.h. */
#include "core/webhook_signature.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* libcrypto's HMAC implementation, fetched once (fetching is the costly part). */
static EVP_MAC *hmac_impl;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void fetch_hmac(void)
{
    hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static bool is_base64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

bool webhook_key_decode(const char *secret, struct webhook_key *key, char *err, size_t err_cap)
{
    memset(key, 0, sizeof *key);
    size_t plen = strlen(WEBHOOK_SECRET_PREFIX);
    if (!secret || strncmp(secret, WEBHOOK_SECRET_PREFIX, plen) != 0) {
        snprintf(err, err_cap, "a secret is written whsec_<base64>");
        return false;
    }
    const char *b64 = secret + plen;
    size_t n = strlen(b64);
    size_t pad = 0;
    while (pad < 2 && n > pad && b64[n - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++) {
        if (!is_base64_char((unsigned char)b64[i])) {
            snprintf(err, err_cap, "the part after whsec_ is not base64 (byte %zu)", i + 1);
            return false;
        }
    }
    if (n % 4 != 0 || n == 0 || n > 4 * ((WEBHOOK_KEY_MAX + 2) / 3)) {
        snprintf(err, err_cap, "the part after whsec_ must be padded base64 of %d to %d bytes",
                 WEBHOOK_KEY_MIN, WEBHOOK_KEY_MAX);
        return false;
    }
    unsigned char out[4 * ((WEBHOOK_KEY_MAX + 2) / 3)];
    int got = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
    if (got < 0) {
        snprintf(err, err_cap, "the part after whsec_ is not base64");
        return false;
    }
    size_t len = (size_t)got - pad; /* EVP_DecodeBlock counts the padding as zero bytes */
    if (len < WEBHOOK_KEY_MIN || len > WEBHOOK_KEY_MAX) {
        OPENSSL_cleanse(out, sizeof out);
        snprintf(err, err_cap, "the key is %zu bytes; it must be %d to %d (random)", len,
                 WEBHOOK_KEY_MIN, WEBHOOK_KEY_MAX);
        return false;
    }
    memcpy(key->bytes, out, len);
    key->len = len;
    OPENSSL_cleanse(out, sizeof out);
    pthread_once(&hmac_once, fetch_hmac);
    EVP_MAC_CTX *mac = hmac_impl ? EVP_MAC_CTX_new(hmac_impl) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!mac || EVP_MAC_init(mac, key->bytes, key->len, params) != 1) {
        EVP_MAC_CTX_free(mac);
        webhook_key_clear(key);
        snprintf(err, err_cap, "libcrypto could not set up HMAC-SHA256");
        return false;
    }
    key->mac = mac;
    return true;
}

void webhook_key_clear(struct webhook_key *key)
{
    EVP_MAC_CTX_free(key->mac);
    OPENSSL_cleanse(key, sizeof *key);
}

bool webhook_sign(const struct webhook_key *key, const char *id, int64_t timestamp,
                  const void *body, size_t body_len, char out[WEBHOOK_SIGNATURE_LEN + 1])
{
    char ts[24];
    int ts_len = snprintf(ts, sizeof ts, ".%lld.", (long long)timestamp);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    bool ok = false;
    /* A copy of the keyed context: the key's own context is never written, so
     * signing threads share it. */
    EVP_MAC_CTX *ctx = key->mac ? EVP_MAC_CTX_dup(key->mac) : NULL;
    if (ctx && EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)ts, (size_t)ts_len) == 1 &&
        EVP_MAC_update(ctx, body, body_len) == 1 &&
        EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) == 1 && mac_len == 32) {
        memcpy(out, "v1,", 3);
        ok = EVP_EncodeBlock((unsigned char *)out + 3, mac, 32) == 44;
    }
    EVP_MAC_CTX_free(ctx);
    OPENSSL_cleanse(mac, sizeof mac);
    if (!ok)
        out[0] = '\0';
    return ok;
}
