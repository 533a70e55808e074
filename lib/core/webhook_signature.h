/*
 * webhook_signature — Standard Webhooks signatures of a webhook call.
 *
 * A secret is written "whsec_<base64>"; its key is the base64-decoded part (24 to 64
 * bytes here). A call carries
 *   webhook-id:        the event's event_id (the same on every retry)
 *   webhook-timestamp: Unix seconds of this attempt
 *   webhook-signature: "v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>", one
 *                      per secret, space-separated (rotation: new and old at once)
 * where body is the exact bytes sent. HMAC and base64 come from OpenSSL's libcrypto.
 *
 * A decoded key holds a libcrypto HMAC context already initialised with it, so a
 * signature costs one context copy and the hash itself, not the key schedule
 * (set-up was two thirds of the time). webhook_sign only reads the key: any number of
 * threads may sign with one key at once. webhook_key_clear frees the context and wipes
 * the key.
 */
#ifndef EVENTHUB_WEBHOOK_SIGNATURE_H
#define EVENTHUB_WEBHOOK_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_SECRET_PREFIX "whsec_"
#define WEBHOOK_KEY_MIN 24
#define WEBHOOK_KEY_MAX 64
/* "v1," + base64 of 32 bytes (44) + NUL */
#define WEBHOOK_SIGNATURE_LEN (3 + 44)
/* Secrets of one endpoint, at most, and the webhook-signature value they make. */
#define WEBHOOK_MAX_SECRETS 8
#define WEBHOOK_SIGNATURES_MAX (WEBHOOK_MAX_SECRETS * (WEBHOOK_SIGNATURE_LEN + 1))

struct webhook_key {
    unsigned char bytes[WEBHOOK_KEY_MAX];
    size_t len;
    void *mac; /* EVP_MAC_CTX initialised with bytes; copied per signature */
};

/* Decodes "whsec_<base64>" into key. False with a message in err (never quoting the
 * secret) when the prefix is missing, the base64 is malformed, the key is shorter
 * than WEBHOOK_KEY_MIN or longer than WEBHOOK_KEY_MAX bytes, or libcrypto cannot set
 * up the HMAC. A key decoded here is released with webhook_key_clear. */
bool webhook_key_decode(const char *secret, struct webhook_key *key, char *err, size_t err_cap);
void webhook_key_clear(struct webhook_key *key);

/* "v1,<base64 HMAC>" of id.timestamp.body into out (WEBHOOK_SIGNATURE_LEN + 1 bytes).
 * False only when libcrypto fails. */
bool webhook_sign(const struct webhook_key *key, const char *id, int64_t timestamp,
                  const void *body, size_t body_len, char out[WEBHOOK_SIGNATURE_LEN + 1]);

#endif
