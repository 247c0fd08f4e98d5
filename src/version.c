#include "internal.h"

int it_version_number(void) { return IT_VERSION_NUMBER; }
const char *it_version_string(void) { return IT_VERSION_STRING; }
