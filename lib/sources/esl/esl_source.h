/*
 * esl_source — one FreeSWITCH node as a source of events: its connection (esl_conn),
 * its call tracker, and its outbox towards JetStream.
 *
 * Everything here runs on the node's connection thread: an event is turned into
 *  - a raw event (when the node publishes events): every header, "_body", plus
 *    "domain", "event_id" (Core-UUID:Event-Sequence, also the Nats-Msg-Id so two
 *    eventhub instances on one FreeSWITCH store it once), "received_at", "esl_node";
 *  - call tracking: a call record update for the records API (key-value bucket) and,
 *    when the call ends and the node publishes signals, one call signal;
 * each queued in the node's outbox, which publishes asynchronously and keeps a
 * message until JetStream acked it. The reader never waits for JetStream.
 * With `logs:` set on the node, FreeSWITCH log lines (log/data) go to the domain log
 * of the call their channel belongs to ("default" when none).
 */
#ifndef EVENTHUB_ESL_SOURCE_H
#define EVENTHUB_ESL_SOURCE_H

#include "sources/source.h"

/* One source per node of cfg->esl_nodes (kind "esl", /health and /api/stats key "esl",
 * /metrics label "node"). The connection starts at source_set_start; stop ends the
 * reading, then waits for queued messages to be stored. */
extern const struct source_class esl_source_class;

#endif
