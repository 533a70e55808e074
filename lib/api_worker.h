/*
 * api_worker — runs API requests that need blocking JetStream calls (key-value
 * reads, stream scans) off the HTTP thread.
 *
 * The HTTP handler parses and validates the request on the HTTP thread, then calls
 * api_worker_submit(): the request is suspended and the job queued (bounded; a full
 * queue answers 503 at once). The worker thread (owned here) runs the job, which must
 * answer with http_request_complete*(). Ingress never waits behind an API call.
 */
#ifndef EVENTHUB_API_WORKER_H
#define EVENTHUB_API_WORKER_H

#include <stdbool.h>
#include <stddef.h>

struct http_request;
struct api_worker;

/* Runs on the worker thread; must complete `req`, and free `job` (its own data). */
typedef void (*api_job_fn)(void *job, struct http_request *req);

struct api_worker *api_worker_new(size_t queue_capacity);
/* Runs what is queued, then joins. Accepts NULL. */
void api_worker_free(struct api_worker *w);

/*
 * From a handler on the HTTP thread: suspends `req` and queues fn(job, req). When the
 * queue is full it answers 503 itself and calls fn with req NULL so the job is freed.
 */
void api_worker_submit(struct api_worker *w, struct http_request *req, api_job_fn fn, void *job);

#endif
