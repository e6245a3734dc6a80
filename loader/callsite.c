/* callsite.c: the thread-local record of callsite.h. Nothing else: the
 * stores are inline at each call into a module, the reader is the crash
 * handler (runtime/container/crash.c). */
#include "callsite.h"

__thread molt_callsite_t molt__callsite;
