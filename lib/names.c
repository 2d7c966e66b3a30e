#include "names.h"

#include <stdlib.h>
#include <string.h>

/* The code point at s (valid UTF-8) into *c; returns its length in bytes. */
static size_t decode(const char *s, unsigned long *c)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] < 0x80) {
		*c = u[0];
		return 1;
	}
	if (u[0] < 0xE0) {
		*c = ((unsigned long)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
		return 2;
	}
	if (u[0] < 0xF0) {
		*c = ((unsigned long)(u[0] & 0x0F) << 12) | ((unsigned long)(u[1] & 0x3F) << 6) |
		     (u[2] & 0x3F);
		return 3;
	}
	*c = ((unsigned long)(u[0] & 0x07) << 18) | ((unsigned long)(u[1] & 0x3F) << 12) |
	     ((unsigned long)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
	return 4;
}

bool names_is_invisible(unsigned long c)
{
	static const unsigned long ranges[][2] = {
		{0x00AD, 0x00AD},   {0x034F, 0x034F},   {0x061C, 0x061C},   {0x115F, 0x1160},
		{0x17B4, 0x17B5},   {0x180B, 0x180F},   {0x200B, 0x200F},   {0x202A, 0x202E},
		{0x2060, 0x206F},   {0x2800, 0x2800},   {0x3164, 0x3164},   {0xFE00, 0xFE0F},
		{0xFEFF, 0xFEFF},   {0xFFA0, 0xFFA0},   {0xFFF0, 0xFFFB},   {0x1BCA0, 0x1BCA3},
		{0x1D173, 0x1D17A}, {0xE0000, 0xE0FFF},
	};

	for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
		if (c >= ranges[i][0] && c <= ranges[i][1])
			return true;
	return false;
}

/* Spaces of every width: visible only next to something else. */
static bool is_blank(unsigned long c)
{
	return c == 0x20 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
	       c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Combining marks draw only on a base character. */
static bool is_combining(unsigned long c)
{
	return (c >= 0x0300 && c <= 0x036F) || (c >= 0x1AB0 && c <= 0x1AFF) ||
	       (c >= 0x1DC0 && c <= 0x1DFF) || (c >= 0x20D0 && c <= 0x20FF) ||
	       (c >= 0xFE20 && c <= 0xFE2F);
}

static bool is_name_char(unsigned long c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

char *names_username_new(const char *s, size_t max)
{
	char *out = malloc(max + 1);
	size_t o = 0;
	bool alnum = false;

	if (out == NULL)
		return NULL;
	while (*s != '\0' && o < max) {
		unsigned long c;

		s += decode(s, &c);
		if (names_is_invisible(c) || is_combining(c))
			continue;
		if (c >= 0xFF01 && c <= 0xFF5E) /* full-width ASCII */
			c -= 0xFF01 - 0x21;
		if (is_name_char(c)) {
			out[o++] = (char)c;
			alnum |= c != '_' && c != '.' && c != '-';
		} else if (o == 0 || out[o - 1] != '_') {
			out[o++] = '_';
		}
	}
	out[o] = '\0';
	if (!alnum) {
		free(out);
		return strdup("user");
	}
	return out;
}

int names_display_new(const char *s, size_t max, char **out)
{
	size_t n = strlen(s), o = 0, points = 0;
	bool visible = false;
	char *d = malloc(n + 1);

	*out = NULL;
	if (d == NULL)
		return -1;
	while (*s != '\0' && points < max) {
		unsigned long c;
		size_t len = decode(s, &c);

		if (!names_is_invisible(c)) {
			memcpy(d + o, s, len);
			o += len;
			points++;
			visible |= !is_blank(c) && !is_combining(c);
		}
		s += len;
	}
	d[o] = '\0';
	if (!visible) {
		free(d);
		return 0;
	}
	*out = d;
	return 0;
}
