/*
 * bench_validate.c - messages validated per second, one thread: the whole
 * path (parse, convert, schema, rules) for the full enskild motivation in
 * JSON and in XML, next to the raw rate of libxml2 parse + XSD validation
 * of the same XML measured in the same run.
 *
 *   bench_validate SOURCE_DIR SECONDS
 *   bench_validate SOURCE_DIR COUNT json|xml|raw
 *
 * The second form runs one path COUNT times and prints nothing: a fixed
 * amount of work for `valgrind --tool=callgrind` or `perf record`.
 */
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "validate/validate.h"

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n)
        exit(2);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static double
whole_path(struct gw_validator *v, const char *msg, size_t len, double secs)
{
    long n = 0;
    double t0 = now_s(), t;

    do {
        struct gw_outcome o;
        gw_outcome_init(&o);
        if (gw_validate_bytes(v, msg, len, NULL, "2026-11-22", &o, NULL) !=
            GW_OK) {
            fprintf(stderr, "the example is not valid\n");
            exit(1);
        }
        gw_outcome_release(&o);
        n++;
    } while ((t = now_s()) - t0 < secs);
    return (double)n / (t - t0);
}

static double
raw_libxml2(xmlSchemaPtr schema, const char *xml, size_t len, double secs)
{
    long n = 0;
    double t0 = now_s(), t;

    do {
        xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, "UTF-8",
                                      XML_PARSE_NONET);
        xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
        if (doc == NULL || xmlSchemaValidateDoc(vc, doc) != 0) {
            fprintf(stderr, "raw validation failed\n");
            exit(1);
        }
        xmlSchemaFreeValidCtxt(vc);
        xmlFreeDoc(doc);
        n++;
    } while ((t = now_s()) - t0 < secs);
    return (double)n / (t - t0);
}

int
main(int argc, char **argv)
{
    const char *src = argc > 1 ? argv[1] : ".";
    double secs = argc > 2 ? atof(argv[2]) : 3, raw, js, xs;
    char path[1024];
    size_t jlen, xlen;
    char *json, *xml;
    struct gw_validator *v;
    struct gw_err err;
    xmlSchemaParserCtxtPtr pc;
    xmlSchemaPtr schema;

    gw_log_set_level(GW_LOG_WARN);
    snprintf(path, sizeof(path),
             "%s/fhir-profiles/examples/valid/motivation-enskild-searched.json",
             src);
    json = slurp(path, &jlen);
    snprintf(path, sizeof(path),
             "%s/fhir-profiles/examples/valid/motivation-enskild-searched.xml",
             src);
    xml = slurp(path, &xlen);
    snprintf(path, sizeof(path), "%s/fhir-profiles/xsd/fhir-klas.xsd", src);
    if (gw_validator_new(path, &v, &err) != GW_OK)
        return 1;
    pc = xmlSchemaNewParserCtxt(path);
    schema = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);

    if (argc > 3) {
        long count = atol(argv[2]);
        for (long i = 0; i < count; i++) {
            struct gw_outcome o;
            if (strcmp(argv[3], "raw") == 0) {
                xmlDocPtr doc = xmlReadMemory(xml, (int)xlen, NULL, "UTF-8",
                                              XML_PARSE_NONET);
                xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
                xmlSchemaValidateDoc(vc, doc);
                xmlSchemaFreeValidCtxt(vc);
                xmlFreeDoc(doc);
                continue;
            }
            gw_outcome_init(&o);
            if (gw_validate_bytes(v, strcmp(argv[3], "xml") == 0 ? xml : json,
                                  strcmp(argv[3], "xml") == 0 ? xlen : jlen,
                                  NULL, "2026-11-22", &o, NULL) != GW_OK)
                return 1;
            gw_outcome_release(&o);
        }
        goto out;
    }
    raw = raw_libxml2(schema, xml, xlen, secs);
    js = whole_path(v, json, jlen, secs);
    xs = whole_path(v, xml, xlen, secs);
    printf("raw libxml2 parse + XSD validation (XML, %zu bytes): %8.0f msg/s\n",
           xlen, raw);
    printf("klasgw validate, whole path, JSON (%zu bytes):       %8.0f msg/s "
           "(%.2f x raw)\n", jlen, js, js / raw);
    printf("klasgw validate, whole path, XML:                     %8.0f msg/s "
           "(%.2f x raw)\n", xs, xs / raw);
out:
    xmlSchemaFree(schema);
    gw_validator_free(v);
    free(json);
    free(xml);
    return 0;
}
