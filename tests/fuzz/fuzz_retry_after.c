/*
 * fuzz_retry_after — retry_after_parse_ms: Retry-After header values.
 *
 * The input is the header value, copied and NUL-terminated (an embedded NUL ends it, as
 * it would a C string from libcurl). It is parsed against a few "now"s (the Unix epoch,
 * a date in 2026, and both ends of the int64 range) and caps (0, an hour, INT64_MAX).
 * What must hold: the answer is -1 (ignored) or within [0, max_ms]; whether the value is
 * accepted does not depend on "now" or the cap; and a value that parses keeps parsing
 * with blanks added around it, to the same answer.
 */
#include "delivery/endpoint_health.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = malloc(size + 5);
    if (!value)
        return 0;
    /* " \t" + the input + " \t", so the bare value is value + 2 */
    memcpy(value, " \t", 2);
    memcpy(value + 2, data, size);
    memcpy(value + 2 + size, " \t", 3);
    char *bare = value + 2;
    bare[size] = '\0';

    static const int64_t nows[] = {0, INT64_C(1795257146000), INT64_MIN, INT64_MAX};
    static const int64_t caps[] = {0, INT64_C(3600000), INT64_MAX};
    bool accepted = retry_after_parse_ms(bare, 0, 0) >= 0;
    for (size_t i = 0; i < sizeof nows / sizeof nows[0]; i++) {
        for (size_t j = 0; j < sizeof caps / sizeof caps[0]; j++) {
            int64_t got = retry_after_parse_ms(bare, nows[i], caps[j]);
            if (got < -1 || got > caps[j] || (got >= 0) != accepted)
                abort();
        }
    }
    if (accepted && memchr(data, '\0', size) == NULL) {
        int64_t want = retry_after_parse_ms(bare, INT64_C(1795257146000), INT64_C(3600000));
        bare[size] = ' ';
        if (retry_after_parse_ms(value, INT64_C(1795257146000), INT64_C(3600000)) != want)
            abort();
    }
    free(value);
    return 0;
}
