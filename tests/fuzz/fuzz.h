/*
 * fuzz — what the libFuzzer targets share: a NUL-terminated copy of the
 * input (most parsers here take C strings) and an abort that names the
 * broken property, so a reference mismatch is reported like a crash.
 */
#ifndef FAROUT_FUZZ_H
#define FAROUT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data[0..size) plus a NUL; the caller frees. Aborts when out of memory. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#define FUZZ_ASSERT(cond)                                                             \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz property failed: %s (%s:%d)\n", #cond,  \
			        __FILE__, __LINE__);                                  \
			abort();                                                      \
		}                                                                     \
	} while (0)

#endif
