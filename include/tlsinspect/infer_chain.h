/* infer_chain.h - TLS 1.3 without keys: which known certificate chain the
 * encrypted server flight's size fits.
 *
 * Without a key log the TLS 1.3 Certificate message is hidden, but its size
 * is not: a protected record is its inner plaintext, one content type byte
 * and the AEAD tag (RFC 8446 5.2), and the Certificate message's size
 * follows from the chain (RFC 8446 4.4.2: 4-byte header, an empty request
 * context, a 3-byte list length, and per certificate a 3-byte length, the
 * DER and a 2-byte extensions length).  When the chains a server may
 * present are known, the flight's sizes say which one it sent.
 *
 * Candidates come from two places:
 *   - the trust store (--cafile, --capath): each self-signed certificate as
 *     a chain of one (CUCM's self-signed tomcat-ECDSA, given as a trusted or
 *     candidate certificate), and each leaf (not a CA) with the issuers the
 *     store holds up to, not including, a self-signed root;
 *   - chains a server endpoint (address and port) presented in cleartext
 *     (TLS <= 1.2, or TLS 1.3 opened with a key log) earlier in the analysis.
 *     Connections are judged when they end, so only a chain whose
 *     Certificate was read before the TLS 1.3 connection ended counts: a
 *     TLS 1.2 capture given alongside must come first in capture time
 *     (inputs are merged by time).
 * A match is reported only when exactly one distinct leaf fits; the reports
 * say it is inferred and on what basis.  Bounded: INFER_CHAIN_MAX_CANDS
 * trust store candidates, INFER_CHAIN_MAX_SEEN seen chains (later ones are
 * not kept).
 */
#ifndef TLSINSPECT_INFER_CHAIN_H
#define TLSINSPECT_INFER_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "tlsinspect/conn.h"
#include "tlsinspect/x509.h"

#define INFER_CHAIN_MAX_CANDS 64     /* trust store candidate chains */
#define INFER_CHAIN_MAX_SEEN 256     /* distinct (server endpoint, chain) pairs */
#define INFER_CHAIN_MAX_LEN 8        /* certificates per candidate chain */

enum infer_chain_source { INFER_SRC_NONE = 0, INFER_SRC_CAFILE, INFER_SRC_SEEN };
const char *infer_chain_source_name(uint8_t src);   /* "cafile", "seen", NULL */

struct infer_chains;

/* A table with the trust store's candidates (none without one).  NULL
 * pool: an empty table.  TI_OK or TI_ENOMEM. */
int infer_chains_new(struct infer_chains **out, struct x509_pool *pool);
void infer_chains_free(struct infer_chains *t);     /* NULL is a no-op */

/* Note the chain c holds (c->server_certs, read in cleartext) as presented
 * by `server` at time ts.  Once per connection is enough; a chain already
 * noted for that endpoint is kept once.  NULL t: nothing. */
void infer_chains_note(struct infer_chains *t, const struct conn_endpoint *server,
                       const struct conn *c, int64_t ts);

/* TLS 1.3 without keys: match the server's encrypted flight, the lengths
 * of its n protected records (ciphertext bytes, as in their headers), with
 * the candidates for c->server; on a single match set c->inferred_leaf and
 * the other inferred_chain fields, and c->inferred_server_key when the
 * CertificateVerify alone did not tell it.  Does nothing for a connection
 * with keys or visible certificates.  NULL t: nothing. */
void infer_chain_match(const struct infer_chains *t, struct conn *c, const uint16_t *lens,
                       size_t n);

/* The basis of c's match in words ("the encrypted Certificate record holds
 * 593 bytes, exactly ..."); "" when there is none.  Returns buf. */
char *infer_chain_basis(const struct conn *c, char *buf, size_t len);
/* The basis of c->inferred_server_key in words ("the encrypted
 * CertificateVerify record is 281 bytes, a 256-byte RSA signature"), or,
 * when the key came from the matched chain, chain_words; "" without a
 * guess.  Returns buf.  One text for the text, HTML and JSON reports. */
char *infer_key_basis(const struct conn *c, const char *chain_words, char *buf, size_t len);
/* The matched chain in a few words ("the self-signed EC P-384 chain of
 * cucm-EC.steven.lab (1 certificate) from the trust store ..."). */
void infer_chain_words(const struct conn *c, char *buf, size_t len);

#endif
