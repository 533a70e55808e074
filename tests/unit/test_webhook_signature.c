/*
 * Unit tests: Standard Webhooks signatures — the specification's published test vector
 * (libraries/go/webhook_test.go, TestWebhookSign), rotation (each secret signs alone),
 * what changes the signature, and the secrets that are refused.
 */
#include "core/webhook_signature.h"
#include "unit.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void test_published_vector(void)
{
    struct webhook_key key;
    char err[160] = "";
    CHECK(webhook_key_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &key, err, sizeof err));
    CHECK_INT(key.len, 24);
    const char *payload = "{\"test\": 2432232314}";
    char sig[WEBHOOK_SIGNATURE_LEN + 1];
    CHECK(webhook_sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, payload, strlen(payload),
                       sig));
    CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    webhook_key_clear(&key);
    CHECK_INT(key.len, 0);
}

static void test_every_input_counts(void)
{
    struct webhook_key key;
    char err[160];
    CHECK(webhook_key_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &key, err, sizeof err));
    const char *body = "{\"domain\":\"a.example\",\"note\":\"\xc3\xa9t\xc3\xa9\"}";
    char base[WEBHOOK_SIGNATURE_LEN + 1], other[WEBHOOK_SIGNATURE_LEN + 1];
    CHECK(webhook_sign(&key, "e-1", 1700000000, body, strlen(body), base));
    CHECK(webhook_sign(&key, "e-2", 1700000000, body, strlen(body), other));
    CHECK(strcmp(base, other) != 0);
    CHECK(webhook_sign(&key, "e-1", 1700000001, body, strlen(body), other));
    CHECK(strcmp(base, other) != 0);
    CHECK(webhook_sign(&key, "e-1", 1700000000, body, strlen(body) - 1, other));
    CHECK(strcmp(base, other) != 0);
    /* The body's bytes count exactly, NUL included. */
    CHECK(webhook_sign(&key, "e-1", 1700000000, "a\0b", 3, base));
    CHECK(webhook_sign(&key, "e-1", 1700000000, "a\0c", 3, other));
    CHECK(strcmp(base, other) != 0);
    struct webhook_key second;
    CHECK(webhook_key_decode("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &second, err,
                             sizeof err));
    CHECK_INT(second.len, 36);
    CHECK(webhook_sign(&second, "e-1", 1700000000, "a\0b", 3, other));
    CHECK(strcmp(base, other) != 0);
    webhook_key_clear(&second);
    webhook_key_clear(&key);
}

/* The key's prepared HMAC context is shared: signing never changes it, whether the
 * same thread signs again or several threads sign at once. */
struct signer {
    const struct webhook_key *key;
    int mismatches;
};

static void *sign_many(void *arg)
{
    struct signer *s = arg;
    const char *payload = "{\"test\": 2432232314}";
    for (int i = 0; i < 2000; i++) {
        char sig[WEBHOOK_SIGNATURE_LEN + 1];
        if (!webhook_sign(s->key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, payload,
                          strlen(payload), sig) ||
            strcmp(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") != 0)
            s->mismatches++;
    }
    return NULL;
}

static void test_shared_key(void)
{
    struct webhook_key key;
    char err[160];
    CHECK(webhook_key_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &key, err, sizeof err));
    struct signer signers[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        signers[t] = (struct signer){.key = &key};
        CHECK(pthread_create(&threads[t], NULL, sign_many, &signers[t]) == 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        CHECK_INT(signers[t].mismatches, 0);
    }
    webhook_key_clear(&key);
    /* A cleared key signs nothing. */
    char sig[WEBHOOK_SIGNATURE_LEN + 1];
    CHECK(!webhook_sign(&key, "id", 1, "x", 1, sig) && sig[0] == '\0');
}

static void test_refused_secrets(void)
{
    struct webhook_key key;
    char err[160];
    const char *bad[] = {
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",       /* no prefix */
        "whsec_",                                 /* empty */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La",     /* not a multiple of 4 */
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", /* not base64 */
        "whsec_c2hvcnQ=",                         /* 5 bytes: too short */
        "whsec_"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        char what[256];
        bool ok = webhook_key_decode(bad[i], &key, err, sizeof err);
        snprintf(what, sizeof what, "secret #%zu refused (%s)", i, err);
        unit_check(!ok && err[0] != '\0' && key.len == 0, what, __FILE__, __LINE__);
        /* The message never quotes the secret. */
        unit_check(strlen(bad[i]) < 8 || !strstr(err, bad[i] + 6) || !bad[i][6], what, __FILE__,
                   __LINE__);
    }
    /* 24 to 64 bytes. */
    CHECK(!webhook_key_decode("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRY=", &key, err, sizeof err));
    CHECK(webhook_key_decode("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", &key, err, sizeof err) &&
          key.len == 24);
    webhook_key_clear(&key);
    CHECK(webhook_key_decode("whsec_"
                             "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyM"
                             "zQ1Njc4OTo7PD0+Pw==",
                             &key, err, sizeof err) &&
          key.len == 64 && key.bytes[63] == 63);
    webhook_key_clear(&key);
    CHECK(!webhook_key_decode(
        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+"
        "P0A=",
        &key, err, sizeof err));
}

int main(void)
{
    test_published_vector();
    test_every_input_counts();
    test_refused_secrets();
    test_shared_key();
    return unit_done();
}
