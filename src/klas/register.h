/*
 * register.h - the two registers the counter searches (Sök produkt, Sök
 * apotek): a product on a granted licence and a pharmacy connected to the
 * gateway. Plain records without I/O, shared by the store that keeps them
 * (store/licence.h) and the fronts that ask for them (pipeline.h), so the
 * pipeline's API names no store struct. Caps match the facts (facts.h).
 */
#ifndef GW_KLAS_REGISTER_H
#define GW_KLAS_REGISTER_H

/* Sök produkt: products on granted licences. Query fields "" = any. */
struct gw_product {
    char name[160], substances[256], holder[128], country[64], nplid[16],
        form[96], strength[64], atc[16];
};

/* Sök apotek: pharmacies connected to the gateway. Query fields "" = any. */
struct gw_pharmacy {
    char gln[16], name[128], actor[128], address[160], city[64];
};

#endif
