/*
 * audit.c - keyed hash chain, signed checkpoints and FHIR export of audit
 * records (see audit.h). No storage: store/ reads and writes the rows and
 * calls in here. The key lives in this file's static storage only, set
 * before threads start and wiped by gw_audit_key_clear; it is never
 * printed, logged or put in an error.
 */
#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/hex.h"

const char gw_audit_genesis[GW_AUDIT_HASH_HEX] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* The chain key: set once at start-up, read-only while threads run. */
static unsigned char chain_key[GW_AUDIT_KEY_MAX];
static size_t chain_key_len;

static const char *
s_or_empty(const char *s)
{
    return s ? s : "";
}

static void
wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;

    while (n--)
        *v++ = 0;
}

gw_rc
gw_audit_key_set(const void *key, size_t len)
{
    gw_audit_key_clear();
    if (len == 0)
        return GW_OK;
    if (len < GW_AUDIT_KEY_MIN || len > GW_AUDIT_KEY_MAX)
        return GW_EINVAL;
    memcpy(chain_key, key, len);
    chain_key_len = len;
    return GW_OK;
}

void
gw_audit_key_clear(void)
{
    wipe(chain_key, sizeof(chain_key));
    chain_key_len = 0;
}

int
gw_audit_keyed(void)
{
    return chain_key_len > 0;
}

int
gw_audit_hash_is_keyed(const char *hash)
{
    return hash != NULL &&
           strncmp(hash, GW_AUDIT_KEYED_MARK, strlen(GW_AUDIT_KEYED_MARK)) == 0;
}

gw_rc
gw_audit_key_load(const char *path, int *loaded, struct gw_err *err)
{
    static const char what[] = "audit.key_file";
    char cred[1024];
    unsigned char buf[GW_AUDIT_KEY_MAX + 1];
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    struct stat sb;
    size_t n = 0;
    ssize_t r;
    int fd = -1;
    gw_rc rc = GW_OK;

    *loaded = 0;
    if (path == NULL || path[0] == '\0') {
        if (dir == NULL || dir[0] == '\0')
            return GW_OK;
        snprintf(cred, sizeof(cred), "%s/audit-key", dir);
        if (access(cred, F_OK) != 0)
            return GW_OK;
        path = cred;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        rc = gw_err_set(err, GW_ECONFIG, NULL, "%s: cannot open %s: %s", what,
                        path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = gw_err_set(err, GW_ECONFIG, NULL, "%s: %s is not a file", what,
                        path);
        goto out;
    }
    if (sb.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)) {
        rc = gw_err_set(err, GW_ECONFIG, NULL,
                        "%s: %s may be read or written by others (chmod "
                        "600 or 400)",
                        what, path);
        goto out;
    }
    while (n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = gw_err_set(err, GW_ECONFIG, NULL, "%s: cannot read %s: %s",
                            what, path, strerror(errno));
            goto out;
        }
        n += (size_t)r;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
                     buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    if (n < GW_AUDIT_KEY_MIN || n > GW_AUDIT_KEY_MAX) {
        rc = gw_err_set(err, GW_ECONFIG, NULL,
                        "%s: %s must hold %d to %d bytes of key", what, path,
                        GW_AUDIT_KEY_MIN, GW_AUDIT_KEY_MAX);
        goto out;
    }
    rc = gw_audit_key_set(buf, n);
    if (rc == GW_OK)
        *loaded = 1;
out:
    wipe(buf, sizeof(buf));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Most bytes a record's hashed text may have. */
#define HASHED_MAX (64 * 1024)

/* What a record's hash covers: prev|seq|at|system|user|action|refnr|
 * outcome|detail, empty for none, numbers in decimal (*text malloc'd,
 * *len bytes). Copied piece by piece: printf (a pass to measure, one to
 * write) was half the hash's cost on the writer thread. */
static gw_rc
hashed_text(const struct gw_audit_record *r, char **text, size_t *len)
{
    char seq[24], at[24];
    const char *part[] = {r->prev_hash,           seq,
                          at,                     s_or_empty(r->e.system),
                          s_or_empty(r->e.user),  s_or_empty(r->e.action),
                          s_or_empty(r->e.refnr), s_or_empty(r->e.outcome),
                          s_or_empty(r->e.detail)};
    enum { NPART = sizeof(part) / sizeof(part[0]) };
    size_t n[NPART], all = NPART - 1; /* the separators */
    char *p;

    snprintf(seq, sizeof(seq), "%lld", (long long)r->seq);
    snprintf(at, sizeof(at), "%lld", (long long)r->at_ms);
    for (size_t i = 0; i < NPART; i++)
        all += n[i] = strlen(part[i]);
    if (all > HASHED_MAX)
        return GW_ETOOLARGE;
    if ((p = *text = malloc(all + 1)) == NULL)
        return GW_ENOMEM;
    for (size_t i = 0; i < NPART; i++) {
        if (i > 0)
            *p++ = '|';
        memcpy(p, part[i], n[i]);
        p += n[i];
    }
    *p = '\0';
    *len = all;
    return GW_OK;
}

/* The hash of r, keyed or not as asked (not as the key state says). */
static gw_rc
hash_as(const struct gw_audit_record *r, int keyed, char out[GW_AUDIT_HASH_HEX])
{
    size_t mark = strlen(GW_AUDIT_KEYED_MARK), len = 0;
    unsigned char digest[32];
    char *text = NULL;
    gw_rc rc;

    if (keyed && chain_key_len == 0)
        return GW_ECONFIG;
    rc = hashed_text(r, &text, &len);
    if (rc == GW_OK && keyed &&
        gnutls_hmac_fast(GNUTLS_MAC_SHA256, chain_key, chain_key_len, text,
                         len, digest) != 0)
        rc = GW_EINTERNAL;
    if (rc == GW_OK && !keyed &&
        gnutls_hash_fast(GNUTLS_DIG_SHA256, text, len, digest) != 0)
        rc = GW_EINTERNAL;
    if (rc == GW_OK && keyed) {
        memcpy(out, GW_AUDIT_KEYED_MARK, mark);
        gw_hex(digest, 32, out + mark);
    } else if (rc == GW_OK) {
        gw_hex(digest, 32, out);
    }
    free(text);
    return rc;
}

gw_rc
gw_audit_hash(const struct gw_audit_record *r, char out[GW_AUDIT_HASH_HEX])
{
    /* Without the key a keyed chain cannot grow: an unkeyed record after
     * a keyed one is what a forger would write. */
    if (!gw_audit_keyed() && gw_audit_hash_is_keyed(r->prev_hash))
        return GW_ECONFIG;
    return hash_as(r, gw_audit_keyed(), out);
}

gw_rc
gw_audit_check_link(const struct gw_audit_record *r, const char *expect_prev,
                    int64_t expect_seq, struct gw_err *err)
{
    char h[GW_AUDIT_HASH_HEX];
    int keyed = gw_audit_hash_is_keyed(r->hash);
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
    if (!keyed && gw_audit_hash_is_keyed(r->prev_hash))
        return gw_err_set(err, GW_ECONFLICT, NULL,
                          "audit record %lld is not keyed but follows a "
                          "keyed record: it was rewritten",
                          (long long)r->seq);
    if (keyed && !gw_audit_keyed())
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "audit record %lld is keyed: the audit key "
                          "(audit.key_file) is needed to verify it",
                          (long long)r->seq);
    rc = hash_as(r, keyed, h);
    if (rc != GW_OK)
        return rc;
    if (strcmp(h, r->hash) != 0)
        return gw_err_set(err, GW_ECONFLICT, NULL,
                          "audit record %lld was changed after it was "
                          "written%s",
                          (long long)r->seq,
                          keyed ? " (or the key is not the one it was "
                                  "written with)"
                                : "");
    return GW_OK;
}

/* --- checkpoints ------------------------------------------------------ */

#define CP_MAGIC "klasgw-audit-checkpoint 1\n"

static gw_rc
cp_body(const struct gw_audit_checkpoint *cp, struct gw_buf *b)
{
    char when[32];

    gw_clock_format(cp->at_ms, when, sizeof(when));
    return gw_buf_appendf(b, CP_MAGIC "seq %lld\nhash %s\nat %s\n",
                          (long long)cp->seq, cp->hash, when);
}

static gw_rc
cp_mac(const struct gw_buf *b, char out[65])
{
    unsigned char digest[32];

    if (chain_key_len == 0)
        return GW_ECONFIG;
    /* The domain prefix keeps a checkpoint's MAC from ever equalling a
     * record's. */
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, chain_key, chain_key_len, b->data,
                         b->len, digest) != 0)
        return GW_EINTERNAL;
    gw_hex(digest, 32, out);
    return GW_OK;
}

gw_rc
gw_audit_checkpoint_format(const struct gw_audit_checkpoint *cp,
                           struct gw_buf *out)
{
    struct gw_buf b;
    char mac[65];
    gw_rc rc;

    if (!gw_audit_keyed())
        return GW_ECONFIG;
    gw_buf_init(&b, 4096);
    rc = cp_body(cp, &b);
    if (rc == GW_OK)
        rc = cp_mac(&b, mac);
    if (rc == GW_OK)
        rc = gw_buf_append(out, b.data, b.len);
    if (rc == GW_OK)
        rc = gw_buf_appendf(out, "hmac-sha256 %s\n", mac);
    gw_buf_release(&b);
    return rc;
}

gw_rc
gw_audit_checkpoint_parse(const char *text, size_t len,
                          struct gw_audit_checkpoint *cp, struct gw_err *err)
{
    char copy[1024], when[40], mac[65], want[65];
    struct gw_audit_checkpoint c;
    struct gw_buf b;
    long long seq;
    gw_rc rc;
    int used = 0;

    memset(cp, 0, sizeof(*cp));
    memset(&c, 0, sizeof(c));
    if (!gw_audit_keyed())
        return gw_err_set(err, GW_ECONFIG, NULL,
                          "checking a checkpoint needs the audit key "
                          "(audit.key_file)");
    if (len >= sizeof(copy) || memchr(text, '\0', len) != NULL)
        return gw_err_set(err, GW_EPARSE, NULL,
                          "not a klasgw audit "
                          "checkpoint");
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (strncmp(copy, CP_MAGIC, strlen(CP_MAGIC)) != 0 ||
        sscanf(copy + strlen(CP_MAGIC),
               "seq %lld\nhash %67s\nat %39s\nhmac-sha256 %64s\n%n", &seq,
               c.hash, when, mac, &used) != 4 ||
        used == 0 || (size_t)used + strlen(CP_MAGIC) != len || seq < 1 ||
        strlen(mac) != 64 || gw_clock_parse(when, &c.at_ms) != GW_OK)
        return gw_err_set(err, GW_EPARSE, NULL,
                          "not a klasgw audit "
                          "checkpoint");
    c.seq = seq;
    gw_buf_init(&b, 4096);
    rc = cp_body(&c, &b);
    if (rc == GW_OK)
        rc = cp_mac(&b, want);
    gw_buf_release(&b);
    if (rc != GW_OK)
        return rc;
    /* Not secret-dependent timing in a way that matters here, but cheap
     * to do right. */
    {
        unsigned char diff = 0;
        for (int i = 0; i < 64; i++)
            diff |= (unsigned char)(want[i] ^ mac[i]);
        if (diff != 0)
            return gw_err_set(err, GW_ECONFLICT, NULL,
                              "the checkpoint's signature does not match: "
                              "it was edited, or signed with another key");
    }
    *cp = c;
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
