/*
 * subs.c - the FHIR action of Subscription/{id}/$events (Subscriptions
 * Backport IG): the id from the route, the event numbers from the query;
 * the pipeline (pipeline/subs.c) does the rest. $status is the route
 * table's gw_fhir_on_id row.
 */
#include <microhttpd.h>

#include "http/response.h"
#include "http/route.h"
#include "pipeline/pipeline.h"

enum MHD_Result
gw_fhir_sub_events(struct gw_req *r, const struct gw_call *c)
{
    struct gw_answer a;
    const char *since = MHD_lookup_connection_value(
                   r->conn, MHD_GET_ARGUMENT_KIND, "eventsSinceNumber"),
               *until = MHD_lookup_connection_value(
                   r->conn, MHD_GET_ARGUMENT_KIND, "eventsUntilNumber");

    gw_pipeline_sub_events(r->h->o.pipeline, c, r->args.id, since, until, &a);
    return gw_fhir_send_answer(r, &a, 0);
}
