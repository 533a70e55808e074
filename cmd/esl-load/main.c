/*
 * esl-load — measures the FreeSWITCH → JetStream path: a fake FreeSWITCH that streams
 * events to one eventhub as fast as the socket takes them, and a NATS client that
 * watches the stream until every event is stored.
 *
 * It listens on 127.0.0.1:PORT, answers eventhub's handshake (auth, event
 * subscription, filters) like mod_event_socket, then writes COUNT plain
 * CHANNEL_EXECUTE_COMPLETE events (the most numerous kind on a real switch; not call-state events,
 * so the call tracker only looks at them) of about 1.5 KB, each with a unique Event-Sequence (so
 * each is stored once), and reports: send rate, stored events/s (first event sent →
 * last one stored, polled on the stream's message count) and the time to drain.
 * eventhub must run with that node set to `publish: events`.
 *
 * usage: esl-load --port P --nats URL --stream NAME [--count N] [--password PW]
 *                 [--event NAME]
 * With --event CHANNEL_CREATE every event opens a new call (the Unique-ID carries the
 * sequence): with eventhub's call records going to the KV bucket, `--stream KV_CALLS`
 * waits until every call has its record — then eventhub holds COUNT live calls.
 * Single-threaded apart from nats.c's own threads.
 */
#include <errno.h>
#include <getopt.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct opts {
    int port;
    const char *nats_url;
    const char *stream;
    long count;
    const char *password;
    const char *event_name; /* --event: CHANNEL_EXECUTE_COMPLETE, or CHANNEL_CREATE to open
                               `count` live calls (each event a new call) */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Reads one command (ends with "\n\n") into buf; false on EOF/error. */
static bool read_command(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = recv(fd, buf + len, 1, 0);
        if (n <= 0)
            return false;
        len++;
        if (len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n') {
            buf[len] = '\0';
            return true;
        }
    }
    return false;
}

static bool reply(int fd, const char *text)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "Content-Type: command/reply\nReply-Text: %s\n\n", text);
    return write_all(fd, buf, (size_t)n);
}

/* The handshake of mod_event_socket: challenge, then +OK to every command until the
 * first burst of commands is answered. */
static bool handshake(int fd, const char *password)
{
    char cmd[4096];
    if (!write_all(fd, "Content-Type: auth/request\n\n", 28) || !read_command(fd, cmd, sizeof cmd))
        return false;
    char want[300];
    snprintf(want, sizeof want, "auth %s\n\n", password);
    if (strcmp(cmd, want) != 0) {
        reply(fd, "-ERR invalid");
        fprintf(stderr, "esl-load: wrong auth command\n");
        return false;
    }
    if (!reply(fd, "+OK accepted") || !read_command(fd, cmd, sizeof cmd))
        return false;
    if (strncmp(cmd, "event ", 6) != 0) {
        fprintf(stderr, "esl-load: expected an event subscription, got %.40s\n", cmd);
        return false;
    }
    return reply(fd, "+OK event listener enabled plain");
}

/* Answers later commands (filters, log) without blocking the event stream. */
static void answer_pending_commands(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char cmd[4096];
    while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
        if (!read_command(fd, cmd, sizeof cmd))
            return;
        reply(fd, "+OK");
    }
}

/* A Core-UUID per run, so a run's events are not duplicates of the last run's. */
static char core_uuid[40];

static int build_event(char *out, size_t cap, const char *name, long seq)
{
    char body[2048];
    int blen = snprintf(
        body, sizeof body,
        "Event-Name: %s\nCore-UUID: %s\n"
        "FreeSWITCH-Hostname: load\nFreeSWITCH-Switchname: load\nFreeSWITCH-IPv4: 192.0.2.10\n"
        "Event-Date-Local: 2026-11-21%%2010%%3A32%%3A26\n"
        "Event-Date-GMT: Sat,%%2021%%20Nov%%202026%%2010%%3A32%%3A26%%20GMT\n"
        "Event-Date-Timestamp: 1795257146260082\nEvent-Calling-File: switch_channel.c\n"
        "Event-Calling-Function: switch_channel_perform_mark_answered\n"
        "Event-Calling-Line-Number: 3994\nEvent-Sequence: %ld\n"
        "Channel-State: CS_EXECUTE\nChannel-Call-State: ACTIVE\nChannel-State-Number: 4\n"
        "Channel-Name: sofia/internal/0914315989%%40example.com\n"
        "Unique-ID: %.8s-%08lx-4000-8000-00000000load\nCall-Direction: inbound\n"
        "Presence-Call-Direction: inbound\nChannel-HIT-Dialplan: true\n"
        "Channel-Presence-ID: 0914315989%%40example.com\nAnswer-State: answered\n"
        "Caller-Direction: inbound\nCaller-Logical-Direction: inbound\n"
        "Caller-Username: 0914315989\nCaller-Dialplan: XML\nCaller-Caller-ID-Name: Alice\n"
        "Caller-Caller-ID-Number: 0914315989\nCaller-Orig-Caller-ID-Name: Alice\n"
        "Caller-Orig-Caller-ID-Number: 0914315989\nCaller-Network-Addr: 192.0.2.55\n"
        "Caller-ANI: 0914315989\nCaller-Destination-Number: 0987654321\n"
        "Caller-Unique-ID: %.8s-%08lx-4000-8000-00000000load\nCaller-Source: mod_sofia\n"
        "Caller-Context: default\nCaller-Channel-Name: sofia/internal/0914315989%%40example.com\n"
        "Caller-Profile-Index: 1\nCaller-Profile-Created-Time: 1795257146140082\n"
        "Caller-Channel-Created-Time: 1795257146140082\n"
        "Caller-Channel-Answered-Time: 1795257146260082\n"
        "variable_direction: inbound\nvariable_uuid: %.8s-%08lx-4000-8000-00000000load\n"
        "variable_domain_name: example.com\nvariable_sip_from_host: example.com\n"
        "variable_sip_to_host: example.com\nvariable_sip_req_host: example.com\n"
        "variable_sip_call_id: %ld-load%%40192.0.2.55\nvariable_read_codec: PCMU\n"
        "variable_write_codec: PCMU\n\n",
        name, core_uuid, seq, core_uuid, seq, core_uuid, seq, core_uuid, seq, seq);
    return snprintf(out, cap, "Content-Length: %d\nContent-Type: text/event-plain\n\n%s", blen,
                    body);
}

static uint64_t stream_msgs(jsCtx *js, const char *stream)
{
    jsStreamInfo *si = NULL;
    uint64_t n = 0;
    if (js_GetStreamInfo(&si, js, stream, NULL, NULL) == NATS_OK)
        n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

static int usage(void)
{
    fprintf(stderr, "usage: esl-load --port P --nats URL --stream NAME [--count N] "
                    "[--password PW] [--event NAME]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct opts o = {
        .count = 200000, .password = "ClueCon", .event_name = "CHANNEL_EXECUTE_COMPLETE"};
    static const struct option longopts[] = {{"port", required_argument, NULL, 'p'},
                                             {"nats", required_argument, NULL, 'n'},
                                             {"stream", required_argument, NULL, 's'},
                                             {"count", required_argument, NULL, 'c'},
                                             {"password", required_argument, NULL, 'w'},
                                             {"event", required_argument, NULL, 'e'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            o.port = atoi(optarg);
            break;
        case 'n':
            o.nats_url = optarg;
            break;
        case 's':
            o.stream = optarg;
            break;
        case 'c':
            o.count = atol(optarg);
            break;
        case 'w':
            o.password = optarg;
            break;
        case 'e':
            o.event_name = optarg;
            break;
        default:
            return usage();
        }
    }
    if (o.port <= 0 || !o.nats_url || !o.stream || o.count <= 0)
        return usage();
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    snprintf(core_uuid, sizeof core_uuid, "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)rand(),
             (unsigned)rand() & 0xffff, (unsigned)rand() & 0xfff, (unsigned)rand() & 0xfff,
             ((unsigned long long)rand() << 20) ^ (unsigned long long)rand());

    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    if (natsConnection_ConnectTo(&nc, o.nats_url) != NATS_OK ||
        natsConnection_JetStream(&js, nc, NULL) != NATS_OK) {
        fprintf(stderr, "esl-load: cannot connect to %s\n", o.nats_url);
        return 1;
    }

    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)o.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 4) != 0) {
        perror("esl-load: listen");
        return 1;
    }
    printf("esl-load: fake FreeSWITCH on 127.0.0.1:%d, %ld events\n", o.port, o.count);
    fflush(stdout);
    int fd = accept(ls, NULL, NULL);
    if (fd < 0 || !handshake(fd, o.password))
        return 1;

    uint64_t before = stream_msgs(js, o.stream);
    char frame[4096];
    double t0 = now_s();
    for (long i = 1; i <= o.count; i++) {
        int n = build_event(frame, sizeof frame, o.event_name, i);
        if (!write_all(fd, frame, (size_t)n)) {
            fprintf(stderr, "esl-load: eventhub closed the connection after %ld events\n", i);
            return 1;
        }
        if ((i & 1023) == 0)
            answer_pending_commands(fd);
    }
    double t_sent = now_s();
    uint64_t stored = 0;
    double deadline = t_sent + 120;
    while (now_s() < deadline) {
        stored = stream_msgs(js, o.stream) - before;
        if (stored >= (uint64_t)o.count)
            break;
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL); /* polling the stream's count */
    }
    double t_stored = now_s();
    printf("sent      %ld events in %.3f s (%.0f events/s)\n", o.count, t_sent - t0,
           (double)o.count / (t_sent - t0));
    printf("stored    %llu events in %.3f s from the first send (%.0f events/s)\n",
           (unsigned long long)stored, t_stored - t0, (double)stored / (t_stored - t0));
    printf("lost      %lld\n", (long long)o.count - (long long)stored);
    if (stored < (uint64_t)o.count)
        fprintf(stderr, "esl-load: gave up waiting after 120 s\n");
    close(fd);
    close(ls);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return stored >= (uint64_t)o.count ? 0 : 1;
}
