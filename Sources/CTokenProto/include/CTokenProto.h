#ifndef CTOKENPROTO_H
#define CTOKENPROTO_H

#include "token.pb-c.h"

#endif
