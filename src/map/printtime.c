/*
 * printtime.c - times on the printable copy in Swedish local time.
 *
 * The case holds instants with their offset (FHIR dateTime, often UTC);
 * a prescriber reads a printout in Swedish time and must see which: the
 * zone is named (CET in winter, CEST in summer). Sweden follows the EU
 * rule: summer time from 01:00 UTC on the last Sunday of March to 01:00
 * UTC on the last Sunday of October. Computed here rather than with
 * localtime() and TZ, which is process-wide state a threaded server must
 * not change, and which would make the printout depend on the host.
 *
 * print-html.xsl calls it as the XSLT extension function
 * gw:stockholm-time(string) (namespace urn:klasgw:xslt).
 */
#include "map/view.h"

#include "core/clock.h"

#include <libxml/xpathInternals.h>
#include <libxslt/extensions.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define GW_XSLT_NS "urn:klasgw:xslt"

/* The day (of the month) of the last Sunday of month m (31 days). */
static int
last_sunday(int y, int m)
{
    long d = gw_days_from_civil(y, m, 31);
    int wday = (int)((d % 7 + 11) % 7); /* 1970-01-01 was a Thursday: 4 */

    return 31 - wday;
}

static int
summer_time(long long t, int year)
{
    long long from =
        (long long)gw_days_from_civil(year, 3, last_sunday(year, 3)) * 86400 +
        3600;
    long long to =
        (long long)gw_days_from_civil(year, 10, last_sunday(year, 10)) * 86400 +
        3600;

    return t >= from && t < to;
}

int
gw_print_local_time(const char *iso, char *out, size_t size)
{
    int y, mo, d, h, mi, n = 0, oh = 0, om = 0;
    const char *z;
    long long t;
    time_t tt;
    struct tm tm;
    int dst;

    if (size > 0)
        out[0] = '\0';
    if (iso == NULL ||
        sscanf(iso, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5)
        return 0;
    z = iso + n;
    if (*z == ':') /* seconds and fractions: not printed */
        for (z++; (*z >= '0' && *z <= '9') || *z == '.'; z++)
            ;
    if (*z == 'Z')
        ;
    else if ((*z == '+' || *z == '-') &&
             sscanf(z + 1, "%2d:%2d", &oh, &om) == 2) {
        if (*z == '-') {
            oh = -oh;
            om = -om;
        }
    } else {
        return 0; /* no zone: not an instant */
    }
    t = (long long)gw_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 -
        (oh * 3600 + om * 60);
    dst = summer_time(t, y) || summer_time(t, y + 1) || summer_time(t, y - 1);
    tt = (time_t)(t + (dst ? 7200 : 3600));
    if (gmtime_r(&tt, &tm) == NULL)
        return 0;
    snprintf(out, size, "%04d-%02d-%02d %02d:%02d %s", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
             dst ? "CEST" : "CET");
    return 1;
}

/* gw:stockholm-time(string): the instant in Swedish time with its zone;
 * a value that is not an instant (a date, empty) comes back unchanged. */
static void
xslt_stockholm_time(xmlXPathParserContextPtr ctxt, int nargs)
{
    xmlChar *s;
    char buf[64];

    if (nargs != 1) {
        xmlXPathSetArityError(ctxt);
        return;
    }
    s = xmlXPathPopString(ctxt);
    if (s == NULL) {
        xmlXPathSetTypeError(ctxt);
        return;
    }
    if (gw_print_local_time((const char *)s, buf, sizeof(buf)))
        xmlXPathReturnString(ctxt, xmlStrdup((const xmlChar *)buf));
    else
        xmlXPathReturnString(ctxt, xmlStrdup(s));
    xmlFree(s);
}

void
gw_print_register(void)
{
    xsltRegisterExtModuleFunction((const xmlChar *)"stockholm-time",
                                  (const xmlChar *)GW_XSLT_NS,
                                  xslt_stockholm_time);
}
