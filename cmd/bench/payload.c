/*
 * payload — see payload.h. Pure function, caller's thread.
 *
 * Field order is fixed (event_id, bench_seq first) so a sink finds bench_seq in
 * the first bytes of the delivered body. Numbers and ids derive from runid and
 * seq, so every event differs the way real call events do.
 */
#include "payload.h"

#include <stdio.h>
#include <string.h>

size_t payload_format(char *buf, size_t cap, const char *runid, const char *domain, uint32_t seq,
                      size_t target_bytes, int64_t wall_ms)
{
    static const char *const states[] = {"ringing", "answered", "hangup"};
    int n = snprintf(buf, cap,
                     "{\"event_id\":\"bench-%s-%u\",\"bench_seq\":%u,\"domain\":\"%s\","
                     "\"call_id\":\"%s-%04x-4%03x-a%03x-%012x\","
                     "\"sip_call_id\":\"%08x@pbx\","
                     "\"from_number\":\"+4930%07u\",\"to_number\":\"+4940%07u\","
                     "\"direction\":\"%s\",\"state\":\"%s\",\"status\":\"%s\","
                     "\"started_at\":%lld,\"answered_at\":%lld",
                     runid, seq, seq, domain, runid, seq >> 16 & 0xffff, seq >> 4 & 0xfff,
                     seq & 0xfff, seq * 2654435761u, seq * 2246822519u, seq % 10000000u,
                     (seq * 7u) % 10000000u, (seq & 1) ? "outbound" : "inbound", states[seq % 3],
                     seq % 3 == 2 ? "completed" : "active", (long long)(wall_ms - 4000),
                     (long long)wall_ms);
    if (n < 0 || (size_t)n + 2 > cap)
        return 0;
    size_t len = (size_t)n;
    static const char pad_key[] = ",\"padding\":\"";
    size_t overhead = sizeof(pad_key) - 1 + 2; /* key, closing quote and brace */
    if (target_bytes >= len + overhead + 1 && target_bytes < cap) {
        memcpy(buf + len, pad_key, sizeof(pad_key) - 1);
        len += sizeof(pad_key) - 1;
        size_t pad = target_bytes - len - 2;
        memset(buf + len, 'x', pad);
        len += pad;
        buf[len++] = '"';
    }
    buf[len++] = '}';
    buf[len] = '\0';
    return len;
}
