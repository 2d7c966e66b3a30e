/*
 * buf — a growable byte buffer with a hard cap. The data is always
 * NUL-terminated so text can be used as a C string; len excludes the NUL.
 * The buffer owns its memory: buf_cleanup frees it, buf_wipe_cleanup wipes first.
 *
 * Owns no table.
 */
#ifndef FAROUT_BUF_H
#define FAROUT_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* appends that would pass this fail */
};

void buf_init(struct buf *, size_t max);
void buf_cleanup(struct buf *);
void buf_wipe_cleanup(struct buf *);
void buf_reset(struct buf *);
/* 0 on success, -1 when out of memory or over the cap (the buffer is unchanged). */
int buf_append(struct buf *, const void *data, size_t n);
int buf_puts(struct buf *, const char *s);
int buf_printf(struct buf *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

enum buf_file {
	BUF_FILE_OK,
	BUF_FILE_OPEN,      /* fopen failed; errno says why */
	BUF_FILE_TOO_LARGE, /* over the buffer's cap, or out of memory */
	BUF_FILE_READ,      /* a read error */
};
/* Appends the whole file at path (read in binary). */
enum buf_file buf_read_file(struct buf *, const char *path);

#endif
