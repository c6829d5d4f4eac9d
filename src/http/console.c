/*
 * console.c - the operator's console at /console/: a few server-rendered
 * HTML pages (outbox and dead letters, peers and certificates, cases and
 * refusals, the audit chain) and three forms (retry or discard a dead
 * letter, verify the audit chain).
 *
 * Who: the caller is authenticated like on every route (server.c: the
 * client certificate, or X-Klasgw-Client in plain-HTTP demo mode); this
 * front lets operators in and answers everyone else 403 with a page,
 * logged and audited. A form carries a token bound to the caller (client
 * label and user) under a secret drawn once per process, so another site
 * cannot make an operator's browser post one (the certificate alone
 * would be sent along); a restart invalidates pages already open.
 *
 * What it shows: counts, times, item ids, peers and rule ids. Never a
 * payload, a referensnummer, a name or a personnummer: it reads only
 * through store/console.h, which selects none. Every text that comes from
 * the store or the configuration goes through gw_html_escape.
 *
 * Languages: every text is one row of console_text.tsv (beside this
 * file) with Swedish and English; refusals use the error table's two
 * messages (core/err.h), so both languages give the same reason.
 *
 * Not here: sessions or cookies (the certificate is the session), any
 * write besides gw_outbox_retry, the discard and the verification record.
 */
#include "http/console.h"

#include <ctype.h>
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/tls.h"
#include "core/clock.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/names.h"
#include "core/random.h"
#include "http/console_text_rows.h"
#include "http/route.h"
#include "pipeline/refusals.h"
#include "store/audit_log.h"
#include "store/console.h"
#include "store/outbox.h"
#include "store/write.h"

/* A form body is a token and a word or two. */
#define FORM_MAX 1024
#define PAGE_MAX (1 << 20)
#define CASE_DAYS 14

/* --- texts -------------------------------------------------------------- */

/* The rows of console_text.tsv (GW_CONSOLE_TEXTS, made by the build). */
enum text {
#define TEXT_ENUM(id, sv, en) T_##id,
    GW_CONSOLE_TEXTS(TEXT_ENUM)
#undef TEXT_ENUM
        T_N
};

static const char *const texts[T_N][2] = {
#define TEXT_ROW(id, sv, en) {sv, en},
    GW_CONSOLE_TEXTS(TEXT_ROW)
#undef TEXT_ROW
};

/* --- small pieces, tested on their own ---------------------------------- */

gw_rc
gw_html_escape(struct gw_buf *b, const char *s)
{
    gw_rc rc = GW_OK;
    const char *run = s;

    if (s == NULL)
        return GW_OK;
    for (; *s != '\0' && rc == GW_OK; s++) {
        const char *ref;
        switch (*s) {
        case '&':
            ref = "&amp;";
            break;
        case '<':
            ref = "&lt;";
            break;
        case '>':
            ref = "&gt;";
            break;
        case '"':
            ref = "&quot;";
            break;
        case '\'':
            ref = "&#39;";
            break;
        default:
            continue;
        }
        rc = gw_buf_append(b, run, (size_t)(s - run));
        if (rc == GW_OK)
            rc = gw_buf_append_str(b, ref);
        run = s + 1;
    }
    if (rc == GW_OK)
        rc = gw_buf_append(b, run, (size_t)(s - run));
    return rc;
}

int
gw_console_form_field(const char *body, size_t len, const char *name, char *out,
                      size_t size)
{
    size_t nl = strlen(name), i = 0;

    if (size == 0)
        return 0;
    out[0] = '\0';
    while (body != NULL && i < len) {
        size_t end = i, eq;
        while (end < len && body[end] != '&')
            end++;
        eq = i;
        while (eq < end && body[eq] != '=')
            eq++;
        if (eq - i == nl && memcmp(body + i, name, nl) == 0 && eq < end) {
            size_t vl = end - eq - 1;
            if (vl >= size)
                return 0;
            for (size_t k = 0; k < vl; k++) {
                char ch = body[eq + 1 + k];
                if (!isalnum((unsigned char)ch) && ch != '_' && ch != '-') {
                    out[0] = '\0';
                    return 0;
                }
                out[k] = ch;
            }
            out[vl] = '\0';
            return vl > 0;
        }
        i = end + 1;
    }
    return 0;
}

static pthread_once_t secret_once = PTHREAD_ONCE_INIT;
static unsigned char secret[32];
static int secret_ok;

static void
secret_init(void)
{
    secret_ok = gw_random_bytes(secret, sizeof(secret)) == GW_OK;
}

gw_rc
gw_console_csrf(const char *label, const char *user, char out[65])
{
    unsigned char mac[32];
    char msg[256];
    int n;

    out[0] = '\0';
    pthread_once(&secret_once, secret_init);
    if (!secret_ok)
        return GW_EINTERNAL;
    n = snprintf(msg, sizeof(msg), "klasgw-console\n%s\n%s", label ? label : "",
                 user ? user : "");
    if (n < 0 || (size_t)n >= sizeof(msg))
        return GW_EINTERNAL;
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, secret, sizeof(secret), msg,
                         (size_t)n, mac) < 0)
        return GW_EINTERNAL;
    gw_hex(mac, sizeof(mac), out);
    return GW_OK;
}

int
gw_console_csrf_ok(const char *label, const char *user, const char *token)
{
    char want[65];
    unsigned diff = 0;

    if (token == NULL || strlen(token) != 64 ||
        gw_console_csrf(label, user, want) != GW_OK)
        return 0;
    for (int i = 0; i < 64; i++)
        diff |= (unsigned)(want[i] ^ token[i]);
    return diff == 0;
}

const char *
gw_console_lang(const char *param, const char *al)
{
    if (param != NULL && (strcmp(param, "sv") == 0 || strcmp(param, "en") == 0))
        return strcmp(param, "sv") == 0 ? "sv" : "en";
    /* The first of sv or en the browser lists (q values are rarely out of
     * order), unless it comes with q=0. */
    while (al != NULL && *al != '\0') {
        size_t n = strcspn(al, ",");
        const char *p = al, *q = memchr(al, ';', n);
        double qv = 1;
        while (p < al + n && isspace((unsigned char)*p))
            p++;
        if (q != NULL) {
            const char *v = q + 1;
            while (v < al + n && isspace((unsigned char)*v))
                v++;
            if (v + 2 <= al + n && v[0] == 'q' && v[1] == '=')
                qv = strtod(v + 2, NULL);
        }
        if (qv > 0 &&
            (strncasecmp(p, "sv", 2) == 0 || strncasecmp(p, "en", 2) == 0) &&
            (p + 2 == al + n || p[2] == '-' || p[2] == ';' ||
             isspace((unsigned char)p[2])))
            return strncasecmp(p, "sv", 2) == 0 ? "sv" : "en";
        al += n + (al[n] == ',');
    }
    return "sv";
}

/* --- a page being written ----------------------------------------------- */

struct page {
    struct gw_req *r;
    struct gw_buf b;
    int en; /* 0: Swedish, 1: English */
    const char *lang;
    char csrf[65];
    gw_rc rc;
};

#define TX(p, id) texts[T_##id][(p)->en]

static void
put(struct page *p, const char *s)
{
    if (p->rc == GW_OK)
        p->rc = gw_buf_append_str(&p->b, s);
}

/* Formatted output: for numbers and our own texts only; anything from the
 * store or the configuration goes through esc(). */
static void putf(struct page *p, const char *fmt, ...) GW_PRINTF(2, 3);

static void
putf(struct page *p, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        if (p->rc == GW_OK)
            p->rc = GW_EINTERNAL;
        return;
    }
    put(p, tmp);
}

static void
esc(struct page *p, const char *s)
{
    if (p->rc == GW_OK)
        p->rc = gw_html_escape(&p->b, s);
}

/* A time as "2026-01-15 16:34:00 UTC", or the text for none. */
static void
put_time(struct page *p, int64_t ms, enum text none)
{
    char t[32];

    if (ms <= 0) {
        put(p, texts[none][p->en]);
        return;
    }
    gw_clock_format(ms, t, sizeof(t));
    t[19] = '\0';
    putf(p, "<time datetime=\"%sZ\">%.10s %s UTC</time>", t, t, t + 11);
}

/* An age as "3 h 4 min" or "12 s". */
static void
put_age(struct page *p, int64_t since_ms)
{
    int64_t s = (gw_clock_now_ms() - since_ms) / 1000;

    if (since_ms <= 0) {
        put(p, TX(p, NONE));
        return;
    }
    if (s < 0)
        s = 0;
    if (s < 120)
        putf(p, "%lld s", (long long)s);
    else if (s < 7200)
        putf(p, "%lld min", (long long)(s / 60));
    else if (s < 172800)
        putf(p, "%lld h %lld min", (long long)(s / 3600),
             (long long)(s % 3600 / 60));
    else
        putf(p, "%lld d %lld h", (long long)(s / 86400),
             (long long)(s % 86400 / 3600));
}

/* The pages, in the order of the navigation (found by path, which leads
 * the row). */
struct console_page {
    const char *path;
    enum text title;
    void (*render)(struct page *p);
};

static void page_outbox(struct page *p);
static void page_peers(struct page *p);
static void page_cases(struct page *p);
static void page_audit(struct page *p);

static const struct console_page pages[] = {
    {"/console/", T_P_OUTBOX, page_outbox},
    {"/console/peers", T_P_PEERS, page_peers},
    {"/console/cases", T_P_CASES, page_cases},
    {"/console/audit", T_P_AUDIT, page_audit},
};
#define NPAGES (sizeof(pages) / sizeof(pages[0]))

/* The notices a form's redirect may ask for (?done=...). */
static const struct gw_name_value notices[] = {
    {"retry", T_DONE_RETRY},
    {"discard", T_DONE_DISCARD},
    {"gone", T_DONE_GONE},
    {"verify", T_DONE_VERIFY},
};

static void
head(struct page *p, const struct console_page *cur, const char *h1)
{
    putf(p,
         "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
         "<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, "
         "initial-scale=1\">\n<title>",
         p->lang);
    esc(p, h1);
    put(p, " – ");
    esc(p, TX(p, TITLE));
    put(p, "</title>\n<link rel=\"stylesheet\" href=\"/console/console.css\">\n"
           "<script src=\"/console/console.js\" defer></script>\n"
           "</head>\n<body>\n<header>\n<p class=\"brand\">");
    esc(p, TX(p, TITLE));
    put(p, "</p>\n<nav aria-label=\"");
    esc(p, TX(p, NAV));
    put(p, "\"><ul>\n");
    for (size_t i = 0; i < NPAGES; i++) {
        putf(p, "<li><a href=\"%s?lang=%s\"%s>", pages[i].path, p->lang,
             &pages[i] == cur ? " aria-current=\"page\"" : "");
        esc(p, texts[pages[i].title][p->en]);
        put(p, "</a></li>\n");
    }
    put(p, "</ul></nav>\n<nav aria-label=\"");
    esc(p, TX(p, LANGS));
    putf(p,
         "\"><ul><li><a href=\"%s?lang=sv\" hreflang=\"sv\" lang=\"sv\"%s>"
         "Svenska</a></li><li><a href=\"%s?lang=en\" hreflang=\"en\" "
         "lang=\"en\"%s>English</a></li></ul></nav>\n",
         cur ? cur->path : "/console/", p->en ? "" : " aria-current=\"true\"",
         cur ? cur->path : "/console/", p->en ? " aria-current=\"true\"" : "");
    put(p, "</header>\n<main>\n<h1>");
    esc(p, h1);
    put(p, "</h1>\n");
}

static void
foot(struct page *p)
{
    put(p, "</main>\n<footer><p>");
    esc(p, TX(p, SIGNED_IN));
    put(p, ": <span data-k=\"who\">");
    esc(p, p->r->label);
    if (p->r->user[0] != '\0') {
        put(p, " (");
        esc(p, p->r->user);
        put(p, ")");
    }
    put(p, "</span></p></footer>\n</body>\n</html>\n");
}

static void
autorefresh(struct page *p)
{
    put(p, "<p class=\"js-only\"><input type=\"checkbox\" id=\"autorefresh\">"
           " <label for=\"autorefresh\">");
    esc(p, TX(p, AUTOREFRESH));
    put(p, "</label></p>\n");
}

/* A form posting to action with the caller's token; the button's label
 * says what and on which item, for a screen reader too. */
static void
button_form(struct page *p, const char *action, const char *confirm,
            const char *cls, enum text label, long long item)
{
    putf(p, "<form class=\"inline\" method=\"post\" action=\"%s\"", action);
    if (confirm != NULL) {
        put(p, " data-confirm=\"");
        esc(p, confirm);
        put(p, "\"");
    }
    putf(p,
         "><input type=\"hidden\" name=\"csrf\" value=\"%s\">"
         "<input type=\"hidden\" name=\"lang\" value=\"%s\">"
         "<button type=\"submit\"%s%s%s data-action=\"%s\"",
         p->csrf, p->lang, cls ? " class=\"" : "", cls ? cls : "",
         cls ? "\"" : "",
         label == T_RETRY     ? "retry"
         : label == T_DISCARD ? "discard"
                              : "verify");
    if (item > 0)
        putf(p, " data-item=\"%lld\"", item);
    put(p, ">");
    esc(p, texts[label][p->en]);
    if (item > 0) {
        put(p, "<span class=\"visually-hidden\"> ");
        esc(p, TX(p, ITEM));
        putf(p, " %lld</span>", item);
    }
    put(p, "</button></form>");
}

static void
th(struct page *p, enum text t)
{
    put(p, "<th scope=\"col\">");
    esc(p, texts[t][p->en]);
    put(p, "</th>");
}

static void
caption(struct page *p, enum text t)
{
    put(p, "<caption>");
    esc(p, texts[t][p->en]);
    put(p, "</caption>\n");
}

/* A table up to its body: id, caption, the heads of its columns (cols,
 * ended by T_N). */
static void
table_open(struct page *p, const char *id, enum text cap, const enum text *cols)
{
    putf(p, "<table id=\"%s\">\n", id);
    caption(p, cap);
    put(p, "<thead><tr>");
    for (; *cols != T_N; cols++)
        th(p, *cols);
    put(p, "</tr></thead>\n<tbody>\n");
}

/* What stands instead of an empty table: text t, named k for the tests. */
static void
empty_note(struct page *p, const char *k, enum text t)
{
    putf(p, "<p data-k=\"%s\">", k);
    esc(p, texts[t][p->en]);
    put(p, "</p>\n");
}

/* The peers the configuration knows, listed even with nothing queued. */
static const char *const known_peers[] = {"lv", "pharmacy"};

static void
page_outbox(struct page *p)
{
    struct gw_store *st = p->r->h->o.store;
    struct gw_console_peer peers[GW_CONSOLE_MAX_PEERS];
    struct gw_console_dead *dead = NULL;
    size_t np = 0, nd = 0;
    char action[80];

    autorefresh(p);
    if (p->rc == GW_OK)
        p->rc = gw_console_peers(st, known_peers, 2, peers,
                                 GW_CONSOLE_MAX_PEERS, &np);
    table_open(p, "queues", T_QUEUE_CAP,
               (const enum text[]){T_PEER, T_PENDING, T_INFLIGHT, T_OLDEST,
                                   T_DEAD, T_N});
    for (size_t i = 0; i < np && p->rc == GW_OK; i++) {
        put(p, "<tr data-peer=\"");
        esc(p, peers[i].peer);
        put(p, "\"><th scope=\"row\">");
        esc(p, peers[i].peer);
        putf(p,
             "</th><td class=\"num\" data-k=\"pending\">%lld</td>"
             "<td class=\"num\" data-k=\"inflight\">%lld</td>"
             "<td data-k=\"oldest\">",
             peers[i].pending, peers[i].inflight);
        put_age(p, peers[i].oldest_pending_ms);
        putf(p, "</td><td class=\"num%s\" data-k=\"dead\">%lld</td></tr>\n",
             peers[i].dead > 0 ? " warn" : "", peers[i].dead);
    }
    put(p, "</tbody></table>\n");
    if (p->rc == GW_OK) {
        dead = calloc(GW_CONSOLE_MAX_DEAD, sizeof(*dead));
        p->rc =
            dead == NULL
                ? GW_ENOMEM
                : gw_console_dead_letters(st, dead, GW_CONSOLE_MAX_DEAD, &nd);
    }
    put(p, "<h2 id=\"dead-letters\">");
    esc(p, TX(p, DEAD));
    put(p, "</h2>\n");
    if (nd == 0) {
        empty_note(p, "no-dead", T_NO_DEAD);
    } else {
        table_open(p, "dead", T_DEAD_CAP,
                   (const enum text[]){T_ITEM, T_PEER, T_KIND, T_ATTEMPTS,
                                       T_QUEUED, T_FAILED_AT, T_LAST_ERROR,
                                       T_ACTIONS, T_N});
    }
    for (size_t i = 0; i < nd && p->rc == GW_OK; i++) {
        putf(p, "<tr data-item=\"%lld\"><th scope=\"row\">%lld</th><td>",
             dead[i].id, dead[i].id);
        esc(p, dead[i].peer);
        put(p, "</td><td>");
        esc(p, dead[i].kind);
        putf(p, "</td><td class=\"num\">%d</td><td>", dead[i].attempts);
        put_time(p, dead[i].created_ms, T_NONE);
        put(p, "</td><td>");
        put_time(p, dead[i].updated_ms, T_NONE);
        put(p, "</td><td data-k=\"error\">");
        esc(p, dead[i].last_error[0] ? dead[i].last_error : TX(p, NONE));
        put(p, "</td><td>");
        snprintf(action, sizeof(action), "/console/outbox/%lld/retry",
                 dead[i].id);
        button_form(p, action, NULL, NULL, T_RETRY, dead[i].id);
        snprintf(action, sizeof(action), "/console/outbox/%lld/discard",
                 dead[i].id);
        button_form(p, action, TX(p, CONFIRM_DISCARD), "danger", T_DISCARD,
                    dead[i].id);
        put(p, "</td></tr>\n");
    }
    if (nd > 0)
        put(p, "</tbody></table>\n");
    free(dead);
}

/* The certificates in use, copied out of config/tls.c's list. */
struct certs {
    struct {
        char label[64];
        time_t not_after;
    } c[16];
    size_t n;
};

static void
cert_one(void *ctx, const char *label, time_t not_after)
{
    struct certs *cs = ctx;

    if (cs->n == sizeof(cs->c) / sizeof(cs->c[0]))
        return;
    snprintf(cs->c[cs->n].label, sizeof(cs->c[0].label), "%s", label);
    cs->c[cs->n].not_after = not_after;
    cs->n++;
}

static void
reach_row(struct page *p, const char *peer, int configured, int64_t ok_ms,
          int64_t fail_ms, long long waiting)
{
    enum text state;

    if (!configured)
        state = strcmp(peer, "hsa") == 0 ? T_ST_OFF_HSA : T_ST_OFF;
    else if (fail_ms > ok_ms && waiting > 0)
        state = T_ST_FAILING;
    else if (ok_ms > 0)
        state = T_ST_OK;
    else
        state = T_ST_IDLE;
    put(p, "<tr data-peer=\"");
    esc(p, peer);
    put(p, "\"><th scope=\"row\">");
    esc(p, peer);
    put(p, "</th><td>");
    esc(p, configured ? TX(p, YES) : TX(p, NO));
    put(p, "</td><td data-k=\"last-ok\">");
    put_time(p, ok_ms, T_NEVER);
    put(p, "</td><td data-k=\"last-fail\">");
    put_time(p, fail_ms, T_NONE);
    putf(p, "</td><td data-k=\"state\" data-state=\"%s\"%s>",
         state == T_ST_OK        ? "ok"
         : state == T_ST_FAILING ? "failing"
         : state == T_ST_IDLE    ? "idle"
                                 : "off",
         state == T_ST_FAILING ? " class=\"warn\"" : "");
    esc(p, texts[state][p->en]);
    put(p, "</td></tr>\n");
}

static void
page_peers(struct page *p)
{
    const struct gw_config *cfg = p->r->h->o.cfg;
    struct gw_store *st = p->r->h->o.store;
    struct gw_console_peer peers[GW_CONSOLE_MAX_PEERS];
    struct certs cs;
    int64_t hsa_ms = 0;
    size_t np = 0;

    autorefresh(p);
    if (p->rc == GW_OK)
        p->rc = gw_console_peers(st, known_peers, 2, peers,
                                 GW_CONSOLE_MAX_PEERS, &np);
    if (p->rc == GW_OK)
        p->rc = gw_console_hsa_last_answer(st, &hsa_ms);
    table_open(p, "reach", T_REACH_CAP,
               (const enum text[]){T_PEER, T_CONFIGURED, T_LAST_OK, T_LAST_FAIL,
                                   T_STATE, T_N});
    reach_row(p, "hsa", cfg->hsa_url[0] != '\0', hsa_ms, 0, 0);
    for (size_t i = 0; i < np; i++)
        reach_row(p, peers[i].peer,
                  strcmp(peers[i].peer, "lv") != 0 || cfg->lv_url[0] != '\0',
                  peers[i].last_ok_ms, peers[i].last_fail_ms,
                  peers[i].pending + peers[i].dead);
    put(p, "</tbody></table>\n<p>");
    esc(p, TX(p, HSA_NOTE));
    put(p, "</p>\n<h2>");
    esc(p, TX(p, CERT_CAP));
    put(p, "</h2>\n");
    memset(&cs, 0, sizeof(cs));
    gw_tls_expiry_each(cert_one, &cs);
    if (cs.n == 0) {
        empty_note(p, "no-certs", T_NO_CERTS);
        return;
    }
    table_open(p, "certs", T_CERT_CAP,
               (const enum text[]){T_CERT, T_EXPIRES, T_DAYS_LEFT, T_N});
    for (size_t i = 0; i < cs.n; i++) {
        long long days =
            ((long long)cs.c[i].not_after * 1000 - gw_clock_now_ms()) /
            86400000LL;
        put(p, "<tr><th scope=\"row\">");
        esc(p, cs.c[i].label);
        put(p, "</th><td>");
        put_time(p, (int64_t)cs.c[i].not_after * 1000, T_NONE);
        putf(p, "</td><td class=\"num%s\">%lld</td></tr>\n",
             days < 30 ? " warn" : "", days);
    }
    put(p, "</tbody></table>\n");
}

static void
count_table(struct page *p, const char *id, enum text cap, enum text key,
            const struct gw_console_count *c, size_t n)
{
    table_open(p, id, cap, (const enum text[]){key, T_COUNT, T_N});
    for (size_t i = 0; i < n; i++) {
        put(p, "<tr><th scope=\"row\">");
        esc(p, c[i].key);
        putf(p, "</th><td class=\"num\">%lld</td></tr>\n", c[i].n);
    }
    put(p, "</tbody></table>\n");
}

static void
page_cases(struct page *p)
{
    struct gw_store *st = p->r->h->o.store;
    struct gw_console_count by_status[16], by_day[CASE_DAYS + 1];
    struct gw_refusal_count ref[GW_REFUSALS_MAX];
    size_t ns = 0, nd = 0, nr;
    int64_t since = gw_clock_now_ms() / 86400000LL * 86400000LL -
                    (int64_t)(CASE_DAYS - 1) * 86400000LL;

    autorefresh(p);
    if (p->rc == GW_OK)
        p->rc = gw_console_cases_by_status(st, by_status, 16, &ns);
    if (p->rc == GW_OK)
        p->rc = gw_console_cases_by_day(st, since, by_day, CASE_DAYS + 1, &nd);
    if (ns == 0) {
        empty_note(p, "no-cases", T_NO_CASES);
    } else {
        count_table(p, "by-status", T_BY_STATUS, T_STATUS, by_status, ns);
        count_table(p, "by-day", T_BY_DAY, T_DAY, by_day, nd);
    }
    put(p, "<h2>");
    esc(p, TX(p, REFUSALS));
    put(p, "</h2>\n");
    nr = gw_refusals_get(ref, GW_REFUSALS_MAX);
    if (nr == 0) {
        empty_note(p, "no-refusals", T_NO_REFUSALS);
        return;
    }
    table_open(p, "refusals", T_REFUSALS,
               (const enum text[]){T_RULE, T_COUNT, T_N});
    for (size_t i = 0; i < nr; i++) {
        put(p, "<tr data-rule=\"");
        esc(p, ref[i].rule);
        put(p, "\"><th scope=\"row\"><code>");
        esc(p, ref[i].rule);
        putf(p, "</code></th><td class=\"num\">%lld</td></tr>\n", ref[i].n);
    }
    put(p, "</tbody></table>\n");
}

/* The last verification this process ran (the console's button). */
static pthread_mutex_t verify_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int64_t at_ms;
    gw_rc rc;
    long long records;
    char by[64];
    char detail[160];
} last_verify;

static void
page_audit(struct page *p)
{
    struct gw_console_audit h;
    int64_t at;
    gw_rc vrc;
    long long records;
    char by[64], detail[160];

    if (p->rc == GW_OK)
        p->rc = gw_console_audit_head(p->r->h->o.store, &h);
    if (p->rc != GW_OK)
        return;
    put(p, "<table id=\"head\">\n");
    caption(p, T_HEAD_CAP);
    put(p, "<tbody><tr><th scope=\"row\">");
    esc(p, TX(p, RECORDS));
    putf(p,
         "</th><td class=\"num\" data-k=\"seq\">%lld</td></tr>\n"
         "<tr><th scope=\"row\">",
         (long long)h.seq);
    esc(p, TX(p, LAST_RECORD));
    put(p, "</th><td>");
    put_time(p, h.at_ms, T_NONE);
    put(p, "</td></tr>\n<tr><th scope=\"row\">");
    esc(p, TX(p, KEYED));
    put(p, "</th><td>");
    esc(p, h.seq == 0                                     ? TX(p, NONE)
           : strncmp(h.hash, GW_AUDIT_KEYED_MARK, 3) == 0 ? TX(p, YES)
                                                          : TX(p, NO));
    put(p, "</td></tr>\n</tbody></table>\n<h2>");
    esc(p, TX(p, VERIFY_CAP));
    put(p, "</h2>\n");
    pthread_mutex_lock(&verify_mu);
    at = last_verify.at_ms;
    vrc = last_verify.rc;
    records = last_verify.records;
    memcpy(by, last_verify.by, sizeof(by));
    memcpy(detail, last_verify.detail, sizeof(detail));
    pthread_mutex_unlock(&verify_mu);
    if (at == 0) {
        empty_note(p, "verify", T_NOT_VERIFIED);
    } else {
        putf(p, "<p data-k=\"verify\" data-outcome=\"%s\"%s>",
             vrc == GW_OK ? "ok" : gw_rc_name(vrc),
             vrc == GW_OK ? "" : " class=\"warn\"");
        put_time(p, at, T_NONE);
        put(p, ": ");
        esc(p, vrc == GW_OK ? TX(p, VERIFIED_OK) : TX(p, VERIFIED_BAD));
        putf(p, " (%lld ", records);
        esc(p, TX(p, RECORDS_LC));
        put(p, "), ");
        esc(p, TX(p, BY));
        put(p, " ");
        esc(p, by);
        if (vrc != GW_OK && detail[0] != '\0') {
            put(p, ": ");
            esc(p, detail);
        }
        put(p, "</p>\n");
    }
    put(p, "<div>");
    button_form(p, "/console/audit/verify", NULL, NULL, T_VERIFY, 0);
    put(p, "</div>\n<p>");
    esc(p, TX(p, CHECKPOINT_NOTE));
    put(p, "</p>\n");
}

/* --- answers ------------------------------------------------------------ */

/* Queues an answer with the console's headers. body: taken (freed by
 * libmicrohttpd) unless fixed is set (a compiled-in asset); NULL: none. */
static enum MHD_Result
answer(struct gw_req *r, int status, const char *ctype, const char *body,
       size_t len, int fixed, const char *location)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)body,
        body && !fixed ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (resp == NULL) {
        if (!fixed)
            free((void *)body);
        return MHD_NO;
    }
    if (ctype != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(
        resp, "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    if (location != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    if (status == 405) {
        char allow[64];
        if (gw_route_allow(r->url, allow, sizeof(allow)) > 0)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    }
    ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    return ret;
}

static enum MHD_Result
send_page(struct page *p, int status)
{
    size_t len;
    char *body;

    if (p->rc != GW_OK) {
        gw_log_err_rc(p->rc, "event=console_page_failed");
        gw_buf_release(&p->b);
        return answer(p->r, 500, NULL, NULL, 0, 0, NULL);
    }
    len = p->b.len;
    body = gw_buf_take(&p->b, &len);
    if (body == NULL)
        return answer(p->r, 500, NULL, NULL, 0, 0, NULL);
    return answer(p->r, status, "text/html; charset=utf-8", body, len, 0, NULL);
}

/* The end user the caller named (X-Klasgw-User), or NULL. */
static const char *
user_of(const struct gw_req *r)
{
    return r->user[0] != '\0' ? r->user : NULL;
}

static void
page_init(struct page *p, struct gw_req *r, const char *form_lang)
{
    const char *param = form_lang;

    memset(p, 0, sizeof(*p));
    p->r = r;
    gw_buf_init(&p->b, PAGE_MAX);
    if (param == NULL || param[0] == '\0')
        param =
            MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "lang");
    p->lang = gw_console_lang(
        param, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                           "Accept-Language"));
    p->en = strcmp(p->lang, "en") == 0;
    p->rc = gw_console_csrf(r->label, user_of(r), p->csrf);
}

/* Audits what an operator did or was refused, with who did it. */
static void
audit(struct gw_req *r, const char *action, gw_rc rc, const char *detail)
{
    struct gw_audit_entry e = {
        .system = r->label[0] ? r->label : "-",
        .user = user_of(r),
        .action = action,
        .outcome = rc == GW_OK ? "ok" : gw_rc_name(rc),
        .detail = detail,
    };

    if (r->h->o.store != NULL &&
        gw_store_audit_async(r->h->o.store, &e) != GW_OK)
        gw_log_err("event=audit_enqueue_failed action=%s", action);
}

/* A refusal as a page: the error table's message in the page's language
 * and the console's own reason, the same in both. */
static enum MHD_Result
refuse_as(struct gw_req *r, gw_rc rc, int status, enum text why,
          const char *form_lang)
{
    struct page p;

    page_init(&p, r, form_lang);
    p.rc = GW_OK; /* a refusal needs no token */
    head(&p, NULL, p.en ? gw_rc_message(rc) : gw_rc_message_sv(rc));
    putf(&p, "<p data-k=\"refusal\" data-rc=\"%s\">", gw_rc_name(rc));
    esc(&p, texts[why][p.en]);
    putf(&p, "</p>\n<p><a href=\"/console/?lang=%s\">", p.lang);
    esc(&p, TX(&p, BACK));
    put(&p, "</a></p>\n</main>\n</body>\n</html>\n");
    gw_log_info("event=console_refused rc=%s route=console client=%s",
                gw_rc_name(rc), r->label[0] ? r->label : "-");
    return send_page(&p, status > 0 ? status : gw_rc_http_status(rc));
}

static enum MHD_Result
refuse(struct gw_req *r, gw_rc rc, enum text why, const char *form_lang)
{
    return refuse_as(r, rc, 0, why, form_lang);
}

/* 303 to a console page with a notice (key of notices[]) or none. */
static enum MHD_Result
redirect(struct gw_req *r, const char *path, const char *lang, const char *done)
{
    char loc[160];

    snprintf(loc, sizeof(loc), "%s?lang=%s%s%s", path, lang,
             done ? "&done=" : "", done ? done : "");
    return answer(r, 303, NULL, NULL, 0, 0, loc);
}

/* The item id of /console/outbox/{num}/...: a positive decimal. */
static long long
item_id(const struct gw_req *r)
{
    char *end;
    long long id = strtoll(r->args.id, &end, 10);

    return *end == '\0' && r->args.id[0] != '\0' && id > 0 ? id : 0;
}

static enum MHD_Result
post_action(struct gw_req *r)
{
    struct gw_store *st = r->h->o.store;
    const char *body = r->body.data;
    size_t len = r->body.len;
    char token[80], lang[8], detail[160], peer[32] = "";
    const char *form_lang;
    long long id = 0;
    gw_rc rc;

    gw_console_form_field(body, len, "lang", lang, sizeof(lang));
    form_lang = lang[0] ? gw_console_lang(lang, NULL) : NULL;
    if (len > FORM_MAX ||
        !gw_console_form_field(body, len, "csrf", token, sizeof(token)) ||
        !gw_console_csrf_ok(r->label, user_of(r), token)) {
        audit(r, "console-form", GW_EFORBIDDEN, "form token missing or wrong");
        return refuse(r, GW_EFORBIDDEN, T_R_CSRF, form_lang);
    }
    if (form_lang == NULL)
        form_lang = gw_console_lang(
            NULL, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                              "Accept-Language"));
    if (strcmp(r->url, "/console/audit/verify") == 0) {
        struct gw_err err;
        long long count = 0;
        gw_err_clear(&err);
        rc = gw_store_audit_verify(st, &count, &err);
        pthread_mutex_lock(&verify_mu);
        last_verify.at_ms = gw_clock_now_ms();
        last_verify.rc = rc;
        last_verify.records = count;
        snprintf(last_verify.by, sizeof(last_verify.by), "%s", r->label);
        snprintf(last_verify.detail, sizeof(last_verify.detail), "%.159s",
                 rc == GW_OK ? "" : err.detail);
        pthread_mutex_unlock(&verify_mu);
        snprintf(detail, sizeof(detail), "records %lld", count);
        audit(r, "audit-verify", rc, detail);
        gw_log_info("event=console_audit_verify rc=%s records=%lld client=%s",
                    gw_rc_name(rc), count, r->label);
        return redirect(r, "/console/audit", form_lang, "verify");
    }
    id = item_id(r);
    if (id == 0)
        return refuse(r, GW_ENOTFOUND, T_R_NOPAGE, form_lang);
    if (strstr(r->url, "/retry") != NULL) {
        struct gw_outbox_info info;
        /* Only a dead letter: the button is on those, and a pending item
         * retried would merely skip its backoff. */
        rc = gw_outbox_show(st, id, &info);
        if (rc == GW_OK && strcmp(info.state, "dead") != 0)
            rc = GW_ENOTFOUND;
        if (rc == GW_OK)
            rc = gw_outbox_retry(st, id);
        snprintf(detail, sizeof(detail), "item %lld peer %s", id,
                 rc == GW_OK ? info.peer : "-");
        audit(r, "outbox-retry", rc, detail);
        gw_log_info("event=console_outbox_retry item=%lld rc=%s client=%s", id,
                    gw_rc_name(rc), r->label);
        if (rc != GW_OK && rc != GW_ENOTFOUND)
            return refuse(r, rc, T_R_NOPAGE, form_lang);
        return redirect(r, "/console/", form_lang,
                        rc == GW_OK ? "retry" : "gone");
    }
    rc = gw_console_discard(st, id, r->label, user_of(r), peer, sizeof(peer));
    if (rc != GW_OK) {
        /* The discard's own record is written with it; a failed one is
         * recorded here. */
        snprintf(detail, sizeof(detail), "item %lld", id);
        audit(r, "outbox-discard", rc, detail);
    }
    gw_log_info("event=console_outbox_discard item=%lld peer=%s rc=%s "
                "client=%s",
                id, peer[0] ? peer : "-", gw_rc_name(rc), r->label);
    if (rc != GW_OK && rc != GW_ENOTFOUND)
        return refuse(r, rc, T_R_NOPAGE, form_lang);
    return redirect(r, "/console/", form_lang,
                    rc == GW_OK ? "discard" : "gone");
}

enum MHD_Result
gw_http_console(struct gw_req *r)
{
    const struct console_page *page;
    const struct gw_name_value *notice;
    struct page p;

    if (r->who.role != GW_CLIENT_OPERATOR) {
        audit(r, "console", GW_EFORBIDDEN, "not an operator");
        return refuse(r, GW_EFORBIDDEN, T_R_OPERATOR, NULL);
    }
    if (!r->method_ok)
        return refuse_as(r, GW_EINVAL, 405, T_R_METHOD, NULL);
    if (strcmp(r->method, "POST") == 0 && r->def->pattern[0] != '\0' &&
        strchr(r->def->pattern, '*') == NULL)
        return post_action(r);
    if (strcmp(r->url, "/console") == 0)
        return redirect(
            r, "/console/",
            gw_console_lang(MHD_lookup_connection_value(
                                r->conn, MHD_GET_ARGUMENT_KIND, "lang"),
                            MHD_lookup_connection_value(
                                r->conn, MHD_HEADER_KIND, "Accept-Language")),
            NULL);
    if (strcmp(r->url, "/console/console.css") == 0)
        return answer(r, 200, "text/css; charset=utf-8", gw_console_css,
                      strlen(gw_console_css), 1, NULL);
    if (strcmp(r->url, "/console/console.js") == 0)
        return answer(r, 200, "text/javascript; charset=utf-8", gw_console_js,
                      strlen(gw_console_js), 1, NULL);
    page = GW_NAME_FIND(pages, r->url);
    if (page == NULL)
        return refuse(r, GW_ENOTFOUND, T_R_NOPAGE, NULL);
    page_init(&p, r, NULL);
    head(&p, page, texts[page->title][p.en]);
    notice = GW_NAME_FIND(notices, MHD_lookup_connection_value(
                                       r->conn, MHD_GET_ARGUMENT_KIND, "done"));
    if (notice != NULL) {
        putf(&p,
             "<p class=\"notice\" role=\"status\" "
             "data-k=\"notice\" data-done=\"%s\">",
             notice->name);
        esc(&p, texts[notice->value][p.en]);
        put(&p, "</p>\n");
    }
    page->render(&p);
    foot(&p);
    return send_page(&p, 200);
}
