/* json_print — see json_print.h. */
#include "core/json_print.h"

#include "core/json_scan.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

char *json_print_fix_utf8(char *text)
{
    if (!text)
        return NULL;
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text);
    size_t bad = 0;
    for (size_t i = 0; i < len;) {
        size_t n = s[i] < 0x80 ? 1 : json_utf8_sequence(s + i, len - i);
        if (n == 0) {
            bad++;
            n = 1;
        }
        i += n;
    }
    if (bad == 0)
        return text;
    char *out = malloc(len + bad * 2 + 1);
    if (!out) {
        cJSON_free(text);
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = s[i] < 0x80 ? 1 : json_utf8_sequence(s + i, len - i);
        if (n == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    cJSON_free(text);
    return out;
}

char *json_print(const cJSON *item)
{
    return json_print_fix_utf8(cJSON_PrintUnformatted(item));
}
