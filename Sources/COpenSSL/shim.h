#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

/// `OPENSSL_free` is a macro; Swift needs a function.
static inline void COpenSSL_free(void *pointer) {
    OPENSSL_free(pointer);
}

/// SHA-256 of a short input without an EVP context: no allocation and no provider lookup (the
/// digest of every presented token, on the validator's hot path). libcrypto 3 marks the low-level
/// calls deprecated; they remain its fastest path for one short input.
static inline void COpenSSL_SHA256(const unsigned char *data, size_t length, unsigned char *digest) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, data, length);
    SHA256_Final(digest, &context);
#pragma GCC diagnostic pop
}

#endif
