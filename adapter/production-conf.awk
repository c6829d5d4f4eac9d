# production-conf.awk - the installed /etc/klasgw/klasgw.conf, made from
# adapter/klasgw.conf.example (which documents every key) at build time:
# the same file with production values where the example has demo ones.
#
#   awk -f adapter/production-conf.awk adapter/klasgw.conf.example > klasgw.conf
#
# Each row of the table below is "section.key" and its production value;
# a row whose key the example lacks fails the build (the table never goes
# stale silently). The demo [clients] lines become commented examples.
BEGIN {
    n = 0
    v["server.listen"] = "0.0.0.0"
    v["server.port"] = "8443"
    v["server.plain_http"] = "false"
    v["server.tls_cert"] = "/etc/klasgw/tls/server.pem"
    v["server.tls_key"] = "${CREDENTIALS_DIRECTORY}/server.key"
    v["server.tls_client_ca"] = "/etc/klasgw/tls/client-ca.pem"
    v["store.path"] = "/var/lib/klasgw/klasgw.db"
    v["hsa.url"] = "https://hsa.example.invalid/SET-ME/GetCredentialsForPersonIncludingProtectedPerson/2/rivtabp21"
    v["lv.url"] = ""
    v["webhooks.allowed_hosts"] = ""
    v["webhooks.allow_private"] = ""
    v["webhooks.allow_http"] = "false"
    v["webhooks.base_url"] = "https://klasgw.example.invalid/SET-ME/fhir"
    v["audit.key_file"] = ""
    print "; klasgw configuration, installed by the klasgw package from the"
    print "; example configuration with production values (see klasgw(1) and the"
    print "; README, section Operations). Before `systemctl enable --now klasgw`: set hsa.url and"
    print "; lv.url, put the server certificate and client CAs under /etc/klasgw/tls/,"
    print "; the private keys and the audit key as systemd credentials (the unit's"
    print "; LoadCredential= lines), and name your clients in [clients]. Then check"
    print "; it: klasgw -c /etc/klasgw/klasgw.conf check-config"
    print ""
}
/^\[[a-z_]+\][ \t]*$/ {
    section = $0
    gsub(/[][ \t]/, "", section)
    print
    next
}
section == "clients" && /^[A-Za-z0-9_.-]+[ \t]*=/ {
    print "; " $0
    next
}
/^[a-z_]+[ \t]*=/ {
    key = $0
    sub(/[ \t]*=.*/, "", key)
    full = section "." key
    if (full in v) {
        print key (v[full] == "" ? " =" : " = " v[full])
        seen[full] = 1
        next
    }
}
{ print }
END {
    for (k in v)
        if (!(k in seen)) {
            print "production-conf.awk: " k " is not in the example" > "/dev/stderr"
            exit 1
        }
}
