/*
 * sim.c - `klasgw sim`: the peer simulators (see sim.h).
 *
 * HSA and LV are gSOAP servers on the generated dispatcher (one per
 * process: soap_serve knows every operation of wsdl/, and the operations a
 * simulator does not play answer a fault). Each connection gets its own
 * thread (soap_copy), so keep-alive connections from the gateway's pools
 * never block each other. The pharmacy webhook is plain HTTP on a socket.
 *
 * Failure injection is decided per request by fail_now(): the first
 * --fail-count requests (default: all) fail the chosen way.
 *
 * Nothing here is production code: state lives in memory, data is
 * synthetic, and the simulators trust their input more than the gateway
 * does (they are only ever talked to by the gateway and the tests).
 */
#include "sim/sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"
#include "core/random.h"
#include "fhir/fhir.h"
#include "gwsoapH.h"
#include "klas/event.h"
#include "outbound/http_client.h"
#include "outbound/soap_client.h"
#include "sim/subs.h"

enum sim_kind { SIM_HSA, SIM_LV, SIM_PHARMACY };
enum sim_fail {
    FAIL_NONE,
    FAIL_DOWN,
    FAIL_SLOW,
    FAIL_FAULT,
    FAIL_FAULT200,
    FAIL_DROP,
    FAIL_UNAUTHORIZED, /* pharmacy webhook: 401, a refusal */
    FAIL_TIMEOUT
};

/* The names of --fail. */
static const char *const fail_names[] = {
    [FAIL_DOWN] = "down",       [FAIL_SLOW] = "slow",
    [FAIL_FAULT] = "fault",     [FAIL_FAULT200] = "fault200",
    [FAIL_DROP] = "drop",       [FAIL_UNAUTHORIZED] = "unauthorized",
    [FAIL_TIMEOUT] = "timeout",
};

/* The failure named v, FAIL_NONE for none. */
static enum sim_fail
fail_of(const char *v)
{
    for (size_t i = 0; i < sizeof(fail_names) / sizeof(fail_names[0]); i++)
        if (fail_names[i] != NULL && strcmp(fail_names[i], v) == 0)
            return (enum sim_fail)i;
    return FAIL_NONE;
}

#define SIM_MAX_PEOPLE 64
#define SIM_MAX_COMMISSIONS 8

struct sim_commission {
    char unit[40], provider[40], purpose[64];
    time_t start, end; /* 0: open */
};

struct sim_person {
    char hsa[40], given[64], surname[64], licences[128], code[16];
    int protected_person;
    struct sim_commission c[SIM_MAX_COMMISSIONS];
    int nc;
};

static struct {
    enum sim_kind kind;
    enum sim_fail fail;
    long fail_count; /* -1: every request */
    long slow_ms;
    long hang_ms;
    long requests;
    pthread_mutex_t mu;
    const struct gw_config *cfg;
    /* HSA */
    struct sim_person people[SIM_MAX_PEOPLE];
    int npeople;
    /* LV */
    char (*seen)[160]; /* every message id accepted, grown as needed */
    int cap_seen;
    int nseen;
    long registered;
    char then[128];
    long delay_ms;
    struct gw_soap_pool *gateway;
    char gateway_url[256];
} sim = {.mu = PTHREAD_MUTEX_INITIALIZER,
         .fail_count = -1,
         .slow_ms = 5000,
         .hang_ms = 60000,
         .delay_ms = 200};

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stopping)
        ;
}

/* Whether this request fails, and counts it. */
static enum sim_fail
fail_now(void)
{
    enum sim_fail f = FAIL_NONE;

    pthread_mutex_lock(&sim.mu);
    sim.requests++;
    if (sim.fail != FAIL_NONE &&
        (sim.fail_count < 0 || sim.requests <= sim.fail_count))
        f = sim.fail;
    pthread_mutex_unlock(&sim.mu);
    return f;
}

/* A complete HTTP response written on the socket, then the connection is
 * closed: for faults inside HTTP 200. */
static int
raw_fault200(struct soap *soap)
{
    static const char body[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/"
        "soap/envelope/\"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>"
        "SOAP-ENV:Server</faultcode><faultstring>simulated fault in HTTP "
        "200</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body>"
        "</SOAP-ENV:Envelope>";
    char head[200];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: text/xml; "
                     "charset=utf-8\r\nContent-Length: %zu\r\nConnection: "
                     "close\r\n\r\n",
                     sizeof(body) - 1);

    if (send(soap->socket, head, (size_t)n, MSG_NOSIGNAL) < 0 ||
        send(soap->socket, body, sizeof(body) - 1, MSG_NOSIGNAL) < 0)
        gw_log_warn("event=sim_send_failed");
    soap->keep_alive = 0;
    return SOAP_STOP;
}

/* --fail timeout: the request was read and is never answered; the
 * connection is held for --hang-ms (or until the simulator stops), so the
 * caller's own timeout must fire. */
static void
hang(void)
{
    for (long left = sim.hang_ms; left > 0 && !stopping; left -= 100)
        sleep_ms(left < 100 ? left : 100);
}

static const char *
fail_name(enum sim_fail f)
{
    static const char *const names[] = {
        [FAIL_NONE] = "ok",         [FAIL_DOWN] = "down",
        [FAIL_SLOW] = "ok",         [FAIL_FAULT] = "fault",
        [FAIL_FAULT200] = "fault200", [FAIL_DROP] = "drop",
        [FAIL_TIMEOUT] = "timeout", [FAIL_UNAUTHORIZED] = "unauthorized"};

    return names[f];
}

/* One line per message a simulator received, with what it answered
 * (answered=ok: a success went back; otherwise the failure it played), so
 * that tests/reliability can count deliveries per message id across
 * restarts of the simulator. */
static void
note_received(const char *peer, const char *kind, const char *message_id,
              enum sim_fail f)
{
    gw_log_info("event=sim_received peer=%s kind=%s message_id=%s answered=%s",
                peer, kind, gw_log_quote(message_id ? message_id : "-"),
                fail_name(f));
}

/* Applies a failure mode inside a service operation: returns -1 to go on
 * normally (slow has slept), else the value the operation must return. */
static int
inject(struct soap *soap, enum sim_fail f, int before_work)
{
    switch (f) {
    case FAIL_SLOW:
        if (before_work)
            sleep_ms(sim.slow_ms);
        return -1;
    case FAIL_FAULT:
        if (!before_work)
            return -1;
        return soap_receiver_fault(soap, "simulated fault", NULL);
    case FAIL_FAULT200:
        if (!before_work)
            return -1;
        return raw_fault200(soap);
    case FAIL_DOWN:
        if (!before_work)
            return -1;
        soap->keep_alive = 0;
        return SOAP_STOP;
    case FAIL_DROP:
        if (before_work)
            return -1;
        soap->keep_alive = 0;
        return SOAP_STOP;
    case FAIL_TIMEOUT:
        if (!before_work)
            return -1;
        hang();
        soap->keep_alive = 0;
        return SOAP_STOP;
    case FAIL_NONE:
    default:
        return -1;
    }
}

static struct core__ResultType *
result(struct soap *soap, int ok, int error_code, const char *text)
{
    struct core__ResultType *r = soap_malloc(soap, sizeof(*r));
    char log_id[32];

    soap_default_core__ResultType(soap, r);
    r->resultCode = ok ? core__ResultCodeEnum__OK : core__ResultCodeEnum__ERROR;
    snprintf(log_id, sizeof(log_id), "sim-%ld", (long)time(NULL));
    r->logId = soap_strdup(soap, log_id);
    if (!ok) {
        r->errorCode = soap_malloc(soap, sizeof(*r->errorCode));
        *r->errorCode = (enum core__ErrorCodeEnum)error_code;
        r->message = soap_strdup(soap, text);
    }
    return r;
}

/* --- HSA ---------------------------------------------------------------- */

static time_t
parse_date(const char *s)
{
    struct tm tm;

    if (s == NULL || *s == '\0' || strcmp(s, "-") == 0)
        return 0;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static void
copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", strcmp(src, "-") == 0 ? "" : src);
}

/* Tab-separated lines:
 *   P  hsa-id  given  surname  licence[,licence]  prescription-code
 *      protected(0|1)
 *   C  hsa-id  unit  provider  purpose  start  end      ("-": none) */
static int
load_fixture(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int lineno = 0;

    if (f == NULL) {
        fprintf(stderr, "klasgw sim hsa: cannot read %s\n", path);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *col[8] = {0};
        int n = 0;
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        for (char *p = line, *tab; n < 8 && p; p = tab ? tab + 1 : NULL) {
            tab = strchr(p, '\t');
            if (tab)
                *tab = '\0';
            col[n++] = p;
        }
        if (strcmp(col[0], "P") == 0 && n == 7 &&
            sim.npeople < SIM_MAX_PEOPLE) {
            struct sim_person *pp = &sim.people[sim.npeople++];
            memset(pp, 0, sizeof(*pp));
            copy_field(pp->hsa, sizeof(pp->hsa), col[1]);
            copy_field(pp->given, sizeof(pp->given), col[2]);
            copy_field(pp->surname, sizeof(pp->surname), col[3]);
            copy_field(pp->licences, sizeof(pp->licences), col[4]);
            copy_field(pp->code, sizeof(pp->code), col[5]);
            pp->protected_person = atoi(col[6]);
        } else if (strcmp(col[0], "C") == 0 && n == 7) {
            struct sim_person *pp = NULL;
            for (int i = 0; i < sim.npeople; i++)
                if (strcmp(sim.people[i].hsa, col[1]) == 0)
                    pp = &sim.people[i];
            if (pp == NULL || pp->nc >= SIM_MAX_COMMISSIONS) {
                fprintf(stderr, "%s:%d: commission for an unknown person\n",
                        path, lineno);
                fclose(f);
                return -1;
            }
            copy_field(pp->c[pp->nc].unit, sizeof(pp->c[0].unit), col[2]);
            copy_field(pp->c[pp->nc].provider, sizeof(pp->c[0].provider),
                       col[3]);
            copy_field(pp->c[pp->nc].purpose, sizeof(pp->c[0].purpose), col[4]);
            pp->c[pp->nc].start = parse_date(col[5]);
            pp->c[pp->nc].end = parse_date(col[6]);
            pp->nc++;
        } else {
            fprintf(stderr, "%s:%d: expected P (7 columns) or C (7 columns)\n",
                    path, lineno);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

/* HSA gives each legitimerad yrkesgrupp by name and by code. The fixture
 * has the names; these are the codes HSA pairs with them. */
static const struct {
    const char *name, *code;
} licence_codes[] = {
    {"Läkare", "LK"}, {"Tandläkare", "TL"}, {"Sjuksköterska", "SJ"},
    {"Barnmorska", "BM"}, {"Apotekare", "AP"},
};

static const char *
licence_code(const char *name)
{
    for (size_t i = 0; i < sizeof(licence_codes) / sizeof(licence_codes[0]);
         i++)
        if (strcmp(licence_codes[i].name, name) == 0)
            return licence_codes[i].code;
    return NULL;
}

/* Commission i of p, as HSA names it (see hsa_answer). */
static void
commission(struct soap *soap, const struct sim_person *p, int i,
           struct hsac__CommissionType *k)
{
    const struct sim_commission *c = &p->c[i];
    const char *provider = c->provider[0] ? c->provider : c->unit;
    char buf[160];
    size_t n;

    snprintf(buf, sizeof(buf), "%.24s-U%d", p->hsa, i + 1);
    k->commissionHsaId = soap_strdup(soap, buf);
    snprintf(buf, sizeof(buf), "%s, %s", c->purpose[0] ? c->purpose : "-",
             c->unit[0] ? c->unit : provider);
    k->commissionName = soap_strdup(soap, buf);
    k->commissionPurpose = soap_strdup(soap, c->purpose);
    if (c->unit[0]) {
        k->healthCareUnitHsaId = soap_strdup(soap, c->unit);
        snprintf(buf, sizeof(buf), "Vårdenhet %s", c->unit);
        k->healthCareUnitName = soap_strdup(soap, buf);
    }
    k->healthCareProviderHsaId = soap_strdup(soap, provider);
    snprintf(buf, sizeof(buf), "Vårdgivare %s", provider);
    k->healthCareProviderName = soap_strdup(soap, buf);
    /* An HSA-id is the country code, the organisation number, '-' and a
     * local part: SE2321000016-0001 belongs to 2321000016. */
    n = strcspn(provider, "-");
    snprintf(buf, sizeof(buf), "%.*s", (int)(n > 2 ? n - 2 : 0),
             n > 2 ? provider + 2 : "");
    k->healthCareProviderOrgNo = soap_strdup(soap, buf);
}

/* GetCredentialsForPersonIncludingProtectedPerson v2 as HSA answers it
 * (Inera's TKB field table, contract version 2.2): one credentialInformation
 * for a known person, an empty answer for an unknown one (version 2 has no
 * resultCode). Each commission carries what the contract requires: its
 * name and HSA-id (made up from the person's), its purpose, the care
 * provider's HSA-id, name and organisation number (the digits of its
 * HSA-id); the care unit's only when the fixture names one. */
static int
hsa_answer(
    struct soap *soap,
    struct hsa__GetCredentialsForPersonIncludingProtectedPersonType *in,
    struct hsa__GetCredentialsForPersonIncludingProtectedPersonResponseType
        *out)
{
    enum sim_fail f = fail_now();
    const struct sim_person *p = NULL;
    struct hsac__CredentialInformationType *ci;
    const char *to = soap->header && soap->header->itr__LogicalAddress
                         ? soap->header->itr__LogicalAddress
                         : "-";
    int r;

    if (sim.kind != SIM_HSA)
        return soap_receiver_fault(soap, "not served by this simulator", NULL);
    if ((r = inject(soap, f, 1)) >= 0)
        return r;
    soap_default_hsa__GetCredentialsForPersonIncludingProtectedPersonResponseType(
        soap, out);
    for (int i = 0; in->personHsaId && i < sim.npeople; i++)
        if (strcmp(sim.people[i].hsa, in->personHsaId) == 0)
            p = &sim.people[i];
    gw_log_info("event=sim_hsa_lookup person=%s found=%d logical_address=%s",
                in->personHsaId ? in->personHsaId : "-", p != NULL,
                gw_log_quote(to));
    if (p == NULL)
        return SOAP_OK;
    ci = soap_malloc(soap, sizeof(*ci));
    soap_default_hsac__CredentialInformationType(soap, ci);
    out->credentialInformation = ci;
    out->__sizecredentialInformation = 1;
    ci->personHsaId = soap_strdup(soap, p->hsa);
    ci->givenName = soap_strdup(soap, p->given);
    ci->middleAndSurName = soap_strdup(soap, p->surname);
    ci->protectedPerson = soap_malloc(soap, sizeof(*ci->protectedPerson));
    *ci->protectedPerson =
        p->protected_person ? xsd__boolean__true_ : xsd__boolean__false_;
    if (p->code[0])
        ci->personalPrescriptionCode = soap_strdup(soap, p->code);
    if (p->licences[0]) {
        char *copy = soap_strdup(soap, p->licences), *save = NULL;
        ci->healthCareProfessionalLicence =
            soap_malloc(soap, 8 * sizeof(char *));
        ci->healthCareProfessionalLicenceCode =
            soap_malloc(soap, 8 * sizeof(char *));
        for (char *t = strtok_r(copy, ",", &save);
             t && ci->__sizehealthCareProfessionalLicence < 8;
             t = strtok_r(NULL, ",", &save)) {
            const char *code = licence_code(t);
            ci->healthCareProfessionalLicence
                [ci->__sizehealthCareProfessionalLicence++] = t;
            if (code != NULL)
                ci->healthCareProfessionalLicenceCode
                    [ci->__sizehealthCareProfessionalLicenceCode++] =
                    (char *)code;
        }
    }
    if (p->nc > 0) {
        ci->commission =
            soap_malloc(soap, (size_t)p->nc * sizeof(*ci->commission));
        for (int i = 0; i < p->nc; i++) {
            struct hsac__CommissionType *k = &ci->commission[i];
            soap_default_hsac__CommissionType(soap, k);
            commission(soap, p, i, k);
            if (p->c[i].unit[0] && p->c[i].start) {
                k->healthCareUnitStartDate = soap_malloc(soap, sizeof(time_t));
                *k->healthCareUnitStartDate = p->c[i].start;
            }
            if (p->c[i].unit[0] && p->c[i].end) {
                k->healthCareUnitEndDate = soap_malloc(soap, sizeof(time_t));
                *k->healthCareUnitEndDate = p->c[i].end;
            }
        }
        ci->__sizecommission = p->nc;
    }
    return SOAP_OK;
}

/* --- LV ----------------------------------------------------------------- */

/* 1 if message_id was seen before; records it otherwise. */
static int
seen_before(const char *message_id)
{
    int dup = 0;

    pthread_mutex_lock(&sim.mu);
    for (int i = 0; i < sim.nseen && !dup; i++)
        dup = strcmp(sim.seen[i], message_id) == 0;
    if (!dup && sim.nseen == sim.cap_seen) {
        /* A receiver that forgets ids counts a late resend as new: the
         * list grows (a fixed 4096 made R1's 100-kill run see 20 doubles). */
        int cap = sim.cap_seen ? sim.cap_seen * 2 : 4096;
        void *p = realloc(sim.seen, (size_t)cap * sizeof(sim.seen[0]));
        if (p != NULL) {
            sim.seen = p;
            sim.cap_seen = cap;
        }
    }
    if (!dup && sim.nseen < sim.cap_seen)
        snprintf(sim.seen[sim.nseen++], sizeof(sim.seen[0]), "%s", message_id);
    if (!dup)
        sim.registered++;
    pthread_mutex_unlock(&sim.mu);
    return dup;
}

/*
 * The XML of an example that exists as JSON only (path names the .xml):
 * gen-examples.py writes JSON, so a decision row added since the XML
 * examples were made has decision-<outcome>.json alone. NULL: none.
 */
static char *
json_template(const char *path)
{
    char json[1024];
    char *buf = NULL, *xml = NULL;
    size_t n = strlen(path), len;
    struct gw_fhir_doc *doc = NULL;
    struct gw_err err;

    if (n < 4 || strcmp(path + n - 4, ".xml") != 0 ||
        (size_t)snprintf(json, sizeof(json), "%.*s.json", (int)(n - 4), path) >=
            sizeof(json))
        return NULL;
    if (gw_file_read(json, (1 << 20) - 1, &buf, &len) == GW_OK && len > 0 &&
        gw_fhir_parse(buf, len, GW_FHIR_JSON, NULL, &doc, &err) == GW_OK &&
        gw_fhir_to_xml(doc, &xml, &len) != GW_OK)
        xml = NULL;
    gw_fhir_doc_free(doc);
    free(buf);
    return xml;
}

static char *
read_template(const char *name)
{
    char rel[256], path[1024];
    char *buf = NULL;
    size_t n;

    snprintf(rel, sizeof(rel), "fhir-profiles/examples/valid/%s", name);
    if (gw_config_data_path(sim.cfg, rel, path, sizeof(path)) != GW_OK)
        return NULL;
    if (gw_file_read(path, (1 << 20) - 1, &buf, &n) != GW_OK || n == 0) {
        free(buf);
        return json_template(path);
    }
    return buf;
}

/* Replaces every `from` in s (malloc'd, freed) by `to`. */
static char *
replace(char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    char *out, *o;

    if (s == NULL || fl == 0)
        return s;
    for (const char *p = s; (p = strstr(p, from)) != NULL; p += fl)
        n++;
    out = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1);
    if (out == NULL) {
        free(s);
        return NULL;
    }
    o = out;
    for (const char *p = s;;) {
        const char *hit = strstr(p, from);
        if (hit == NULL) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, to, tl);
        o += tl;
        p = hit + fl;
    }
    free(s);
    return out;
}

struct callback {
    char refnr[16];
    char patient[16];
    char plan[128]; /* the calls to make, comma-separated */
};

/*
 * The patient of each case LV has registered, so that the answers to a
 * supplement (which need not name the patient) name the same one. A small
 * ring: the simulator serves demos and tests, not a year of cases.
 */
#define SIM_PATIENTS 1024
static struct {
    char refnr[16], patient[16];
} patients[SIM_PATIENTS];
static unsigned npatients;

static void
patient_remember(const char *refnr, const char *patient)
{
    if (patient[0] == '\0')
        return;
    pthread_mutex_lock(&sim.mu);
    snprintf(patients[npatients % SIM_PATIENTS].refnr,
             sizeof(patients[0].refnr), "%s", refnr);
    snprintf(patients[npatients % SIM_PATIENTS].patient,
             sizeof(patients[0].patient), "%s", patient);
    npatients++;
    pthread_mutex_unlock(&sim.mu);
}

static void
patient_recall(const char *refnr, char *out, size_t size)
{
    pthread_mutex_lock(&sim.mu);
    for (unsigned i = 0; i < SIM_PATIENTS && i < npatients; i++)
        if (strcmp(patients[i].refnr, refnr) == 0)
            snprintf(out, size, "%s", patients[i].patient);
    pthread_mutex_unlock(&sim.mu);
}

/*
 * The dates LV's answer carries: sent now, and a grant valid from the
 * decision date for 12 months (to the day before the same date a year on;
 * 28 February for a decision on 29 February), as LV grants usually run.
 * UTC dates, as the gateway's own "today".
 */
static char *
with_dates(char *s)
{
    time_t t = time(NULL);
    struct tm tm, end;
    char now[32], from[16], to[16];

    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
    strftime(from, sizeof(from), "%Y-%m-%d", &tm);
    end = tm;
    end.tm_year++;
    end.tm_mday--;
    if (tm.tm_mon == 1 && tm.tm_mday == 29)
        end.tm_mday = 27; /* 28 Feb next year, one day before 1 March */
    end.tm_isdst = 0;
    t = timegm(&end);
    gmtime_r(&t, &end);
    strftime(to, sizeof(to), "%Y-%m-%d", &end);
    s = replace(s, "2026-02-02T10:00:00+01:00", now);
    s = replace(s, "2026-02-10", from);
    return replace(s, "2027-02-09", to);
}

/* The Bundle of a template, for this case, without the XML declaration. */
static char *
message_for(const char *tmpl, const struct callback *cb)
{
    char *s = read_template(tmpl), *decl;

    s = replace(s, "2026658327", cb->refnr);
    if (cb->patient[0])
        s = replace(s, "201006301111", cb->patient);
    s = with_dates(s);
    if (s != NULL && (decl = strstr(s, "?>")) != NULL &&
        strncmp(s, "<?xml", 5) == 0)
        memmove(s, decl + 2, strlen(decl + 2) + 1);
    return s;
}

/*
 * LV's decisions are the decision rows of klas/event.c
 * (gw_klas_decision): their outcome (a status code, "Bev") is what --call
 * and --then name, and the template is the example gen-examples.py writes
 * for the row, decision-<outcome folded to ASCII lower case>.xml.
 */
/* A call as a name part (a file name, a messageId, which is ASCII): lower
 * case, å ä ö é folded (UTF-8), as scripts/klas_rows.py ascii_name names
 * the examples ("Åter" -> "ater"). */
static void
ascii_name(const char *what, char *out, size_t size)
{
    static const struct {
        const char *utf8, *ascii;
    } fold[] = {{"\xc3\xa5", "a"}, {"\xc3\x85", "a"}, {"\xc3\xa4", "a"},
                {"\xc3\x84", "a"}, {"\xc3\xb6", "o"}, {"\xc3\x96", "o"},
                {"\xc3\xa9", "e"}, {"\xc3\x89", "e"}};
    size_t at = 0;

    for (const char *p = what; *p && at + 1 < size;) {
        size_t k, n = sizeof(fold) / sizeof(fold[0]);
        for (k = 0; k < n; k++)
            if (strncmp(p, fold[k].utf8, 2) == 0)
                break;
        if (k < n) {
            out[at++] = fold[k].ascii[0];
            p += 2;
        } else {
            char c = *p++;
            out[at++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
        }
    }
    out[at] = '\0';
}

/* Whether what is a call LV can make: registered, supplement or one of
 * the decision outcomes. */
static int
call_known(const char *what)
{
    return strcmp(what, "registered") == 0 || strcmp(what, "supplement") == 0 ||
           gw_klas_decision(what) != NULL;
}

/* Whether every step of a --then plan is a known call. */
static int
plan_known(const char *plan)
{
    char buf[128], *save = NULL;

    if ((size_t)snprintf(buf, sizeof(buf), "%s", plan) >= sizeof(buf))
        return 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (!call_known(t))
            return 0;
    return 1;
}

static int
call_gateway(const char *what, const struct callback *cb)
{
    struct soap *s = gw_soap_pool_get(sim.gateway);
    char url[320], msgid[96], name[32];
    const char *verdict = "-";
    struct core__ResultType *res = NULL;
    char *msg = NULL;
    int e = SOAP_OK;
    struct core__FhirMessageType payload;

    if (s == NULL)
        return 1;
    ascii_name(what, name, sizeof(name));
    /* Each call is a new message: LV asking twice (registered after the
     * application, again after a supplement) must not look like a resend. */
    {
        char uuid[37];
        if (gw_random_uuid(uuid) != GW_OK)
            snprintf(uuid, sizeof(uuid), "%lld", (long long)time(NULL));
        snprintf(msgid, sizeof(msgid), "lv-sim-%s-%s-%s", cb->refnr, name,
                 uuid);
    }
    soap_default_core__FhirMessageType(s, &payload);
/* One of LV's reports, ns__opType, the message of template as its field. */
#define REPORT(ns, op, field, template)                                        \
    do {                                                                       \
        struct ns##__##op##Type in;                                            \
        struct ns##__##op##ResponseType out;                                   \
        msg = message_for(template, cb);                                       \
        soap_default_##ns##__##op##Type(s, &in);                               \
        in.messageId = msgid;                                                  \
        in.referenceNumber = (char *)cb->refnr;                                \
        payload.__any = msg;                                                   \
        in.field = &payload;                                                   \
        snprintf(url, sizeof(url), "%s/soap/" #op, sim.gateway_url);           \
        if (msg != NULL && (e = soap_call___##ns##i__##op(s, url, NULL, &in,   \
                                                          &out)) == SOAP_OK)   \
            res = out.result;                                                  \
    } while (0)
    if (strcmp(what, "registered") == 0) {
        REPORT(rcr, ReportCaseRegistered, registration,
               "application-registered.xml");
    } else if (strcmp(what, "supplement") == 0) {
        REPORT(rsu, RequestSupplement, supplementRequest,
               "supplement-request-to-prescriber.xml");
    } else if (gw_klas_decision(what) != NULL) {
        char tmpl[64];
        /* decision-<outcome>.xml, the example of the row */
        snprintf(tmpl, sizeof(tmpl), "decision-%s.xml", name);
        REPORT(rde, ReportDecision, decision, tmpl);
    }
#undef REPORT
    if (msg == NULL)
        verdict = "no-template";
    else if (e != SOAP_OK)
        verdict = "fault";
    else if (res && res->resultCode == core__ResultCodeEnum__OK)
        verdict = "OK";
    else
        verdict = "ERROR";
    gw_log_info("event=sim_lv_callback action=%s refnr=%s result=%s text=%s",
                what, cb->refnr, verdict,
                gw_log_quote(res && res->message ? res->message : ""));
    free(msg);
    gw_soap_pool_put(sim.gateway, s, e == SOAP_OK);
    return strcmp(verdict, "OK") == 0 ? 0 : 1;
}

static void *
callbacks(void *arg)
{
    struct callback *cb = arg;
    char plan[128], *save = NULL;

    snprintf(plan, sizeof(plan), "%s", cb->plan);
    for (char *t = strtok_r(plan, ",", &save); t && !stopping;
         t = strtok_r(NULL, ",", &save)) {
        sleep_ms(sim.delay_ms);
        if (call_gateway(t, cb) != 0)
            break; /* the next step would fail as well */
    }
    free(cb);
    return NULL;
}

/* The patient's personnummer or samordningsnummer in the application, so
 * that LV's answers name the same patient (synthetic data). */
static void
patient_of(const char *xml, char *out, size_t size)
{
    static const char *const sys[] = {
        "identifier/personnummer\"/><value value=\"",
        "identifier/samordningsnummer\"/><value value=\""};

    out[0] = '\0';
    for (size_t i = 0; xml && i < 2 && out[0] == '\0'; i++) {
        const char *p = strstr(xml, sys[i]);
        if (p != NULL) {
            p += strlen(sys[i]);
            snprintf(out, size, "%.*s", (int)strcspn(p, "\""), p);
        }
    }
}

/*
 * What LV does after registering something, from --then: after an
 * application the steps up to and including the first "supplement" (a
 * request for more information; LV then waits); after the supplement
 * arrives, "registered" (the case is handled again, K -> H) and the steps
 * after that "supplement". Without a supplement step in the plan the
 * whole plan follows the application.
 */
static void
plan_for(const char *what, char *out, size_t size)
{
    const char *sup = strstr(sim.then, "supplement");

    if (strcmp(what, "application") == 0) {
        size_t n = sup ? (size_t)(sup - sim.then) + strlen("supplement")
                       : strlen(sim.then);
        snprintf(out, size, "%.*s", (int)n, sim.then);
    } else if (sup != NULL) {
        const char *rest = sup + strlen("supplement");
        snprintf(out, size, "registered%s", rest);
    } else {
        snprintf(out, size, "registered");
    }
}

/* A registration of what (an application or a supplement, its message
 * msg): a fault or injected answer, or SOAP_OK with *res the success
 * result and *case_number (may be NULL) LV's case number. */
static int
lv_register(struct soap *soap, const char *what, const char *message_id,
            const char *refnr, const struct core__FhirMessageType *msg,
            struct core__ResultType **res, char **case_number)
{
    const char *xml = msg != NULL ? msg->__any : NULL;
    enum sim_fail f = fail_now();
    int dup, r;

    if (sim.kind != SIM_LV)
        return soap_receiver_fault(soap, "not served by this simulator", NULL);
    if (f == FAIL_TIMEOUT) /* counted before the caller gives up */
        note_received("lv", what, message_id, f);
    if ((r = inject(soap, f, 1)) >= 0) {
        if (f != FAIL_TIMEOUT)
            note_received("lv", what, message_id, f);
        return r;
    }
    if (message_id == NULL || refnr == NULL)
        return soap_sender_fault(soap,
                                 "messageId and referenceNumber "
                                 "are required",
                                 NULL);
    dup = seen_before(message_id);
    gw_log_info("event=sim_lv_%s refnr=%s message_id=%s duplicate=%d "
                "registered_total=%ld",
                what, refnr, gw_log_quote(message_id), dup, sim.registered);
    if (!dup && sim.then[0] && sim.gateway != NULL) {
        struct callback *cb = calloc(1, sizeof(*cb));
        pthread_t t;
        if (cb != NULL) {
            snprintf(cb->refnr, sizeof(cb->refnr), "%s", refnr);
            patient_of(xml, cb->patient, sizeof(cb->patient));
            if (cb->patient[0] == '\0')
                patient_recall(refnr, cb->patient, sizeof(cb->patient));
            else
                patient_remember(refnr, cb->patient);
            plan_for(what, cb->plan, sizeof(cb->plan));
            if (pthread_create(&t, NULL, callbacks, cb) == 0)
                pthread_detach(t);
            else
                free(cb);
        }
    }
    r = inject(soap, f, 0);
    note_received("lv", what, message_id, r >= 0 ? f : FAIL_NONE);
    if (r >= 0)
        return r;
    *res = result(soap, 1, 0, NULL);
    if (case_number != NULL)
        *case_number = soap_strdup(soap, refnr);
    return SOAP_OK;
}

/* --- the generated dispatcher's operations ----------------------------- */

int
__hsai__GetCredentialsForPersonIncludingProtectedPerson(
    struct soap *soap,
    struct hsa__GetCredentialsForPersonIncludingProtectedPersonType *in,
    struct hsa__GetCredentialsForPersonIncludingProtectedPersonResponseType
        *out)
{
    return hsa_answer(soap, in, out);
}

static int
ping(struct soap *soap, struct ping__PingForConfigurationType *in,
     struct ping__PingForConfigurationResponseType *out)
{
    char now[32];
    time_t t = time(NULL);
    struct tm tm;

    (void)in;
    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y%m%d%H%M%S", &tm);
    soap_default_ping__PingForConfigurationResponseType(soap, out);
    out->version = soap_strdup(soap, GW_VERSION "-sim");
    out->pingDateTime = soap_strdup(soap, now);
    return SOAP_OK;
}

/* The gateway's own interactions: not played by any simulator. */
static int
not_here(struct soap *soap)
{
    return soap_receiver_fault(
        soap, "served by the gateway, not by a simulator", NULL);
}

/* gSOAP's dispatcher calls op for the SOAP 1.1 binding of an interaction
 * and op_ for its SOAP 1.2 binding; both answer with call. */
#define BINDINGS(op, req, resp, call)                                          \
    int op(struct soap *soap, struct req *in, struct resp *out)                \
    {                                                                          \
        return call;                                                           \
    }                                                                          \
    int op##_(struct soap *soap, struct req *in, struct resp *out)             \
    {                                                                          \
        return call;                                                           \
    }
#define NOT_HERE(op, req, resp)                                                \
    BINDINGS(op, req, resp, ((void)in, (void)out, not_here(soap)))

BINDINGS(__rlai__RegisterLicenseApplication,
         rla__RegisterLicenseApplicationType,
         rla__RegisterLicenseApplicationResponseType,
         (soap_default_rla__RegisterLicenseApplicationResponseType(soap, out),
          lv_register(soap, "application", in->messageId, in->referenceNumber,
                      in->application, &out->result, &out->lvCaseNumber)))
BINDINGS(__rlsi__RegisterLicenseSupplement, rls__RegisterLicenseSupplementType,
         rls__RegisterLicenseSupplementResponseType,
         (soap_default_rls__RegisterLicenseSupplementResponseType(soap, out),
          lv_register(soap, "supplement", in->messageId, in->referenceNumber,
                      in->supplement, &out->result, NULL)))
BINDINGS(__pingi__PingForConfiguration, ping__PingForConfigurationType,
         ping__PingForConfigurationResponseType, ping(soap, in, out))
NOT_HERE(__slmi__SubmitLicenseMotivation, slm__SubmitLicenseMotivationType,
         slm__SubmitLicenseMotivationResponseType)
NOT_HERE(__supi__SupplementLicenseMotivation,
         sup__SupplementLicenseMotivationType,
         sup__SupplementLicenseMotivationResponseType)
NOT_HERE(__glci__GetLicenseCases, glc__GetLicenseCasesType,
         glc__GetLicenseCasesResponseType)
NOT_HERE(__glmi__GetLicenseMotivation, glm__GetLicenseMotivationType,
         glm__GetLicenseMotivationResponseType)
NOT_HERE(__clai__CreateLicenseApplication, cla__CreateLicenseApplicationType,
         cla__CreateLicenseApplicationResponseType)
NOT_HERE(__rcri__ReportCaseRegistered, rcr__ReportCaseRegisteredType,
         rcr__ReportCaseRegisteredResponseType)
NOT_HERE(__rsui__RequestSupplement, rsu__RequestSupplementType,
         rsu__RequestSupplementResponseType)
NOT_HERE(__rdei__ReportDecision, rde__ReportDecisionType,
         rde__ReportDecisionResponseType)
NOT_HERE(__chli__CheckLicense, chl__CheckLicenseType,
         chl__CheckLicenseResponseType)
NOT_HERE(__rdpi__RecordDispensing, rdp__RecordDispensingType,
         rdp__RecordDispensingResponseType)

/* --- TLS (--tls-cert, --tls-key, --tls-ca, --require-client-cert) ------ */

/* With GnuTLS, the gateway's one TLS library: a simulator serves TLS on
 * its port when given a certificate, requires and verifies client
 * certificates against --tls-ca when told to, and presents its
 * certificate when it calls the gateway (LV's callbacks). */
static struct {
    gnutls_certificate_credentials_t cred;
    int on, require;
    const char *cert, *key, *ca;
    struct gw_tls_client client; /* for calls to the gateway */
} simtls;

static int
tls_setup(void)
{
    int r;

    if (simtls.cert == NULL && simtls.key == NULL)
        return simtls.require ? -1 : 0;
    if (simtls.cert == NULL || simtls.key == NULL ||
        (simtls.require && simtls.ca == NULL))
        return -1;
    if (gnutls_certificate_allocate_credentials(&simtls.cred) < 0)
        return -1;
    r = gnutls_certificate_set_x509_key_file(simtls.cred, simtls.cert,
                                             simtls.key, GNUTLS_X509_FMT_PEM);
    if (r < 0) {
        fprintf(stderr, "klasgw sim: --tls-cert/--tls-key: %s\n",
                gnutls_strerror(r));
        return -1;
    }
    if (simtls.ca != NULL &&
        gnutls_certificate_set_x509_trust_file(simtls.cred, simtls.ca,
                                               GNUTLS_X509_FMT_PEM) <= 0) {
        fprintf(stderr, "klasgw sim: --tls-ca: no certificate read\n");
        return -1;
    }
    simtls.on = 1;
    simtls.client.peer = "gateway";
    simtls.client.cert = simtls.cert;
    simtls.client.key = simtls.key;
    simtls.client.ca = simtls.ca;
    simtls.client.verify_host = 1;
    simtls.client.min_version = 12;
    return 0;
}

/* The server side of a handshake on fd; NULL (logged) when it fails,
 * e.g. a client certificate missing or from another CA. */
static gnutls_session_t
tls_accept(int fd)
{
    gnutls_session_t ts = NULL;
    struct timeval tv = {30, 0};
    int r;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (gnutls_init(&ts, GNUTLS_SERVER) < 0)
        return NULL;
    gnutls_set_default_priority(ts);
    gnutls_credentials_set(ts, GNUTLS_CRD_CERTIFICATE, simtls.cred);
    if (simtls.require) {
        gnutls_certificate_server_set_request(ts, GNUTLS_CERT_REQUIRE);
        /* Verified during the handshake: a refused certificate ends it
         * with an alert the client reports. */
        gnutls_session_set_verify_cert(ts, NULL, 0);
    }
    gnutls_transport_set_int(ts, fd);
    gnutls_handshake_set_timeout(ts, 10000);
    do
        r = gnutls_handshake(ts);
    while (r < 0 && !gnutls_error_is_fatal(r));
    if (r < 0) {
        gw_log_warn("event=sim_tls_refused reason=%s",
                    gw_log_quote(gnutls_strerror(r)));
        gnutls_deinit(ts);
        return NULL;
    }
    return ts;
}

static int
tls_fsend(struct soap *soap, const char *buf, size_t n)
{
    gnutls_session_t ts = soap->user;

    while (n > 0) {
        ssize_t r = gnutls_record_send(ts, buf, n);
        if (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN)
            continue;
        if (r < 0)
            return soap->error = SOAP_EOF;
        buf += r;
        n -= (size_t)r;
    }
    return SOAP_OK;
}

static size_t
tls_frecv(struct soap *soap, char *buf, size_t n)
{
    gnutls_session_t ts = soap->user;
    ssize_t r;

    do
        r = gnutls_record_recv(ts, buf, n);
    while (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN);
    return r > 0 ? (size_t)r : 0;
}

/* A webhook connection: the socket, and its TLS session when serving TLS. */
struct conn {
    int fd;
    gnutls_session_t ts;
};

static ssize_t
conn_recv(struct conn *c, char *buf, size_t n)
{
    ssize_t r;

    if (c->ts == NULL)
        return recv(c->fd, buf, n, 0);
    do
        r = gnutls_record_recv(c->ts, buf, n);
    while (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN);
    return r < 0 ? -1 : r;
}

static ssize_t
conn_send(struct conn *c, const char *buf, size_t n)
{
    if (c->ts == NULL)
        return send(c->fd, buf, n, MSG_NOSIGNAL);
    return gnutls_record_send(c->ts, buf, n) < 0 ? -1 : (ssize_t)n;
}

/* --- servers ------------------------------------------------------------ */

static void *
serve_one(void *arg)
{
    struct soap *s = arg;
    gnutls_session_t ts = NULL;

    if (simtls.on) {
        ts = tls_accept(s->socket);
        if (ts == NULL)
            goto out;
        s->user = ts;
        s->fsend = tls_fsend;
        s->frecv = tls_frecv;
    }
    soap_serve(s);
    if (ts != NULL)
        gnutls_bye(ts, GNUTLS_SHUT_WR);
out:
    soap_destroy(s);
    soap_end(s);
    soap_free(s);
    if (ts != NULL)
        gnutls_deinit(ts);
    return NULL;
}

static int
run_soap(int port)
{
    struct soap *s = soap_new1(SOAP_IO_KEEPALIVE | SOAP_C_UTFSTRING);
    int status = 1;

    if (s == NULL)
        return 1;
    s->bind_flags = SO_REUSEADDR;
    s->accept_timeout = 1; /* look at `stopping` every second */
    s->recv_timeout = 30;
    s->send_timeout = 30;
    if (!soap_valid_socket(soap_bind(s, "127.0.0.1", port, 64))) {
        fprintf(stderr, "klasgw sim: cannot listen on 127.0.0.1:%d\n", port);
        goto out;
    }
    gw_log_info("event=sim_ready kind=%s port=%d fail=%d",
                sim.kind == SIM_HSA ? "hsa" : "lv", port, (int)sim.fail);
    while (!stopping) {
        SOAP_SOCKET c = soap_accept(s);
        struct soap *copy;
        pthread_t t;
        if (!soap_valid_socket(c))
            continue;
        copy = soap_copy(s);
        if (copy == NULL) {
            soap_force_closesock(s);
            continue;
        }
        if (pthread_create(&t, NULL, serve_one, copy) != 0) {
            soap_free(copy);
            continue;
        }
        pthread_detach(t);
    }
    status = 0;
out:
    soap_destroy(s);
    soap_end(s);
    soap_free(s);
    return status;
}

/* Seconds a webhook connection may stay idle between two requests. */
#define WEBHOOK_IDLE_S 5

/* Reads until buf holds one whole request (head and Content-Length body)
 * or the peer closes or goes quiet; *used gets the request's length
 * (what follows is the next request). 0 when nothing was read. */
static int
webhook_read(struct conn *c, char *buf, size_t size, size_t *n, size_t *used)
{
    for (;;) {
        char *body;
        buf[*n] = '\0';
        body = strstr(buf, "\r\n\r\n");
        if (body != NULL) {
            const char *cl = gw_sim_find_ci(buf, "\r\nContent-Length:");
            size_t head = (size_t)(body + 4 - buf);
            long want = cl && cl < body ? strtol(cl + 17, NULL, 10) : 0;
            if (want < 0)
                want = 0;
            if (*n - head >= (size_t)want) {
                *used = head + (size_t)want;
                return 1;
            }
        }
        if (*n >= size - 1) {
            *used = *n;
            return 1;
        }
        {
            ssize_t r = conn_recv(c, buf + *n, size - 1 - *n);
            if (r <= 0) {
                /* Closed or quiet: a partial request is still logged. */
                *used = *n;
                return *n > 0;
            }
            *n += (size_t)r;
        }
    }
}

/* One request (NUL-terminated at its end): logs it, answers 204 (or fails
 * as told). 1 when the connection may carry the next request. */
static int
webhook_request(struct conn *c, char *buf)
{
    enum sim_fail f;
    char *body, id[160] = "-", qid[700];
    int ok, dup;
    const char *reply = "HTTP/1.1 204 No Content\r\n\r\n";
    const char *conn = gw_sim_find_ci(buf, "\r\nConnection:");
    const char *closing = conn ? gw_sim_find_ci(conn + 13, "close") : NULL;
    int keep = !(closing != NULL && closing < strchr(conn + 2, '\r'));

    body = strstr(buf, "\r\n\r\n");
    f = fail_now();
    {
        const char *mid = gw_sim_find_ci(buf, "\r\nX-Message-Id:");
        if (mid != NULL) {
            mid += 15;
            while (*mid == ' ')
                mid++;
            snprintf(id, sizeof(id), "%.*s", (int)strcspn(mid, "\r\n"), mid);
        }
    }
    note_received("pharmacy", "notify", id, f);
    if (f == FAIL_TIMEOUT)
        hang();
    if (f == FAIL_SLOW)
        sleep_ms(sim.slow_ms);
    if (f == FAIL_DOWN || f == FAIL_DROP || f == FAIL_TIMEOUT)
        return 0;
    if (f == FAIL_FAULT || f == FAIL_FAULT200)
        reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n";
    if (f == FAIL_UNAUTHORIZED)
        reply = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n";
    if (!keep && f != FAIL_FAULT && f != FAIL_FAULT200 &&
        f != FAIL_UNAUTHORIZED)
        reply = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
    /* Notifications carry ids only (no patient data); log them, and
     * whether this message id was accepted before (a duplicate). A refused
     * one is not accepted. */
    ok = f == FAIL_NONE || f == FAIL_SLOW;
    dup = ok ? seen_before(id) : 0;
    /* As a Subscriptions Backport client: checked and kept (subs.c). */
    if (ok && gw_sim_subs_on() && body != NULL) {
        char saved = *body;
        *body = '\0';
        gw_sim_subs_received(buf, body + 4);
        *body = saved;
    }
    snprintf(qid, sizeof(qid), "%s", gw_log_quote(id));
    gw_log_info("event=sim_pharmacy_notification message_id=%s bytes=%zu "
                "duplicate=%d accepted=%d body=%s",
                qid, body ? strlen(body + 4) : 0, dup, ok,
                gw_log_quote(body ? body + 4 : ""));
    if (conn_send(c, reply, strlen(reply)) < 0) {
        gw_log_warn("event=sim_send_failed");
        return 0;
    }
    /* A success keeps the connection (HTTP/1.1 keep-alive), as a real
     * webhook receiver does; a failure closes it. */
    return ok && keep;
}

/* The pharmacy webhook: one thread per connection, which carries one
 * request after another (keep-alive) until the gateway closes it, it
 * stays idle WEBHOOK_IDLE_S, or a request fails as told. */
static void *
webhook_one(void *arg)
{
    struct conn cn = {(int)(intptr_t)arg, NULL};
    char buf[16384];
    size_t n = 0, used = 0;
    struct timeval idle = {WEBHOOK_IDLE_S, 0};

    if (simtls.on && (cn.ts = tls_accept(cn.fd)) == NULL) {
        close(cn.fd);
        return NULL;
    }
    setsockopt(cn.fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
    while (!stopping && webhook_read(&cn, buf, sizeof(buf), &n, &used)) {
        char c = buf[used];
        int keep;
        buf[used] = '\0';
        keep = webhook_request(&cn, buf);
        buf[used] = c;
        memmove(buf, buf + used, n - used);
        n -= used;
        if (!keep)
            break;
    }
    if (cn.ts != NULL) {
        gnutls_bye(cn.ts, GNUTLS_SHUT_WR);
        gnutls_deinit(cn.ts);
    }
    close(cn.fd);
    return NULL;
}

/* The Backport client's options (--subscribe, --header, --heartbeat,
 * --save, --client). */
static struct gw_sim_subs_opts subs_opts;

static int
run_webhook(int port)
{
    struct sockaddr_in a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {1, 0};

    if (fd < 0)
        return 1;
    subs_opts.port = port;
    subs_opts.gateway_url = sim.gateway_url;
    if (subs_opts.client == NULL)
        subs_opts.client = "serial:SE7350000000-APO1"; /* the demo apotek1 */
    if (gw_sim_subs_start(&subs_opts) != 0) {
        close(fd);
        return 1;
    }
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(fd, 64) != 0) {
        fprintf(stderr, "klasgw sim: cannot listen on 127.0.0.1:%d\n", port);
        close(fd);
        return 1;
    }
    gw_log_info("event=sim_ready kind=pharmacy port=%d fail=%d", port,
                (int)sim.fail);
    if (gw_sim_subs_listening() != 0) {
        close(fd);
        return 1;
    }
    while (!stopping) {
        int c = accept(fd, NULL, NULL);
        pthread_t t;
        if (c < 0)
            continue;
        if (pthread_create(&t, NULL, webhook_one, (void *)(intptr_t)c) != 0)
            close(c);
        else
            pthread_detach(t);
    }
    close(fd);
    return 0;
}

/* --- command line ------------------------------------------------------- */

static int
port_of_url(const char *url, int def)
{
    const char *p = url ? strstr(url, "://") : NULL;
    const char *colon;

    if (p == NULL)
        return def;
    p += 3;
    colon = strchr(p, ':');
    if (colon == NULL || (strchr(p, '/') && colon > strchr(p, '/')))
        return def;
    return atoi(colon + 1);
}

/* A usage error: what was wrong, on stderr; the command prints the help. */
static int
usage(const char *what, const char *value)
{
    fprintf(stderr, "klasgw sim: %s%s%s\n", what, value ? ": " : "",
            value ? value : "");
    return 2;
}

int
gw_sim_main(const struct gw_config *cfg, const char *kind,
            gw_sim_next_opt next, void *ctx)
{
    const char *fixture = NULL, *client = "serial:SE2021004078-LISY";
    const char *call = NULL, *v;
    struct callback once;
    char headers[160];
    struct sigaction sa;
    int port = -1, rc, opt;

    sim.cfg = cfg;
    if (kind == NULL)
        return usage("which simulator? hsa, lv or pharmacy", NULL);
    if (strcmp(kind, "hsa") == 0)
        sim.kind = SIM_HSA;
    else if (strcmp(kind, "lv") == 0)
        sim.kind = SIM_LV;
    else if (strcmp(kind, "pharmacy") == 0)
        sim.kind = SIM_PHARMACY;
    else
        return usage("no such simulator", kind);
    memset(&once, 0, sizeof(once));
    snprintf(sim.then, sizeof(sim.then), "registered");
    snprintf(sim.gateway_url, sizeof(sim.gateway_url), "http://%s:%ld",
             cfg->server_listen, cfg->server_port);
    while ((opt = next(ctx, &v)) != -1) {
        switch (opt) {
        case GW_SIM_REQUIRE_CLIENT_CERT:
            simtls.require = 1;
            break;
        case GW_SIM_PORT:
            port = atoi(v);
            break;
        case GW_SIM_FIXTURE:
            fixture = v;
            break;
        case GW_SIM_FAIL_COUNT:
            sim.fail_count = atol(v);
            break;
        case GW_SIM_SLOW_MS:
            sim.slow_ms = atol(v);
            break;
        case GW_SIM_HANG_MS:
            sim.hang_ms = atol(v);
            break;
        case GW_SIM_GATEWAY:
            snprintf(sim.gateway_url, sizeof(sim.gateway_url), "%s", v);
            break;
        case GW_SIM_CLIENT:
            client = subs_opts.client = v;
            break;
        case GW_SIM_SUBSCRIBE:
            subs_opts.topic = v;
            break;
        case GW_SIM_HEADER:
            subs_opts.header = v;
            break;
        case GW_SIM_HEARTBEAT:
            subs_opts.heartbeat_s = atoi(v);
            break;
        case GW_SIM_SAVE:
            subs_opts.dir = v;
            break;
        case GW_SIM_TLS_CERT:
            simtls.cert = v;
            break;
        case GW_SIM_TLS_KEY:
            simtls.key = v;
            break;
        case GW_SIM_TLS_CA:
            simtls.ca = v;
            break;
        case GW_SIM_THEN:
            if (strcmp(v, "none") != 0 && !plan_known(v))
                return usage("--then: not a list of LV's calls", v);
            snprintf(sim.then, sizeof(sim.then), "%s",
                     strcmp(v, "none") == 0 ? "" : v);
            break;
        case GW_SIM_DELAY_MS:
            sim.delay_ms = atol(v);
            break;
        case GW_SIM_CALL:
            if (!call_known(v))
                return usage("--call: not one of LV's calls", v);
            call = v;
            break;
        case GW_SIM_REFNR:
            snprintf(once.refnr, sizeof(once.refnr), "%s", v);
            break;
        case GW_SIM_PATIENT:
            snprintf(once.patient, sizeof(once.patient), "%s", v);
            break;
        case GW_SIM_FAIL:
            if ((sim.fail = fail_of(v)) == FAIL_NONE)
                return usage("--fail: no such mode", v);
            break;
        default:
            return 2; /* getopt_long said which */
        }
    }
    if (port < 0)
        port = sim.kind == SIM_HSA  ? port_of_url(cfg->hsa_url, 8081)
               : sim.kind == SIM_LV ? port_of_url(cfg->lv_url, 8082)
                                    : 8083;
    if (tls_setup() != 0) {
        fprintf(stderr, "klasgw sim: TLS needs --tls-cert and --tls-key; "
                        "--require-client-cert needs --tls-ca\n");
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (sim.kind == SIM_HSA) {
        char path[1024];
        if (fixture == NULL) {
            if (gw_config_data_path(cfg, "tests/fixtures/hsa/prescribers.tsv",
                                    path, sizeof(path)) != GW_OK)
                return 1;
            fixture = path;
            if (load_fixture(fixture) != 0)
                return 1;
        } else if (load_fixture(fixture) != 0) {
            return 1;
        }
        return run_soap(port);
    }
    if (sim.kind == SIM_LV) {
        struct gw_soap_pool_opts po;
        if (gw_http_client_init() != GW_OK)
            return 1;
        snprintf(headers, sizeof(headers), "X-Klasgw-Client: %s", client);
        memset(&po, 0, sizeof(po));
        po.url = sim.gateway_url;
        po.timeout_ms = 10000;
        po.logical_address = "SE2021004078-KLASGW";
        po.extra_headers = headers;
        if (simtls.on)
            po.tls = &simtls.client;
        if (gw_soap_pool_new(&po, NULL, &sim.gateway) != GW_OK)
            return 1;
        if (call != NULL) {
            /* On command: one call to the gateway, then exit. */
            if (once.refnr[0] == '\0')
                return usage("--call needs --refnr", NULL);
            return call_gateway(call, &once);
        }
        rc = run_soap(port);
        gw_soap_pool_free(sim.gateway);
        return rc;
    }
    return run_webhook(port);
}
