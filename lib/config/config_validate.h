/*
 * config_validate — every range and cross-field rule, checked in one pass once the whole
 * file is mapped; it ends by building the domain index (config_index.h).
 */
#ifndef EVENTHUB_CONFIG_VALIDATE_H
#define EVENTHUB_CONFIG_VALIDATE_H

#include "config/config_ctx.h"

void cfg_validate(struct cfg_ctx *ctx);

#endif
