/*
 * names — what a name from Discord may look like once it is ours.
 *
 * A Discord username becomes a farout username (a sign-in name others see in
 * X-Auth-Username and the UI): it is folded to printable ASCII so no two
 * users can look alike ("аdmin" with a Cyrillic а, full-width "ａｄｍｉｎ",
 * zero-width or bidi controls) and never holds '@', so it can never be read
 * as an email at sign-in. A Discord global name becomes a display name: it
 * keeps its letters (the user's own name stays recognisable) but loses
 * invisible and format characters, and one that shows nothing is refused.
 * Both take valid UTF-8 without control characters (as discord_parse_user
 * checks) and return newly allocated strings the caller frees.
 */
#ifndef FAROUT_NAMES_H
#define FAROUT_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/*
 * s as a username: full-width ASCII folded to ASCII, invisible and format
 * characters dropped, every run of other characters (non-ASCII, '@', spaces,
 * punctuation other than '_', '.' and '-') one '_', at most max bytes;
 * "user" when no letter or digit is left. NULL only when out of memory.
 */
char *names_username_new(const char *s, size_t max);

/*
 * s as a display name: invisible and format characters dropped, at most max
 * code points. 0 with *out NULL when nothing visible is left; -1 when out
 * of memory.
 */
int names_display_new(const char *s, size_t max, char **out);

/* True when code point c draws nothing by itself (zero-width, bidi, fillers, variation selectors, tags). */
bool names_is_invisible(unsigned long c);

#endif
