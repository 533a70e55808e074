/*
 * fuzz_tzfile — tzfile_parse: TZif images (RFC 8536, versions 1-4).
 *
 * Every input is parsed as a TZif image; an accepted zone is then asked for offsets
 * and printed times at instants spread over the whole int64 range, and the answers
 * must stay within RFC 8536's offset bounds and print as 19 characters or nothing.
 * Seeds: the zones of tests/unit/fixtures/tz.
 */
#include "core/tzfile.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int err = 1;
    struct tzfile *z = tzfile_parse(data, size, &err);
    if ((z == NULL) == (err == 0))
        abort();
    if (!z)
        return 0;
    static const int64_t probes[] = {
        INT64_MIN,  -(INT64_C(1) << 40), -2208988800,      -1,       0, 1,
        1795257146, 2147483648,          INT64_C(1) << 40, INT64_MAX};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        int64_t off = tzfile_offset_s(z, probes[i]);
        if (off <= -90000 || off >= 93600)
            abort();
        char out[TZFILE_TIME_LEN];
        bool ok = tzfile_format(z, probes[i], out); /* as microseconds */
        if (strlen(out) != (ok ? 19u : 0u))
            abort();
    }
    tzfile_free(z);
    return 0;
}
