/* source — see source.h. The set is an array grown on the main thread before start. */
#include "sources/source.h"

#include "core/metrics_text.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

struct source_set {
    const struct source_class *const *classes;
    size_t class_count;
    struct source *items;
    size_t count, cap;
};

struct source_set *source_set_new(const struct source_class *const *classes, size_t class_count)
{
    struct source_set *set = calloc(1, sizeof *set);
    if (!set)
        return NULL;
    set->classes = classes;
    set->class_count = class_count;
    return set;
}

bool source_set_add(struct source_set *set, struct source src)
{
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 4;
        struct source *items = realloc(set->items, cap * sizeof *items);
        if (!items) {
            src.cls->free(src.impl);
            return false;
        }
        set->items = items;
        set->cap = cap;
    }
    set->items[set->count++] = src;
    return true;
}

bool source_set_create(struct source_set *set, const struct source_env *env)
{
    for (size_t i = 0; i < set->class_count; i++)
        if (set->classes[i]->create && !set->classes[i]->create(env, set))
            return false;
    return true;
}

bool source_set_start(struct source_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        const struct source *s = &set->items[i];
        if (s->cls->start && !s->cls->start(s->impl))
            return false;
    }
    return true;
}

void source_set_stop(struct source_set *set, int64_t timeout_ms)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++)
        set->items[i].cls->stop(set->items[i].impl, timeout_ms);
}

void source_set_free(struct source_set *set)
{
    if (!set)
        return;
    source_set_stop(set, 0);
    for (size_t i = 0; i < set->count; i++)
        set->items[i].cls->free(set->items[i].impl);
    free(set->items);
    free(set);
}

void *source_set_find(const struct source_set *set, const struct source_class *cls)
{
    for (size_t i = 0; set && i < set->count; i++)
        if (set->items[i].cls == cls)
            return set->items[i].impl;
    return NULL;
}

size_t source_set_class_count(const struct source_set *set)
{
    return set ? set->class_count : 0;
}

const struct source_class *source_set_class(const struct source_set *set, size_t i)
{
    return set->classes[i];
}

void source_set_add_json(const struct source_set *set, cJSON *obj)
{
    for (size_t c = 0; set && c < set->class_count; c++) {
        const struct source_class *cls = set->classes[c];
        cJSON *arr = cJSON_AddArrayToObject(obj, cls->json_key);
        for (size_t i = 0; arr && i < set->count; i++)
            if (set->items[i].cls == cls)
                cJSON_AddItemToArray(arr, cls->stats_json(set->items[i].impl));
    }
}

/* One class: a family per figure, a sample per source of the class. */
static void render_class(const struct source_set *set, const struct source_class *cls, FILE *f)
{
    size_t n = 0;
    for (size_t i = 0; i < set->count; i++)
        n += set->items[i].cls == cls;
    if (n == 0 || cls->figure_count == 0)
        return;
    uint64_t *values = calloc(n * cls->figure_count, sizeof *values);
    const struct source **members = calloc(n, sizeof *members);
    if (values && members) {
        size_t k = 0;
        for (size_t i = 0; i < set->count; i++) {
            if (set->items[i].cls != cls)
                continue;
            members[k] = &set->items[i];
            cls->read_figures(set->items[i].impl, values + k * cls->figure_count);
            k++;
        }
        for (size_t fig = 0; fig < cls->figure_count; fig++) {
            const struct source_figure *d = &cls->figures[fig];
            metrics_text_family(f, d->name, d->type, d->help);
            for (size_t m = 0; m < n; m++) {
                struct metrics_label l = {cls->metric_label, members[m]->name};
                metrics_text_sample(f, d->name, &l, 1, values[m * cls->figure_count + fig]);
            }
        }
    }
    free(values);
    free(members);
}

void source_set_render_metrics(const struct source_set *set, FILE *out)
{
    for (size_t c = 0; set && c < set->class_count; c++)
        render_class(set, set->classes[c], out);
    for (size_t i = 0; set && i < set->count; i++)
        if (set->items[i].cls->render_metrics)
            set->items[i].cls->render_metrics(set->items[i].impl, out);
}

void source_set_reconfigure(const struct source_set *set, struct config *fresh)
{
    for (size_t i = 0; set && i < set->count; i++)
        if (set->items[i].cls->reconfigure)
            set->items[i].cls->reconfigure(set->items[i].impl, fresh);
}
