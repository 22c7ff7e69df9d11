/* test_savecerts.c - --save-certs: the presented certificates as PEM, read back by OpenSSL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tlsinspect/analyze.h"
#include "tlsinspect/err.h"
#include "tlsinspect/savecerts.h"

static void test_round_trip(void **state)
{
    static struct analyze_opts o;
    static char *files[] = {"captures/post-upgrade.pcap", "captures/mtls-client-rejected.pcap"};
    static const char *const want[] = {"cucm-EC.steven.lab_", "cucm.steven.lab_", "imp.steven.lab_",
                                       "Steven_Lab_Issuing_CA_1_", "expc.steven.lab_"};
    struct analysis *a = NULL;
    char err[512] = "", dir[64], cmd[128];
    size_t written = 0, seen = 0, found[5] = {0};
    DIR *d;
    struct dirent *e;
    (void)state;

    analyze_opts_default(&o);
    o.files = files;
    o.nfiles = 2;
    if (analyze_run(&o, &a, err, sizeof(err)) != TI_OK)
        fail_msg("analyze_run: %s", err);
    snprintf(dir, sizeof(dir), "/tmp/test_savecerts.XXXXXX");
    assert_non_null(mkdtemp(dir));
    strcat(dir, "/certs");                  /* created by savecerts_write() */
    assert_int_equal(savecerts_write(a, dir, &written, err, sizeof(err)), TI_OK);
    /* 5 distinct among 9 + 1 connections' chains: leaves, the intermediate,
     * the client certificate */
    assert_int_equal(written, 5);

    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char path[512], hex[65];
        unsigned char md[32];
        unsigned int mdlen = 0;
        FILE *f;
        X509 *x;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        f = fopen(path, "r");
        assert_non_null(f);
        x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
        assert_non_null(x);
        /* the name ends in the first 16 hex digits of the SHA-256 */
        assert_int_equal(X509_digest(x, EVP_sha256(), md, &mdlen), 1);
        for (unsigned i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        char *us = strrchr(e->d_name, '_');
        assert_non_null(us);
        assert_memory_equal(us + 1, hex, 16);
        assert_string_equal(us + 17, ".pem");
        for (size_t k = 0; k < 5; k++)
            if (strncmp(e->d_name, want[k], strlen(want[k])) == 0)
                found[k]++;
        X509_free(x);
        seen++;
    }
    closedir(d);
    assert_int_equal(seen, 5);
    for (size_t k = 0; k < 5; k++)
        assert_int_equal(found[k], 1);

    /* a path that cannot be a directory: an error naming the option */
    assert_int_equal(savecerts_write(a, "/dev/null/x", &written, err, sizeof(err)), TI_EIO);
    assert_non_null(strstr(err, "--save-certs /dev/null/x"));

    *strrchr(dir, '/') = '\0';
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    analysis_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
