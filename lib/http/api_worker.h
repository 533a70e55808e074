/*
 * api_worker — runs API requests that need blocking JetStream calls (key-value
 * reads, stream scans) or file reads off the HTTP thread, on a small pool of threads
 * (owned here) shared by three lanes so that no kind of request can starve another.
 *
 * The HTTP handler parses and validates the request on the HTTP thread, then calls
 * api_worker_submit() with a lane: the request is suspended and the job queued in
 * that lane. Every lane's queue is bounded, and every wait has a deadline: a full
 * queue answers 503 busy at once, and a job still waiting after queue_timeout_ms is
 * answered 503 busy instead of being run (api_sched). A job must answer with
 * http_request_complete*(), and must itself bound its run time (the scans stop at
 * api.scan_timeout). Ingress, /health and /api/events never come here.
 *
 * Lanes and their share of the workers:
 *   API_LANE_LIGHT  point reads, stats, metrics, config reload: any worker; since the
 *                   other lanes together hold at most workers - 1, one is always theirs
 *   API_LANE_SCAN   walks of the event stream and the call records, log-file reads:
 *                   at most max_scans at once
 *   API_LANE_DLQ    what walks or changes the dead-letter stream (listing, replays):
 *                   one at a time, so replays stay serialized
 */
#ifndef EVENTHUB_API_WORKER_H
#define EVENTHUB_API_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_request;
struct api_worker;

enum api_lane { API_LANE_LIGHT = 0, API_LANE_SCAN, API_LANE_DLQ, API_LANE_COUNT };

/* Queue capacity of each lane. */
#define API_WORKER_LIGHT_QUEUE 256
#define API_WORKER_SCAN_QUEUE 16
#define API_WORKER_DLQ_QUEUE 16

struct api_worker_options {
    unsigned workers;         /* threads; at least max_scans + 2 */
    unsigned max_scans;       /* API_LANE_SCAN jobs running at once, >= 1 */
    int64_t queue_timeout_ms; /* longest a job waits for a worker, > 0 */
};

/* Runs on a worker thread; must complete `req`, and free `job` (its own data). Called
 * with req NULL when the request was answered without running (503): free `job` only. */
typedef void (*api_job_fn)(void *job, struct http_request *req);

/* Starts the threads. NULL when the options are inconsistent or on failure (logged). */
struct api_worker *api_worker_new(const struct api_worker_options *opts);
/* Runs or answers (503) what is queued, waits for the running jobs, joins. Accepts NULL. */
void api_worker_free(struct api_worker *w);

/*
 * From a handler on the HTTP thread: suspends `req` and queues fn(job, req) in `lane`.
 * When the lane's queue is full (or the pool is stopping) it answers 503 itself and
 * calls fn with req NULL so the job is freed.
 */
void api_worker_submit(struct api_worker *w, enum api_lane lane, struct http_request *req,
                       api_job_fn fn, void *job);

#endif
