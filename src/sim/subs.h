/*
 * subs.h - the pharmacy simulator as a Subscriptions Backport IG client
 * (subs.c): it subscribes to a KLAS topic, checks every notification it
 * receives (a history Bundle, the SubscriptionStatus Parameters first,
 * its own subscription, handshake / heartbeat / event-notification, event
 * numbers without gaps or repeats, the channel.header it asked for) and,
 * restarted with the same --save folder, catches up with $events from
 * the last event it saw.
 *
 * In --save DIR it keeps: subscription (the id), last (the highest event
 * number seen in order), n-SEQ-TYPE.json (each notification body) and
 * events-FROM.json (each $events answer). Log lines:
 *   event=sim_backport type=... subscription=... events=... numbers=...
 *         repeat=0|1 ok=1|0 why=...   (repeat: a redelivery of an event
 *         seen before, dropped by its number)
 *   event=sim_backport_caught_up from=N numbers=...
 */
#ifndef GW_SIM_SUBS_H
#define GW_SIM_SUBS_H

struct gw_sim_subs_opts {
    const char *gateway_url; /* http://127.0.0.1:PORT (plain HTTP only) */
    const char *client;      /* X-Klasgw-Client of the pharmacy */
    const char *topic;       /* topic canonical; NULL: no subscribing */
    const char *header;      /* channel.header to ask for; NULL: none */
    int heartbeat_s;         /* backport-heartbeat-period; 0: none */
    const char *dir;         /* --save folder; NULL: nothing kept */
    int port;                /* the webhook's port (the endpoint) */
};

/* Before the webhook listens: with a subscription already in dir, catches
 * up with $events (so a redelivery cannot come first). 0 ok. */
int gw_sim_subs_start(const struct gw_sim_subs_opts *o);
/* Once it listens: subscribes (--subscribe, no subscription yet) in a
 * thread of its own, so the handshake finds the endpoint. 0 ok. */
int gw_sim_subs_listening(void);
/* A notification received (head: the request head, body: NUL-ended):
 * checked, logged, kept. 1 when it passed the checks. */
int gw_sim_subs_received(const char *head, const char *body);
/* needle in hay, ignoring case (header look-ups; the webhook's too). */
const char *gw_sim_find_ci(const char *hay, const char *needle);
/* 1 when the simulator acts as a Backport client (--subscribe or a
 * subscription in --save). */
int gw_sim_subs_on(void);

#endif
