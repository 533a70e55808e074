/* outcome — see outcome.h. */
#include "core/outcome.h"

bool outcomes_add(struct outcomes *o, const struct outcome_sink *sink)
{
    if (o->count >= OUTCOME_MAX_SINKS)
        return false;
    o->sinks[o->count++] = *sink;
    return true;
}

void outcomes_received(const struct outcomes *o, const struct outcome_received *r)
{
    for (size_t i = 0; o && i < o->count; i++)
        if (o->sinks[i].received)
            o->sinks[i].received(o->sinks[i].ctx, r);
}

void outcomes_delivery(const struct outcomes *o, const struct outcome_delivery *d)
{
    for (size_t i = 0; o && i < o->count; i++)
        if (o->sinks[i].delivery)
            o->sinks[i].delivery(o->sinks[i].ctx, d);
}
