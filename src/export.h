/*
 * export.h: the access report's document model, shared by export.c (which
 * gathers it and writes JSON) and export_html.c (which renders it).
 *
 * The model is the JSON document itself (docs/export.schema.json): the HTML
 * is drawn from the same tree, so the two forms cannot say different
 * things.
 */
#ifndef RK_EXPORT_H
#define RK_EXPORT_H

#include <jansson.h>

#include "rekisteri.h"

/* Renders the access report doc (as export.c built it) as one
 * self-contained HTML page in Finnish (en 0) or English (en 1). Every value
 * is escaped. *out is malloc'd and holds personal data (wipe and free);
 * NULL with RK_ESYS when memory ran out. */
rk_status export_html_render(const json_t *doc, int en, char **out);

#endif
