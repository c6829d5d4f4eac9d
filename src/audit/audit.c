/*
 * audit.c - hash chain and FHIR export of audit records (see audit.h).
 * No storage: store/ reads and writes the rows and calls in here.
 */
#include "audit/audit.h"

#include <gnutls/crypto.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "sched/clock.h"

const char gw_audit_genesis[GW_AUDIT_HASH_HEX] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static const char *
s_or_empty(const char *s)
{
    return s ? s : "";
}

gw_rc
gw_audit_hash(const struct gw_audit_record *r, char out[GW_AUDIT_HASH_HEX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[32];
    struct gw_buf b;
    gw_rc rc;

    gw_buf_init(&b, 64 * 1024);
    rc = gw_buf_appendf(&b, "%s|%lld|%lld|%s|%s|%s|%s|%s|%s", r->prev_hash,
                        (long long)r->seq, (long long)r->at_ms,
                        s_or_empty(r->e.system), s_or_empty(r->e.user),
                        s_or_empty(r->e.action), s_or_empty(r->e.refnr),
                        s_or_empty(r->e.outcome), s_or_empty(r->e.detail));
    if (rc == GW_OK &&
        gnutls_hash_fast(GNUTLS_DIG_SHA256, b.data, b.len, digest) != 0)
        rc = GW_EINTERNAL;
    if (rc == GW_OK) {
        for (int i = 0; i < 32; i++) {
            out[2 * i] = hex[digest[i] >> 4];
            out[2 * i + 1] = hex[digest[i] & 15];
        }
        out[64] = '\0';
    }
    gw_buf_release(&b);
    return rc;
}

gw_rc
gw_audit_check_link(const struct gw_audit_record *r, const char *expect_prev,
                    int64_t expect_seq, struct gw_err *err)
{
    char h[GW_AUDIT_HASH_HEX];
    gw_rc rc;

    if (r->seq != expect_seq)
        return gw_err_set(err, GW_ECONFLICT, NULL,
                          "audit record %lld follows %lld: records are "
                          "missing",
                          (long long)r->seq, (long long)expect_seq - 1);
    if (strcmp(r->prev_hash, expect_prev) != 0)
        return gw_err_set(err, GW_ECONFLICT, NULL,
                          "audit record %lld does not link to its "
                          "predecessor",
                          (long long)r->seq);
    rc = gw_audit_hash(r, h);
    if (rc != GW_OK)
        return rc;
    if (strcmp(h, r->hash) != 0)
        return gw_err_set(err, GW_ECONFLICT, NULL,
                          "audit record %lld was changed after it was written",
                          (long long)r->seq);
    return GW_OK;
}

static char
fhir_action(const char *a)
{
    if (a == NULL)
        return 'E';
    if (strcmp(a, "create") == 0)
        return 'C';
    if (strcmp(a, "read") == 0 || strcmp(a, "search") == 0)
        return 'R';
    if (strcmp(a, "purge") == 0)
        return 'D';
    if (strcmp(a, "update") == 0 || strcmp(a, "apply") == 0 ||
        strcmp(a, "supplement") == 0 || strcmp(a, "decide") == 0 ||
        strcmp(a, "register") == 0 || strcmp(a, "request-supplement") == 0)
        return 'U';
    return 'E';
}

static json_t *
identifier(const char *system, const char *value)
{
    return json_pack("{s:{s:s,s:s}}", "identifier", "system", system, "value",
                     value);
}

gw_rc
gw_audit_to_fhir(const struct gw_audit_record *r, struct gw_buf *out)
{
    char when[32], id[32], action[2] = {fhir_action(r->e.action), '\0'};
    const char *user = r->e.user, *outcome = s_or_empty(r->e.outcome);
    json_t *ev, *agent;
    char *text = NULL;
    gw_rc rc = GW_ENOMEM;

    gw_clock_format(r->at_ms, when, sizeof(when));
    snprintf(id, sizeof(id), "audit-%lld", (long long)r->seq);
    ev = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:[{s:s,s:s,s:s}],s:s,s:s,s:s,"
                   "s:s}",
                   "resourceType", "AuditEvent", "id", id, "type", "system",
                   "http://terminology.hl7.org/CodeSystem/audit-event-type",
                   "code", "rest", "display", "RESTful Operation", "subtype",
                   "system", "http://klasgw.org/fhir/CodeSystem/klas-audit-action",
                   "code", s_or_empty(r->e.action), "display",
                   s_or_empty(r->e.action), "action", action, "recorded", when,
                   "outcome", strcmp(outcome, "ok") == 0 ? "0" : "4",
                   "outcomeDesc", outcome);
    if (ev == NULL)
        goto out;
    if (user != NULL && user[0] != '\0') {
        const char *sys = strlen(user) == 13 && user[0] >= '0' &&
                                  user[0] <= '9'
                              ? "urn:oid:2.51.1.3"
                              : "urn:oid:1.2.752.29.4.19";
        agent = json_pack("{s:o,s:s,s:b}", "who", identifier(sys, user), "name",
                          s_or_empty(r->e.system), "requestor", 1);
    } else {
        agent = json_pack("{s:{s:s},s:b}", "who", "display",
                          s_or_empty(r->e.system), "requestor", 1);
    }
    json_object_set_new(ev, "agent", json_pack("[o]", agent));
    json_object_set_new(ev, "source",
                        json_pack("{s:{s:s}}", "observer", "display", "klasgw"));
    if (r->e.refnr != NULL && r->e.refnr[0] != '\0')
        json_object_set_new(
            ev, "entity",
            json_pack("[{s:o}]", "what",
                      identifier("http://klasgw.org/fhir/NamingSystem/"
                                 "referensnummer",
                                 r->e.refnr)));
    text = json_dumps(ev, JSON_PRESERVE_ORDER | JSON_COMPACT);
    if (text == NULL)
        goto out;
    rc = gw_buf_append_str(out, text);
out:
    free(text);
    json_decref(ev);
    return rc;
}
