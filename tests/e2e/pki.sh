# pki.sh - the test CA of the TLS end-to-end scripts, made at test time
# with openssl (sourced after lib.sh; not a test itself: ctest runs
# test_*.sh only).
#
#   P                                   the folder of keys and certificates
#   ossl ARGS...                        openssl; its error fails the test
#   ca NAME [DAYS]                      a self-signed CA: $P/NAME.pem, .key
#   cert NAME CA SUBJECT EXT [DAYS]     a P-256 key and a certificate signed
#                                       by CA, with the extensions EXT (lines)
#   SRV_EXT, CLI_EXT                    a server's (localhost, 127.0.0.1) and
#                                       a client's extensions
command -v openssl >/dev/null || fail "openssl is missing (scripts/install-deps.sh)"
P=$T/pki
mkdir -p "$P"
ossl() { openssl "$@" 2>>"$P/openssl.log" || fail "openssl $*: $(tail -3 "$P/openssl.log")"; }
ca() {
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "${2:-2}" \
        -subj "/O=klasgw test/CN=$1" -keyout "$P/$1.key" -out "$P/$1.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
cert() {
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$3" \
        -keyout "$P/$1.key" -out "$P/$1.csr"
    printf '%s\n' "$4" >"$P/$1.ext"
    ossl x509 -req -in "$P/$1.csr" -CA "$P/$2.pem" -CAkey "$P/$2.key" \
        -CAcreateserial -days "${5:-2}" -extfile "$P/$1.ext" -out "$P/$1.pem"
}
SRV_EXT="subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
CLI_EXT="extendedKeyUsage=clientAuth"
