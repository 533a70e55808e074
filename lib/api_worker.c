/* api_worker — see api_worker.h. A mutex + condvar ring feeds one thread. */
#include "api_worker.h"

#include "http_server.h"

#include <pthread.h>
#include <stdlib.h>

struct api_job {
    api_job_fn fn;
    void *job;
    struct http_request *req;
};

struct api_worker {
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    struct api_job *ring;
    size_t cap, head, count;
};

static void *worker_main(void *arg)
{
    struct api_worker *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->count == 0 && !w->stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->count == 0)
            break;
        struct api_job j = w->ring[w->head];
        w->head = (w->head + 1) % w->cap;
        w->count--;
        pthread_mutex_unlock(&w->lock);
        j.fn(j.job, j.req);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct api_worker *api_worker_new(size_t queue_capacity)
{
    struct api_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->cap = queue_capacity;
    w->ring = calloc(queue_capacity, sizeof *w->ring);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (!w->ring || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        api_worker_free(w);
        return NULL;
    }
    w->started = true;
    return w;
}

void api_worker_free(struct api_worker *w)
{
    if (!w)
        return;
    if (w->started) {
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
    }
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w->ring);
    free(w);
}

void api_worker_submit(struct api_worker *w, struct http_request *req, api_job_fn fn, void *job)
{
    pthread_mutex_lock(&w->lock);
    bool ok = !w->stopping && w->count < w->cap;
    if (ok) {
        w->ring[(w->head + w->count) % w->cap] = (struct api_job){fn, job, req};
        w->count++;
        http_request_suspend(req);
        pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&w->lock);
    if (!ok) {
        fn(job, NULL);
        http_respond_error(req, 503, "busy", "too many API requests in progress; retry shortly");
    }
}
