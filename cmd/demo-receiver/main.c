/*
 * demo-receiver — the webhook endpoint of `make run`: prints each webhook it receives
 * as it arrives (method, path, the eventhub headers, the body pretty-printed) and
 * answers 200. For trying eventhub out, not for production.
 *
 * One libmicrohttpd daemon, one thread (MHD's internal polling thread); the body of a
 * request is gathered in a buffer of at most MAX_BODY bytes (larger ones: 413).
 * Output goes to stdout, one block per webhook, flushed at once.
 *
 * usage: demo-receiver [--port N]   (127.0.0.1; default port 9000, 0 = any free one)
 */
#include <cjson/cJSON.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (1024 * 1024)
#define SHOWN_BODY 4096 /* longer non-JSON bodies are cut when printed */

struct request {
    char *body;
    size_t len;
    bool too_big;
};

static unsigned long received;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* The headers a tenant's backend reads: eventhub's own, Standard Webhooks, tracing. */
static bool shown_header(const char *name)
{
    static const char *const prefixes[] = {
        "x-event-",        "x-delivery-", "x-domain",   "webhook-",     "eventhub-",
        "idempotency-key", "traceparent", "tracestate", "content-type", "user-agent"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncasecmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static enum MHD_Result print_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)cls;
    (void)kind;
    if (shown_header(key))
        printf("  %s: %s\n", key, value ? value : "");
    return MHD_YES;
}

/* cJSON's pretty form with two spaces for its tabs: indentation, and after each ':'. */
static void print_indented(const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\t')
            fputs(p > text && p[-1] == ':' ? " " : "  ", stdout);
        else
            putchar(*p);
    }
    putchar('\n');
}

static void print_body(const struct request *r)
{
    if (r->len == 0) {
        printf("  (no body)\n");
        return;
    }
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    char *pretty = j ? cJSON_Print(j) : NULL;
    if (pretty)
        print_indented(pretty);
    else
        printf("%.*s%s\n", (int)(r->len > SHOWN_BODY ? SHOWN_BODY : r->len), r->body,
               r->len > SHOWN_BODY ? "…" : "");
    cJSON_free(pretty);
    cJSON_Delete(j);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned int status, const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct request *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        *con_cls = r;
        return r ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size) {
        if (!r->too_big && r->len + *upload_data_size <= MAX_BODY) {
            char *grown = realloc(r->body, r->len + *upload_data_size);
            if (grown) {
                memcpy(grown + r->len, upload_data, *upload_data_size);
                r->body = grown;
                r->len += *upload_data_size;
            } else {
                r->too_big = true;
            }
        } else {
            r->too_big = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->too_big)
        return answer(conn, MHD_HTTP_CONTENT_TOO_LARGE, "{\"error\":\"body too large\"}");
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    printf("── webhook #%lu  %s %s  (%s, %zu bytes)\n", ++received, method, url, when, r->len);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, print_header, NULL);
    print_body(r);
    printf("\n");
    fflush(stdout);
    return answer(conn, MHD_HTTP_OK, "{\"ok\":true}");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct request *r = *con_cls;
    if (r) {
        free(r->body);
        free(r);
    }
    *con_cls = NULL;
}

int main(int argc, char **argv)
{
    int port = 9000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            char *end;
            long p = strtol(argv[++i], &end, 10);
            if (*end || p < 0 || p > 65535) {
                fprintf(stderr, "demo-receiver: --port takes 0..65535\n");
                return 2;
            }
            port = (int)p;
        } else {
            fprintf(stderr, "usage: demo-receiver [--port N]\n");
            return 2;
        }
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* a demo: this machine only */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, on_request,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "demo-receiver: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("demo-receiver: listening on http://127.0.0.1:%u/ — each webhook is printed "
           "below\n\n",
           info ? info->port : (unsigned)port);
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    return 0;
}
