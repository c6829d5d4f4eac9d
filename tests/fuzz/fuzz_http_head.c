/*
 * fuzz_http_head.c - libFuzzer target for the HTTP front's reading of a
 * request: the bytes go over loopback to a gateway front started in this
 * process (gw_http_start on libmicrohttpd, plain HTTP, a real store; no
 * [clients], so what needs a caller is refused before the FHIR layer).
 * They exercise the request line and its limits (on_uri), the head
 * deadline, routing, request ids, the Host-derived base URL, Content-Length
 * and chunked bodies under the cap, and the refusal's format negotiation
 * (_format, Accept, Content-Type).
 *
 * Every input must end in an HTTP answer or a closed connection within a
 * few seconds (no answer and no close in 20 s aborts: the head deadline
 * is 2 s), any answer must be a status line, and the
 * front must go on answering /healthz.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "fhir/fhir.h"
#include "http/server.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_config cfg;
static struct gw_store *store;
static struct gw_http *front;
static int port;

static void
setup(void)
{
    char dir[] = "/tmp/fuzz-http-head-XXXXXX", conf[300], db[300];
    struct gw_http_opts o;
    struct gw_err err;
    FILE *f;

    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(conf, sizeof(conf), "%s/klasgw.conf", dir);
    snprintf(db, sizeof(db), "%s/klasgw.db", dir);
    f = fopen(conf, "w");
    if (f == NULL)
        abort();
    fprintf(f, "[server]\nlisten = 127.0.0.1\nport = 0\nthreads = 2\n"
               "plain_http = true\nmax_body_bytes = 65536\n"
               "max_header_bytes = 4096\nheader_timeout_s = 2\n"
               "connection_timeout_s = 2\nmax_url_bytes = 1024\n"
               "max_query_params = 16\n"
               "[store]\npath = %s\n[log]\nlevel = off\n[hsa]\nurl =\n"
               "[lv]\nurl =\n",
            db);
    fclose(f);
    gw_log_set_level(GW_LOG_OFF);
    gw_fhir_init();
    gw_err_clear(&err);
    if (gw_config_init(&cfg) != GW_OK ||
        gw_config_load(&cfg, conf, &err) != GW_OK)
        abort();
    if (gw_store_open(db, NULL, &store, &err) != GW_OK)
        abort();
    memset(&o, 0, sizeof(o));
    o.cfg = &cfg;
    o.store = store;
    if (gw_http_start(&o, &front, &err) != GW_OK)
        abort();
    port = gw_http_port(front);
}

/* Sends data on a new connection, closes the sending side, reads the
 * answer until the front closes; -1 on a hang. */
static long
exchange(const uint8_t *data, size_t size, char *head, size_t head_size)
{
    struct sockaddr_in a;
    struct pollfd p;
    size_t got = 0;
    long total = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        abort();
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        abort(); /* the front stopped listening */
    for (size_t off = 0; off < size;) {
        ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* closed on us: fine */
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    p.fd = fd;
    p.events = POLLIN;
    for (;;) {
        char buf[4096];
        ssize_t n;
        if (poll(&p, 1, 20000) != 1) {
            total = -1;
            break;
        }
        n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        if (got < head_size - 1) {
            size_t k = (size_t)n < head_size - 1 - got ? (size_t)n
                                                        : head_size - 1 - got;
            memcpy(head + got, buf, k);
            got += k;
        }
        total += n;
    }
    head[got] = '\0';
    close(fd);
    return total;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char health[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                 "Connection: close\r\n\r\n";
    char head[64];
    long n;

    if (front == NULL)
        setup();
    n = exchange(data, size, head, sizeof(head));
    if (n < 0)
        abort(); /* neither answered nor closed */
    if (n > 0 && strncmp(head, "HTTP/1.", 7) != 0)
        abort(); /* an answer that is not HTTP */
    n = exchange((const uint8_t *)health, sizeof(health) - 1, head,
                 sizeof(head));
    if (n <= 0 || strncmp(head, "HTTP/1.1 200", 12) != 0)
        abort(); /* the front stopped serving */
    return 0;
}
