#ifndef CHIREDIS_SHIM_H
#define CHIREDIS_SHIM_H

#include <hiredis/hiredis.h>
#include <stdlib.h>

/* hiredis 0.14 has no limit on the element count of an array reply: it allocates what the header
 * announces. A reader made by CHiredis_readerCreate refuses arrays longer than maxElements before
 * allocating them (the reader then fails with an out-of-memory error), delegating everything else
 * to hiredis's own reply functions. */

typedef struct CHiredis_ReaderLimits {
    redisReplyObjectFunctions functions;
    void *(*defaultCreateArray)(const redisReadTask *, int);
    int maxElements;
} CHiredis_ReaderLimits;

static void *CHiredis_createArray(const redisReadTask *task, int elements) {
    const CHiredis_ReaderLimits *limits = (const CHiredis_ReaderLimits *)task->privdata;
    if (limits == NULL || elements < 0 || elements > limits->maxElements) {
        return NULL;
    }
    return limits->defaultCreateArray(task, elements);
}

/* A reader that refuses arrays of more than maxElements elements; NULL when out of memory.
 * Release it with CHiredis_readerFree. */
static inline redisReader *CHiredis_readerCreate(int maxElements) {
    redisReader *reader = redisReaderCreate();
    if (reader == NULL) {
        return NULL;
    }
    CHiredis_ReaderLimits *limits = (CHiredis_ReaderLimits *)malloc(sizeof(CHiredis_ReaderLimits));
    if (limits == NULL) {
        redisReaderFree(reader);
        return NULL;
    }
    limits->functions = *reader->fn;
    limits->defaultCreateArray = reader->fn->createArray;
    limits->functions.createArray = CHiredis_createArray;
    limits->maxElements = maxElements;
    reader->fn = &limits->functions;
    reader->privdata = limits;
    return reader;
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
