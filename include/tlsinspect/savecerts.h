/* savecerts.h - --save-certs DIR: every distinct certificate presented, as PEM.
 *
 * For the fix, not the report: a self-signed tomcat-ECDSA certificate or a
 * missing intermediate, saved from the capture, is the file to upload to
 * the trust store.  Server and client chains of every reported connection;
 * one file per distinct certificate, named by its CN (characters other
 * than letters, digits, '.', '-' and '_' become '_') and the first 16 hex
 * digits of its SHA-256: "cucm-EC.steven.lab_0576077630ce5653.pem".
 * Undecodable certificates are written too (their DER in a CERTIFICATE
 * block), named "unparsed_<sha256 prefix>.pem".
 */
#ifndef TLSINSPECT_SAVECERTS_H
#define TLSINSPECT_SAVECERTS_H

#include <stddef.h>

#include "tlsinspect/analyze.h"

/* Create DIR if missing, write the files (an existing file of the same
 * name is the same certificate and is rewritten).  *written = files
 * written.  TI_OK, TI_ENOMEM or TI_EIO (message in errbuf, naming
 * --save-certs and the path). */
int savecerts_write(const struct analysis *a, const char *dir, size_t *written,
                    char *errbuf, size_t errlen);

#endif
