/* test-modes.h: GTest cases run once per mode (a fixture's data says
 * which), for the unit tests of code with a fast path and a fallback. */
#pragma once

#include <glib.h>

typedef struct {
  const char *name;
  int data; /* the fixture's data, as GINT_TO_POINTER */
} LfsTestMode;

typedef struct {
  const char *name;
  GTestFixtureFunc fn;
} LfsTestCase;

/* Each case as /SUITE/MODE/CASE, for each mode. */
static inline void
lfs_test_add_modes(const char *suite, gsize fixture_size, const LfsTestMode *modes,
                   guint nmodes, const LfsTestCase *cases, guint ncases,
                   GTestFixtureFunc setup, GTestFixtureFunc teardown)
{
  for (guint m = 0; m < nmodes; m++) {
    for (guint k = 0; k < ncases; k++) {
      g_autofree char *path =
          g_strdup_printf("/%s/%s/%s", suite, modes[m].name, cases[k].name);
      g_test_add_vtable(path, fixture_size, GINT_TO_POINTER(modes[m].data), setup,
                        cases[k].fn, teardown);
    }
  }
}
