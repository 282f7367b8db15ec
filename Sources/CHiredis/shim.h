#ifndef CHIREDIS_SHIM_H
#define CHIREDIS_SHIM_H

#include <hiredis/hiredis.h>
#include <stdlib.h>

/* hiredis 0.14 builds each reply as it parses it, with no limit on its size: an array allocates the
 * element count its header announces, and a reply of many small elements grows far beyond the
 * bytes still unparsed. A reader made by CHiredis_readerCreate keeps a budget for the reply being
 * built: every element (nested ones included, the reply itself counted) and every byte of its
 * strings. An object that would exceed it is refused before it is allocated (the reader then fails
 * and CHiredis_readerRefusal says why), delegating everything else to hiredis's own functions. */

#define CHIREDIS_REFUSED_NONE 0
#define CHIREDIS_REFUSED_ELEMENTS 1
#define CHIREDIS_REFUSED_BYTES 2

typedef struct CHiredis_ReaderLimits {
    redisReplyObjectFunctions functions;
    redisReplyObjectFunctions defaults;
    long long maxElements;
    long long maxBytes;
    /* What the reply being built holds so far. */
    long long elements;
    long long bytes;
    int refusal;
} CHiredis_ReaderLimits;

/* Charges `elements` elements and `bytes` bytes to the reply being built; 0 when over a limit. */
static int CHiredis_charge(const redisReadTask *task, long long elements, long long bytes) {
    CHiredis_ReaderLimits *limits = (CHiredis_ReaderLimits *)task->privdata;
    if (limits == NULL) {
        return 0;
    }
    /* The reply itself: an element no parent array paid for. */
    if (task->parent == NULL) {
        elements += 1;
    }
    if (elements < 0 || elements > limits->maxElements - limits->elements) {
        limits->refusal = CHIREDIS_REFUSED_ELEMENTS;
        return 0;
    }
    if (bytes < 0 || bytes > limits->maxBytes - limits->bytes) {
        limits->refusal = CHIREDIS_REFUSED_BYTES;
        return 0;
    }
    limits->elements += elements;
    limits->bytes += bytes;
    return 1;
}

static void *CHiredis_createString(const redisReadTask *task, char *text, size_t length) {
    const CHiredis_ReaderLimits *limits = (const CHiredis_ReaderLimits *)task->privdata;
    if (length > (size_t)0x7fffffffffffffffLL || !CHiredis_charge(task, 0, (long long)length)) {
        return NULL;
    }
    return limits->defaults.createString(task, text, length);
}

static void *CHiredis_createArray(const redisReadTask *task, int elements) {
    const CHiredis_ReaderLimits *limits = (const CHiredis_ReaderLimits *)task->privdata;
    if (!CHiredis_charge(task, elements, 0)) {
        return NULL;
    }
    return limits->defaults.createArray(task, elements);
}

static void *CHiredis_createInteger(const redisReadTask *task, long long value) {
    const CHiredis_ReaderLimits *limits = (const CHiredis_ReaderLimits *)task->privdata;
    if (!CHiredis_charge(task, 0, 0)) {
        return NULL;
    }
    return limits->defaults.createInteger(task, value);
}

static void *CHiredis_createNil(const redisReadTask *task) {
    const CHiredis_ReaderLimits *limits = (const CHiredis_ReaderLimits *)task->privdata;
    if (!CHiredis_charge(task, 0, 0)) {
        return NULL;
    }
    return limits->defaults.createNil(task);
}

/* A reader whose replies may hold at most maxElements elements and maxBytes bytes of strings;
 * NULL when out of memory. Release it with CHiredis_readerFree. */
static inline redisReader *CHiredis_readerCreate(long long maxElements, long long maxBytes) {
    redisReader *reader = redisReaderCreate();
    if (reader == NULL) {
        return NULL;
    }
    CHiredis_ReaderLimits *limits = (CHiredis_ReaderLimits *)calloc(1, sizeof(CHiredis_ReaderLimits));
    if (limits == NULL) {
        redisReaderFree(reader);
        return NULL;
    }
    limits->defaults = *reader->fn;
    limits->functions = *reader->fn;
    limits->functions.createString = CHiredis_createString;
    limits->functions.createArray = CHiredis_createArray;
    limits->functions.createInteger = CHiredis_createInteger;
    limits->functions.createNil = CHiredis_createNil;
    limits->maxElements = maxElements;
    limits->maxBytes = maxBytes;
    reader->fn = &limits->functions;
    reader->privdata = limits;
    return reader;
}

/* Starts the budget of the next reply: call after each complete reply. */
static inline void CHiredis_readerReplyTaken(redisReader *reader) {
    CHiredis_ReaderLimits *limits = (CHiredis_ReaderLimits *)reader->privdata;
    limits->elements = 0;
    limits->bytes = 0;
}

/* Bytes of strings in the reply being built. */
static inline long long CHiredis_readerReplyBytes(const redisReader *reader) {
    return ((const CHiredis_ReaderLimits *)reader->privdata)->bytes;
}

/* Why the reader refused an object: CHIREDIS_REFUSED_ELEMENTS, _BYTES, or _NONE. */
static inline int CHiredis_readerRefusal(const redisReader *reader) {
    return ((const CHiredis_ReaderLimits *)reader->privdata)->refusal;
}

/* Releases a reader made by CHiredis_readerCreate (and any reply it still holds). */
static inline void CHiredis_readerFree(redisReader *reader) {
    if (reader == NULL) {
        return;
    }
    void *limits = reader->privdata;
    redisReaderFree(reader);
    free(limits);
}

/* Bytes fed to the reader and not yet consumed by a complete reply. */
static inline size_t CHiredis_readerPending(const redisReader *reader) {
    return reader->len >= reader->pos ? reader->len - reader->pos : 0;
}

#endif
