/*
 * broker — see broker.h. The supervisor thread is the only one that waits on the
 * child; `lock` guards pid and stopping between it and broker_stop().
 */
#include "nats/broker.h"

#include "core/clock.h"
#include "config/config.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct broker {
    const struct config *cfg;
    int port;
    char url[64];
    pid_t pid;
    bool stopping;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool thread_started;
};

static int mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static pid_t spawn(struct broker *b)
{
    const struct config *cfg = b->cfg;
    char port[16], log_path[4200];
    snprintf(port, sizeof port, "%d", b->port);
    snprintf(log_path, sizeof log_path, "%s/nats-server.log", cfg->nats.embedded_data_dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* Child: only async-signal-safe calls until exec. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    /* Its own process group: a terminal's Ctrl-C goes to eventhub, which then stops the
     * broker in order, instead of killing the broker under a draining eventhub. */
    setpgid(0, 0);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
    }
    execlp(cfg->nats.embedded_binary, cfg->nats.embedded_binary, "-a", "127.0.0.1", "-p", port,
           "-js", "-sd", cfg->nats.embedded_data_dir, "-l", log_path, (char *)NULL);
    _exit(127);
}

/* Waits until the child accepts connections; false if it exited or timed out. */
static bool wait_ready(struct broker *b, pid_t pid, int64_t timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    while (clock_mono_ms() < deadline) {
        if (port_accepts(b->port))
            return true;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            b->pid = 0; /* reaped: never signal that pid again */
            log_error("broker",
                      "nats-server exited during start (status %d); see %s/nats-server.log",
                      WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status),
                      b->cfg->nats.embedded_data_dir);
            return false;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL); /* polling interval while the child boots */
    }
    log_error("broker", "nats-server did not accept connections within %lld ms",
              (long long)timeout_ms);
    return false;
}

static void *supervise(void *arg)
{
    struct broker *b = arg;
    int64_t backoff_ms = 500;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        pid_t pid = b->pid;
        pthread_mutex_unlock(&b->lock);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        pthread_mutex_lock(&b->lock);
        if (b->stopping) {
            b->pid = 0;
            pthread_mutex_unlock(&b->lock);
            return NULL;
        }
        log_error("broker", "embedded nats-server (pid %d) died (%s %d); restarting in %lld ms",
                  (int)pid, WIFSIGNALED(status) ? "signal" : "exit status",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                  (long long)backoff_ms);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += backoff_ms / 1000;
        until.tv_nsec += (backoff_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&b->wake, &b->lock, &until);
        if (b->stopping) {
            b->pid = 0;
            pthread_mutex_unlock(&b->lock);
            return NULL;
        }
        b->pid = spawn(b);
        pid = b->pid;
        pthread_mutex_unlock(&b->lock);
        if (pid > 0 && wait_ready(b, pid, 15000)) {
            log_info("broker", "embedded nats-server restarted (pid %d) on %s", (int)pid, b->url);
            backoff_ms = 500;
        } else {
            backoff_ms = backoff_ms * 2 > 30000 ? 30000 : backoff_ms * 2;
        }
    }
}

struct broker *broker_start(const struct config *cfg)
{
    struct broker *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->cfg = cfg;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->wake, NULL);
    int rc = mkdir_p(cfg->nats.embedded_data_dir);
    if (rc < 0) {
        log_error("broker", "cannot create data directory %s: %s", cfg->nats.embedded_data_dir,
                  strerror(-rc));
        goto fail;
    }
    b->port = cfg->nats.embedded_port > 0 ? cfg->nats.embedded_port : free_port();
    if (b->port <= 0) {
        log_error("broker", "cannot find a free port for nats-server");
        goto fail;
    }
    snprintf(b->url, sizeof b->url, "nats://127.0.0.1:%d", b->port);
    if (port_accepts(b->port)) {
        log_error("broker", "port %d is already in use; set nats.embedded.port or 0", b->port);
        goto fail;
    }
    b->pid = spawn(b);
    if (b->pid < 0) {
        log_error("broker", "cannot start %s: %s", cfg->nats.embedded_binary, strerror(errno));
        b->pid = 0;
        goto fail;
    }
    if (!wait_ready(b, b->pid, 15000)) {
        log_error("broker", "is %s installed? (Debian: apt-get install nats-server)",
                  cfg->nats.embedded_binary);
        goto fail;
    }
    if (pthread_create(&b->thread, NULL, supervise, b) != 0)
        goto fail;
    b->thread_started = true;
    log_info("broker", "embedded nats-server (pid %d) ready on %s, store %s", (int)b->pid, b->url,
             cfg->nats.embedded_data_dir);
    return b;
fail:
    broker_stop(b);
    return NULL;
}

const char *broker_url(const struct broker *b)
{
    return b->url;
}

int broker_pid(const struct broker *b)
{
    return (int)b->pid;
}

void broker_stop(struct broker *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    b->stopping = true;
    pid_t pid = b->pid;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->lock);
    if (pid > 0) {
        kill(pid, SIGTERM);
        if (!b->thread_started) {
            waitpid(pid, NULL, 0);
        } else {
            /* The supervisor reaps it; escalate if it ignores SIGTERM. */
            int64_t deadline = clock_mono_ms() + 10000;
            while (kill(pid, 0) == 0 && clock_mono_ms() < deadline) {
                pthread_mutex_lock(&b->lock);
                bool gone = b->pid == 0;
                pthread_mutex_unlock(&b->lock);
                if (gone)
                    break;
                struct timespec ts = {0, 20 * 1000000};
                nanosleep(&ts, NULL);
            }
            if (kill(pid, 0) == 0)
                kill(pid, SIGKILL);
        }
    }
    if (b->thread_started)
        pthread_join(b->thread, NULL);
    pthread_cond_destroy(&b->wake);
    pthread_mutex_destroy(&b->lock);
    free(b);
}
