/* observer_assets.h: the observer page's files (runtime/container/observer/),
 * compiled into molt by cmake/embed.cmake, so the page needs nothing from
 * the disk or the internet. */
#ifndef MOLT_CONTAINER_OBSERVER_ASSETS_H
#define MOLT_CONTAINER_OBSERVER_ASSETS_H

#include <stddef.h>

typedef struct molt_asset {
  const char* path; /* "/index.html" */
  const char* type; /* its Content-Type */
  const unsigned char* data;
  size_t len;
} molt_asset_t;

extern const molt_asset_t molt__observer_assets[];
extern const size_t molt__observer_nassets;

#endif
