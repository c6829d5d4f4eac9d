/*
 * test_netaddr.c - the webhook address classifier and policy, as pure
 * functions: every special-purpose range (IANA IPv4/IPv6 special-purpose
 * registries, RFC 1918, 4193, 4291, 6598) at its first and last address
 * and just outside, IPv4-mapped and NAT64/6to4 forms, the allow-list of
 * ranges and hosts, and malformed configuration. No network.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "core/netaddr.h"
#include "http/proxy.h"

static const struct {
    const char *addr;
    enum gw_net_class want;
} classes[] = {
    {"0.0.0.0", GW_NET_UNSPECIFIED},
    {"0.255.255.255", GW_NET_UNSPECIFIED},
    {"1.0.0.0", GW_NET_PUBLIC},
    {"9.255.255.255", GW_NET_PUBLIC},
    {"10.0.0.0", GW_NET_PRIVATE},
    {"10.255.255.255", GW_NET_PRIVATE},
    {"11.0.0.0", GW_NET_PUBLIC},
    {"100.63.255.255", GW_NET_PUBLIC},
    {"100.64.0.0", GW_NET_PRIVATE},
    {"100.127.255.255", GW_NET_PRIVATE},
    {"100.128.0.0", GW_NET_PUBLIC},
    {"126.255.255.255", GW_NET_PUBLIC},
    {"127.0.0.1", GW_NET_LOOPBACK},
    {"127.255.255.254", GW_NET_LOOPBACK},
    {"128.0.0.0", GW_NET_PUBLIC},
    {"169.253.255.255", GW_NET_PUBLIC},
    {"169.254.0.0", GW_NET_LINKLOCAL},
    {"169.254.169.254", GW_NET_LINKLOCAL},
    {"169.254.255.255", GW_NET_LINKLOCAL},
    {"169.255.0.0", GW_NET_PUBLIC},
    {"172.15.255.255", GW_NET_PUBLIC},
    {"172.16.0.0", GW_NET_PRIVATE},
    {"172.31.255.255", GW_NET_PRIVATE},
    {"172.32.0.0", GW_NET_PUBLIC},
    {"192.0.0.8", GW_NET_RESERVED},
    {"192.0.2.1", GW_NET_PUBLIC}, /* documentation, but routable here */
    {"192.167.255.255", GW_NET_PUBLIC},
    {"192.168.0.0", GW_NET_PRIVATE},
    {"192.168.255.255", GW_NET_PRIVATE},
    {"192.169.0.0", GW_NET_PUBLIC},
    {"198.18.0.1", GW_NET_RESERVED},
    {"198.19.255.255", GW_NET_RESERVED},
    {"198.20.0.0", GW_NET_PUBLIC},
    {"223.255.255.255", GW_NET_PUBLIC},
    {"224.0.0.1", GW_NET_MULTICAST},
    {"239.255.255.255", GW_NET_MULTICAST},
    {"240.0.0.1", GW_NET_RESERVED},
    {"255.255.255.255", GW_NET_RESERVED},
    {"::", GW_NET_UNSPECIFIED},
    {"::1", GW_NET_LOOPBACK},
    {"::2", GW_NET_RESERVED},
    {"::127.0.0.1", GW_NET_RESERVED},
    {"::ffff:127.0.0.1", GW_NET_LOOPBACK},
    {"::ffff:169.254.169.254", GW_NET_LINKLOCAL},
    {"::ffff:10.1.2.3", GW_NET_PRIVATE},
    {"::ffff:0.0.0.0", GW_NET_UNSPECIFIED},
    {"::ffff:8.8.8.8", GW_NET_PUBLIC},
    {"64:ff9b::7f00:1", GW_NET_LOOPBACK},
    {"64:ff9b::a9fe:a9fe", GW_NET_LINKLOCAL},
    {"64:ff9b::808:808", GW_NET_PUBLIC},
    {"2002:7f00:1::1", GW_NET_LOOPBACK},
    {"2002:c0a8:101::1", GW_NET_PRIVATE},
    {"2002:808:808::1", GW_NET_PUBLIC},
    {"2001:db8::1", GW_NET_PUBLIC},
    {"2a00:1450:4001::1", GW_NET_PUBLIC},
    {"fbff:ffff::1", GW_NET_PUBLIC},
    {"fc00::", GW_NET_PRIVATE},
    {"fd12:3456::1", GW_NET_PRIVATE},
    {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", GW_NET_PRIVATE},
    {"fe7f:ffff::1", GW_NET_PUBLIC},
    {"fe80::", GW_NET_LINKLOCAL},
    {"fe80::1", GW_NET_LINKLOCAL},
    {"febf:ffff::1", GW_NET_LINKLOCAL},
    {"fec0::1", GW_NET_PRIVATE},
    {"ff00::", GW_NET_MULTICAST},
    {"ff02::1", GW_NET_MULTICAST},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", GW_NET_MULTICAST},
};

/* The same address as a socket address of its own family. */
static socklen_t
to_sockaddr(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(text, ':') == NULL) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
        return sizeof(*in);
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
    return sizeof(*in6);
}

static void
test_netaddr_classifies_every_special_range(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        unsigned char a[16];
        struct sockaddr_storage ss;
        enum gw_net_class got;
        if (!gw_net_parse_addr(classes[i].addr, a))
            fail_msg("%s: not parsed", classes[i].addr);
        got = gw_net_classify16(a);
        if (got != classes[i].want)
            fail_msg("%s: %s, want %s", classes[i].addr, gw_net_class_name(got),
                     gw_net_class_name(classes[i].want));
        to_sockaddr(classes[i].addr, &ss);
        got = gw_net_classify((const struct sockaddr *)&ss);
        if (got != classes[i].want)
            fail_msg("%s as sockaddr: %s, want %s", classes[i].addr,
                     gw_net_class_name(got),
                     gw_net_class_name(classes[i].want));
    }
}

static void
test_netaddr_strict_policy_refuses_all_but_public(void **state)
{
    struct gw_net_policy p;
    struct gw_err err;

    (void)state;
    gw_err_clear(&err);
    assert_int_equal(gw_net_policy_init(&p, "", "", 0, &err), GW_OK);
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        struct sockaddr_storage ss;
        const char *why = NULL;
        int ok;
        to_sockaddr(classes[i].addr, &ss);
        ok = gw_net_addr_allowed(&p, (const struct sockaddr *)&ss, &why);
        if (ok != (classes[i].want == GW_NET_PUBLIC))
            fail_msg("%s: allowed=%d", classes[i].addr, ok);
        if (!ok && (why == NULL ||
                    strcmp(why, gw_net_class_name(classes[i].want)) != 0))
            fail_msg("%s: reason %s", classes[i].addr, why ? why : "(none)");
    }
    /* A NULL policy is the strict one. */
    {
        unsigned char a[16];
        assert_true(gw_net_parse_addr("127.0.0.1", a));
        assert_false(gw_net_addr16_allowed(NULL, a, NULL));
    }
    gw_net_policy_release(&p);
}

static void
test_netaddr_allow_private_opens_only_the_named_ranges(void **state)
{
    static const struct {
        const char *addr;
        int want;
    } cases[] = {
        {"127.0.0.1", 1},     {"127.9.9.9", 1},    {"::ffff:127.0.0.1", 1},
        {"::1", 1},           {"10.0.0.1", 0},     {"169.254.169.254", 0},
        {"192.168.1.10", 1},  {"192.168.1.11", 0}, {"fd00::5", 1},
        {"fd00:0:0:1::5", 0}, {"fe80::1", 0},      {"8.8.8.8", 1},
    };
    struct gw_net_policy p;
    struct gw_err err;

    (void)state;
    gw_err_clear(&err);
    assert_int_equal(gw_net_policy_init(&p, NULL,
                                        "127.0.0.0/8 ::1/128, 192.168.1.10 "
                                        "fd00::/64",
                                        1, &err),
                     GW_OK);
    assert_int_equal(p.nallow, 4);
    assert_true(p.allow_http);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char a[16];
        assert_true(gw_net_parse_addr(cases[i].addr, a));
        if (gw_net_addr16_allowed(&p, a, NULL) != cases[i].want)
            fail_msg("%s: want allowed=%d", cases[i].addr, cases[i].want);
    }
    gw_net_policy_release(&p);
}

static void
test_netaddr_hosts_are_per_pharmacy(void **state)
{
    struct gw_net_policy p;
    struct gw_err err;

    (void)state;
    gw_err_clear(&err);
    assert_int_equal(gw_net_policy_init(&p,
                                        "7350000000016=Hook.Apotek.example "
                                        "7350000000016=127.0.0.1 "
                                        "7350000000023=::1",
                                        "", 0, &err),
                     GW_OK);
    assert_true(
        gw_net_host_allowed(&p, "7350000000016", "hook.apotek.example"));
    assert_true(
        gw_net_host_allowed(&p, "7350000000016", "HOOK.apotek.EXAMPLE"));
    assert_true(gw_net_host_allowed(&p, "7350000000016", "127.0.0.1"));
    assert_false(gw_net_host_allowed(&p, "7350000000023", "127.0.0.1"));
    assert_true(gw_net_host_allowed(&p, "7350000000023", "::1"));
    assert_false(gw_net_host_allowed(&p, "7350000000016", "apotek.example"));
    assert_false(
        gw_net_host_allowed(&p, "7350000000016", "x.hook.apotek.example"));
    assert_false(gw_net_host_allowed(NULL, "7350000000016", "127.0.0.1"));
    gw_net_policy_release(&p);
}

static void
test_netaddr_bad_configuration_names_the_key(void **state)
{
    static const struct {
        const char *hosts, *ranges, *key;
    } cases[] = {
        {"", "127.0.0.0/33", "webhooks.allow_private"},
        {"", "::1/129", "webhooks.allow_private"},
        {"", "localhost", "webhooks.allow_private"},
        {"", "10.0.0.0/", "webhooks.allow_private"},
        {"", "10.0.0.0/-1", "webhooks.allow_private"},
        {"127.0.0.1", "", "webhooks.allowed_hosts"},
        {"735000000001=host", "", "webhooks.allowed_hosts"},
        {"7350000000016=", "", "webhooks.allowed_hosts"},
        {"7350000000016=a/b", "", "webhooks.allowed_hosts"},
        {"7350000000016=[::1]", "", "webhooks.allowed_hosts"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_net_policy p;
        struct gw_err err;
        gw_err_clear(&err);
        if (gw_net_policy_init(&p, cases[i].hosts, cases[i].ranges, 0, &err) !=
            GW_ECONFIG)
            fail_msg("'%s' '%s' accepted", cases[i].hosts, cases[i].ranges);
        if (strstr(err.detail, cases[i].key) == NULL)
            fail_msg("'%s' '%s': %s", cases[i].hosts, cases[i].ranges,
                     err.detail);
        gw_net_policy_release(&p);
    }
}

/* The refusals say the key, the word and what it should be, and the
 * lists stop at 1024 entries. */
static void
test_netaddr_policy_refusals_say_why(void **state)
{
    static char many[1025 * 24 + 1];
    char longword[400];
    struct {
        const char *hosts, *ranges, *detail;
    } cases[] = {
        {"", "localhost",
         "webhooks.allow_private: 'localhost' is not an address or CIDR "
         "range"},
        {"127.0.0.1", "",
         "webhooks.allowed_hosts: '127.0.0.1' is not GLN=host (13-digit "
         "GLN, host name or address)"},
        {"", longword,
         "webhooks.allow_private: '(too long)' is not an address or CIDR "
         "range"},
        {longword, "",
         "webhooks.allowed_hosts: '(too long)' is not GLN=host (13-digit "
         "GLN, host name or address)"},
        {"", many, "webhooks.allow_private: more than 1024 ranges"},
        {many, "", "webhooks.allowed_hosts: more than 1024 entries"},
    };

    (void)state;
    memset(longword, 'a', sizeof(longword) - 1);
    longword[sizeof(longword) - 1] = '\0';
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_net_policy p;
        struct gw_err err;
        size_t n = 0;
        /* A list one entry too long, of the kind the case is about. */
        for (int k = 0; k < 1025; k++)
            n += (size_t)snprintf(many + n, sizeof(many) - n, "%s ",
                                  cases[i].hosts == many ? "7350000000016=h.se"
                                                         : "10.0.0.1");
        gw_err_clear(&err);
        assert_int_equal(
            gw_net_policy_init(&p, cases[i].hosts, cases[i].ranges, 0, &err),
            GW_ECONFIG);
        assert_string_equal(err.detail, cases[i].detail);
        gw_net_policy_release(&p);
    }
}

/* --- server.trusted_proxies: CIDR ranges ---------------------------- */

/* Whether text (one address) is inside the list. */
static int
in_list(const struct gw_net_range *r, size_t n, const char *text)
{
    unsigned char a[16];

    if (!gw_net_parse_addr(text, a))
        fail_msg("test address %s does not parse", text);
    return gw_net_ranges_match(r, n, a);
}

/* Each range with addresses at its edges, inside and just outside, as
 * the prefix length defines them (RFC 4632, RFC 4291 2.3). */
static void
test_netaddr_trusted_proxy_ranges_match_at_their_edges(void **state)
{
    static const struct {
        const char *list, *addr;
        int in;
    } cases[] = {
        /* IPv4, byte and non-byte boundaries */
        {"127.0.0.0/8", "127.0.0.0", 1},
        {"127.0.0.0/8", "127.255.255.255", 1},
        {"127.0.0.0/8", "126.255.255.255", 0},
        {"127.0.0.0/8", "128.0.0.0", 0},
        {"192.0.2.0/25", "192.0.2.127", 1},
        {"192.0.2.0/25", "192.0.2.128", 0},
        {"192.0.2.128/25", "192.0.2.128", 1},
        {"192.0.2.128/25", "192.0.2.127", 0},
        {"10.0.0.0/31", "10.0.0.1", 1},
        {"10.0.0.0/31", "10.0.0.2", 0},
        {"198.51.100.7/32", "198.51.100.7", 1},
        {"198.51.100.7/32", "198.51.100.6", 0},
        {"198.51.100.7", "198.51.100.7", 1},  /* bare: /32 */
        {"198.51.100.7", "198.51.100.8", 0},
        {"0.0.0.0/0", "255.255.255.255", 1},
        {"0.0.0.0/0", "::1", 0},               /* IPv4 only */
        /* IPv6 */
        {"::1/128", "::1", 1},
        {"::1/128", "::2", 0},
        {"::1", "::1", 1},
        {"::1", "::", 0},
        {"2001:db8::/33", "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", 1},
        {"2001:db8::/33", "2001:db8:8000::", 0},
        {"2001:db8::/33", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 0},
        {"fd00::/8", "fdff:ffff::1", 1},
        {"fd00::/8", "fc00::1", 0},
        {"::/0", "2001:db8::1", 1},
        {"::/0", "10.1.2.3", 1},               /* mapped: inside ::/0 */
        /* IPv4-mapped IPv6 peers compare as IPv4, and the other way */
        {"127.0.0.0/8", "::ffff:127.0.0.1", 1},
        {"127.0.0.0/8", "::ffff:128.0.0.1", 0},
        {"::ffff:10.0.0.0/104", "10.255.0.1", 1},
        {"::ffff:10.0.0.0/104", "11.0.0.1", 0},
        /* IPv4-compatible (::a.b.c.d) is not mapped: not IPv4 */
        {"127.0.0.0/8", "::127.0.0.1", 0},
        /* lists: spaces, commas, both */
        {"127.0.0.0/8, ::1/128", "::1", 1},
        {"127.0.0.0/8, ::1/128", "127.1.2.3", 1},
        {"127.0.0.0/8,::1/128  192.0.2.7", "192.0.2.7", 1},
        {"127.0.0.0/8,::1/128  192.0.2.7", "192.0.2.8", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_net_range *r = NULL;
        size_t n = 0;
        struct gw_err err;
        gw_err_clear(&err);
        if (gw_net_ranges_parse("server.trusted_proxies", cases[i].list, 64,
                                &r, &n, &err) != GW_OK)
            fail_msg("'%s' refused: %s", cases[i].list, err.detail);
        if (in_list(r, n, cases[i].addr) != cases[i].in)
            fail_msg("'%s' %s %s", cases[i].list,
                     cases[i].in ? "does not hold" : "holds", cases[i].addr);
        free(r);
    }
}

static void
test_netaddr_trusted_proxies_parse_strictly(void **state)
{
    static const char *const bad[] = {
        "10.1.2.3/8",       /* a bit beyond the prefix */
        "192.0.2.1/31",
        "2001:db8::1/64",
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/",
        "/8",
        "10.0.0.0/08",      /* leading zero */
        "10.0.0.0/+8",
        "10.0.0.0/-1",
        "10.0.0.0/8/8",
        "10.0.0.0/8x",
        "10.0.0.0/0008",
        "[::1]",
        "fe80::1%eth0",
        "127.0.0.1:8443",
        "localhost",
        "10.0.0",
        "256.0.0.0/8",
        "::1/128 nonsense",
    };
    struct gw_net_range *r;
    size_t n;
    struct gw_err err;
    char many[64 * 12 + 1] = "";

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = (struct gw_net_range *)&n; /* must come back NULL */
        n = 7;
        gw_err_clear(&err);
        if (gw_net_ranges_parse("server.trusted_proxies", bad[i], 64, &r, &n,
                                &err) != GW_ECONFIG)
            fail_msg("'%s' accepted", bad[i]);
        if (r != NULL || n != 0)
            fail_msg("'%s': a half list came back", bad[i]);
        if (strstr(err.detail, "server.trusted_proxies") == NULL)
            fail_msg("'%s': the error does not name the key: %s", bad[i],
                     err.detail);
    }
    /* Empty: none, and no allocation. */
    assert_int_equal(gw_net_ranges_parse("server.trusted_proxies", " , ", 64,
                                         &r, &n, &err),
                     GW_OK);
    assert_null(r);
    assert_int_equal(n, 0);
    /* More entries than allowed. */
    for (int i = 0; i < 65; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many),
                 "10.0.%d.0/24 ", i);
    gw_err_clear(&err);
    assert_int_equal(gw_net_ranges_parse("server.trusted_proxies", many, 64,
                                         &r, &n, &err),
                     GW_ECONFIG);
    assert_null(r);
    assert_non_null(strstr(err.detail, "server.trusted_proxies"));
}

/* X-Forwarded-For behind a chain of trusted proxies: the first address
 * from the right that is not one of them. */
static void
test_netaddr_forwarded_for_skips_trusted_proxies(void **state)
{
    static const struct {
        const char *xff, *want;
    } cases[] = {
        {"203.0.113.9", "203.0.113.9"},
        {"203.0.113.9, 10.0.0.1", "203.0.113.9"},
        {"198.51.100.1, 203.0.113.9, 10.0.0.1, 10.2.3.4", "203.0.113.9"},
        {"10.0.0.1, 10.0.0.2", "10.0.0.1"},    /* all trusted: leftmost */
        {"2001:db8::5 , ::1", "2001:db8::5"},
        {"::ffff:10.0.0.3,203.0.113.9", "203.0.113.9"},
        {"203.0.113.9, 10.0.0.1, unknown", ""}, /* ours is not an address */
        {"garbage, 10.0.0.1", ""},
        {"", ""},
        {" , ", ""},
        {"203.0.113.9,,10.0.0.1", ""},
    };
    struct gw_net_range *r = NULL;
    size_t n = 0;
    struct gw_err err;
    char out[48], chain[1024] = "203.0.113.9";

    (void)state;
    gw_err_clear(&err);
    assert_int_equal(gw_net_ranges_parse("server.trusted_proxies",
                                         "10.0.0.0/8 ::1", 64, &r, &n, &err),
                     GW_OK);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_proxy_forwarded_for(cases[i].xff, r, n, out, sizeof(out));
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("'%s': '%s', want '%s'", cases[i].xff, out,
                     cases[i].want);
    }
    /* Without trusted ranges: the last entry. */
    gw_proxy_forwarded_for("203.0.113.9, 10.0.0.1", NULL, 0, out, sizeof(out));
    assert_string_equal(out, "10.0.0.1");
    /* More trusted hops than are looked at: unknown, not a guess. */
    for (int i = 0; i < GW_PROXY_XFF_MAX; i++)
        snprintf(chain + strlen(chain), sizeof(chain) - strlen(chain),
                 ", 10.0.0.%d", i + 1);
    gw_proxy_forwarded_for(chain, r, n, out, sizeof(out));
    assert_string_equal(out, "");
    free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netaddr_classifies_every_special_range),
        cmocka_unit_test(test_netaddr_strict_policy_refuses_all_but_public),
        cmocka_unit_test(
            test_netaddr_allow_private_opens_only_the_named_ranges),
        cmocka_unit_test(test_netaddr_hosts_are_per_pharmacy),
        cmocka_unit_test(test_netaddr_bad_configuration_names_the_key),
        cmocka_unit_test(test_netaddr_policy_refusals_say_why),
        cmocka_unit_test(
            test_netaddr_trusted_proxy_ranges_match_at_their_edges),
        cmocka_unit_test(test_netaddr_trusted_proxies_parse_strictly),
        cmocka_unit_test(test_netaddr_forwarded_for_skips_trusted_proxies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
